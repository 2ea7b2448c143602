#!/usr/bin/env python3
"""Show the full record of one or more Bohrium jobs."""

import _pack
import click

from hpcskills.bohrium.jobs import describe_jobs
from hpcskills.bohrium.options import backend_option
from hpcskills.core.cli import run, script


@click.command()
@script
@backend_option
@click.argument("job_ids", nargs=-1, type=int, required=True)
def main(workspace, backend, job_ids):
    """State, command, image, machine, times, cost, exit code and file lists of JOB_IDS."""
    return describe_jobs(_pack.context(backend, workspace), list(job_ids))


if __name__ == "__main__":
    run(main)
