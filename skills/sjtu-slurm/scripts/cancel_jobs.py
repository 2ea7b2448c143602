#!/usr/bin/env python3
"""Cancel jobs: a plan first (exit 3), scancel only with --confirm, then verified."""

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.cancel import cancel_jobs
from hpcskills.sjtu.guidance import after_cancel
from hpcskills.sjtu.options import backend_option, job_ids_argument, node_group_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@job_ids_argument
@node_group_option
@backend_option
@confirm_option
def main(workspace, job_ids, node_group, backend, confirm_token):
    """First call: the plan (name, state, partition, elapsed of each job). Show it to the
    user; only after a clear yes, call again with --confirm TOKEN."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return after_cancel(cancel_jobs(workspace, session, list(job_ids), confirm_token))


if __name__ == "__main__":
    run(main)
