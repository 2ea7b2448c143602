#!/usr/bin/env python3
"""Show the end of a Bohrium job's log, or save the whole log."""

from pathlib import Path

import _pack
import click

from hpcskills.bohrium.jobs import job_log
from hpcskills.bohrium.options import backend_option
from hpcskills.core.cli import run, script


@click.command()
@script
@backend_option
@click.argument("job_id", type=int)
@click.option("--tail", type=click.IntRange(min=0, max=2000), default=50, show_default=True,
              help="How many of the last lines to show.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also save the whole log as DIR/<job id>.log.")
def main(workspace, backend, job_id, tail, out_dir):
    """The last lines of JOB_ID's STDOUTERR log (it grows while the job runs)."""
    return job_log(_pack.context(backend, workspace), job_id, tail=tail, out_dir=out_dir)


if __name__ == "__main__":
    run(main)
