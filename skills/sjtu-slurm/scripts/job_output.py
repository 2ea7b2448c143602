#!/usr/bin/env python3
"""The last lines of a job's stdout (or stderr) file."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.jobs import MAX_TAIL_LINES, job_output
from hpcskills.sjtu.options import backend_option, job_id_argument, node_group_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@job_id_argument
@click.option("--stderr", is_flag=True, help="The error file instead of the output file.")
@click.option("--tail", type=click.IntRange(1, MAX_TAIL_LINES), default=100, show_default=True)
@node_group_option
@backend_option
def main(workspace, job_id, stderr, tail, node_group, backend):
    """Reads the path Slurm recorded (scontrol), or guesses WORKDIR/slurm-ID.out after."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return job_output(session, job_id, stderr=stderr, tail=tail)


if __name__ == "__main__":
    run(main)
