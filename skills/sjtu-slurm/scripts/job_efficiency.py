#!/usr/bin/env python3
"""CPU and memory efficiency of a finished job (seff, parsed)."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.jobs import job_efficiency
from hpcskills.sjtu.options import backend_option, job_id_argument, node_group_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@job_id_argument
@node_group_option
@backend_option
def main(workspace, job_id, node_group, backend):
    """seff JOBID; `note` says when accounting data is missing."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return job_efficiency(session, job_id)


if __name__ == "__main__":
    run(main)
