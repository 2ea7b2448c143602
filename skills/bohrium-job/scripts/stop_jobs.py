#!/usr/bin/env python3
"""Terminate, kill or delete Bohrium jobs — only after the user confirmed the plan."""

import _pack
import click

from hpcskills.bohrium.options import backend_option
from hpcskills.bohrium.stop import JOB_ACTIONS, stop_jobs
from hpcskills.core.cli import confirm_option, run, script


@click.command()
@script
@confirm_option
@backend_option
@click.option("--action", type=click.Choice(JOB_ACTIONS), required=True,
              help="terminate: keep results; kill: discard results; delete: remove everything.")
@click.argument("job_ids", nargs=-1, type=int, required=True)
def main(workspace, confirm_token, backend, action, job_ids):
    """First call: the plan (exit 3) with each job's state and a confirm token.

    Show it to the user; only if they agree, run the same command with --confirm TOKEN.
    Jobs that cannot take the action (pending jobs cannot be terminated) are skipped.
    """
    ctx = _pack.context(backend, workspace)
    return stop_jobs(ctx, workspace, action, list(job_ids), confirm_token)


if __name__ == "__main__":
    run(main)
