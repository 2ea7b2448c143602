#!/usr/bin/env python3
"""The user's jobs across platforms and sites, from the pack's ledger, states refreshed."""

import _pack  # noqa: F401
import click

from hpcskills.core.cli import log, run, script
from hpcskills.jobs.listing import PLATFORMS, list_jobs
from hpcskills.sjtu.options import backend_option


@click.command()
@script
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    type=click.Choice(PLATFORMS),
    help="Only jobs on this platform (repeatable).",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help="Only jobs in this state, e.g. RUNNING, FAILED (repeatable).",
)
@click.option("--site", "sites", multiple=True, help="Only jobs of this site, e.g. sjtu.")
@click.option(
    "--since", metavar="AGE|DATE", help="Submitted within 30m, 2h, 3d, 1w, or since an ISO date."
)
@click.option("--no-refresh", is_flag=True, help="Show the last known states, ask no platform.")
@backend_option
def main(workspace, platforms, states, sites, since, no_refresh, backend):
    """Lists what the pack submitted. Unfinished jobs are refreshed first with ONE status call
    per login node (squeue for all, sacct for those that left the queue) and per platform."""
    return list_jobs(
        workspace,
        platforms=platforms,
        states=states,
        sites=sites,
        since=since,
        refresh=not no_refresh,
        backend=backend,
        report=log,
    )


if __name__ == "__main__":
    run(
        main,
        human_columns=(
            "platform",
            "site",
            "job_id",
            "name",
            "state",
            "raw_state",
            "submitted_at",
            "last_error",
        ),
    )
