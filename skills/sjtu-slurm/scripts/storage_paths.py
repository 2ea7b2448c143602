#!/usr/bin/env python3
"""Show where a directory lives on every storage pool, and from where each copy can be
read and written (no login needed: the site profile says it)."""

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.sjtu.storage import path_views


@click.command()
@script
@click.argument("path")
def main(workspace, path):
    """PATH on its pool, the same directory on every other pool (the top-level mount
    replaced), and per pool: kind, readable_from / writable_from, the entry nodes to use."""
    del workspace  # uniform options; nothing is read from the workspace
    return path_views(_pack.site(), path)


if __name__ == "__main__":
    run(main)
