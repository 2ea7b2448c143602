#!/usr/bin/env python3
"""Details of jobs: state, reason, exit code, times, nodes, work dir, output paths."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.jobs import job_info
from hpcskills.sjtu.options import backend_option, job_ids_argument, node_group_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@job_ids_argument
@node_group_option
@backend_option
def main(workspace, job_ids, node_group, backend):
    """scontrol (while Slurm remembers the job) and sacct (after). Exit 6 if none exist."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return job_info(session, list(job_ids))


if __name__ == "__main__":
    run(main)
