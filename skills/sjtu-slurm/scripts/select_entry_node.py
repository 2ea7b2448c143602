#!/usr/bin/env python3
"""Pick the SJTU HPC entry node for a partition, a storage path or a node group."""

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.core.params import NonEmptyText
from hpcskills.sjtu.entry import select_entry_node


@click.command()
@script
@click.option("--partition", help="A partition, e.g. a100, cpu, 64c512g.")
@click.option("--storage", metavar="PATH", help="A path on a storage pool, e.g. /dssg/home/...")
@click.option("--node-group", type=NonEmptyText(), help="pi, sy or kp.")
@click.option("--business", type=click.Choice(["job", "data"]), default="job", show_default=True,
              help="job: login nodes (submit, query); data: data nodes (large transfers).")
def main(workspace, partition, storage, node_group, business):
    """Host, node group and why. No connection is made."""
    choice = select_entry_node(_pack.site(), partition=partition, storage=storage,
                               node_group=node_group, business=business)
    return choice.as_dict()


if __name__ == "__main__":
    run(main)
