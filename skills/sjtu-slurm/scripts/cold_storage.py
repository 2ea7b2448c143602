#!/usr/bin/env python3
"""Free space of the cold-storage pools, measured with df on a data node, and where to
write (the pool with the most free space) and read (the union pool)."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.cold_storage import cold_storage
from hpcskills.sjtu.options import backend_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@backend_option
@click.option("--path", help="A directory to archive: also give its path on the chosen "
              "cold pool and on the union pool.")
def main(workspace, backend, path):
    """`write_to` is the cold pool with the most free space (`reason` says why); cold data
    is read through `read_from` (the union of the cold pools)."""
    return cold_storage(SiteAccess(workspace, _pack.site(), log, backend), path)


if __name__ == "__main__":
    run(main)
