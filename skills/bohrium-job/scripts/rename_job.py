#!/usr/bin/env python3
"""Rename a Bohrium job."""

import _pack
import click

from hpcskills.bohrium.jobs import rename_job
from hpcskills.core.cli import run, script


@click.command()
@script
@click.argument("job_id", type=int)
@click.argument("name")
def main(workspace, job_id, name):
    """Give JOB_ID the name NAME (the API does this; bohr cannot)."""
    return rename_job(_pack.context(workspace=workspace), job_id, name)


if __name__ == "__main__":
    run(main)
