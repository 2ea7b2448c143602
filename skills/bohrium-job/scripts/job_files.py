#!/usr/bin/env python3
"""Show a Bohrium job's file access (view/conf) and file lists, optionally its snapshot."""

import _pack
import click

from hpcskills.bohrium.jobs import job_files
from hpcskills.core.cli import run, script


@click.command()
@script
@click.argument("job_id", type=int)
@click.option("--snapshot", is_flag=True, help="Also fetch the running job's snapshot.")
def main(workspace, job_id, snapshot):
    """Working and temp directories, storage host, expiry; the storage token is withheld."""
    return job_files(_pack.context(workspace=workspace), job_id, snapshot=snapshot)


if __name__ == "__main__":
    run(main)
