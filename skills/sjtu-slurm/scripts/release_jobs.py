#!/usr/bin/env python3
"""Release held jobs (submitted with --hold): a plan first (exit 3), then only with --confirm."""

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.guidance import after_release
from hpcskills.sjtu.options import backend_option, job_ids_argument, node_group_option
from hpcskills.sjtu.release import release_jobs
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@job_ids_argument
@node_group_option
@backend_option
@confirm_option
def main(workspace, job_ids, node_group, backend, confirm_token):
    """First call: the plan (name, partition, CPUs, time limit, array tasks of each held
    job): released jobs start and are charged. Show it to the user; only after a clear yes,
    call again with --confirm TOKEN."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return after_release(release_jobs(workspace, session, list(job_ids), confirm_token))


if __name__ == "__main__":
    run(main)
