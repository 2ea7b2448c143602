#!/usr/bin/env python3
"""The user's jobs on a node group (squeue), optionally with finished ones (sacct)."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.core.params import NonEmptyText
from hpcskills.sjtu.jobs import list_jobs
from hpcskills.sjtu.options import backend_option, node_group_option, since_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@node_group_option
@backend_option
@click.option("--state", "states", multiple=True, help="e.g. RUNNING, PENDING (repeatable).")
@click.option("--partition", "partitions", multiple=True, help="Repeatable.")
@click.option("--name", "names", multiple=True, type=NonEmptyText(),
              help="Exact job name (repeatable).")
@since_option
@click.option("--all-users", is_flag=True, help="Everyone's jobs, not only the user's.")
def main(workspace, node_group, backend, states, partitions, names, since, all_users):
    """One squeue (and one sacct with --since) for all jobs, in one remote exec; states are
    normalized, the raw state and reason are kept."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return list_jobs(
        session,
        states=list(states),
        partitions=list(partitions),
        names=list(names),
        since=since,
        all_users=all_users,
    )


if __name__ == "__main__":
    run(
        main,
        human_columns=(
            "job_id",
            "name",
            "state",
            "reason",
            "partition",
            "elapsed_seconds",
            "nodes",
            "exit_code",
            "source",
        ),
    )
