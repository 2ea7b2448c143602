#!/usr/bin/env python3
"""Partitions of a node group: availability, node counts by state, limits (sinfo)."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.jobs import cluster_status
from hpcskills.sjtu.options import backend_option, node_group_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@node_group_option
@backend_option
def main(workspace, node_group, backend):
    """sinfo on the node group's login node, with the site profile's known limits."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return cluster_status(session)


if __name__ == "__main__":
    run(main)
