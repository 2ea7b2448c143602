#!/usr/bin/env python3
"""Upload a file or directory from this machine into a directory on the cluster, over the
shared SSH connection of the data node that serves the destination."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.copies import upload
from hpcskills.sjtu.options import backend_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@confirm_option
@backend_option
@click.argument("local", type=click.Path(path_type=Path))
@click.argument("remote_dir")
@click.option("--verify", is_flag=True, help="Compare SHA-256 checksums after the copy.")
@click.option("--node", help="Entry node to use (default: the data node of REMOTE_DIR's pool).")
def main(workspace, confirm_token, backend, local, remote_dir, verify, node):
    """Copy LOCAL to REMOTE_DIR/NAME. A file resumes where an interrupted run stopped; a
    directory goes as one tar stream, skipping files already there (same size and time).
    Replacing remote files that differ first returns a plan (exit 3); rerun with
    --confirm TOKEN after the user agrees."""
    access = SiteAccess(workspace, _pack.site(), log, backend)
    return upload(access, local, remote_dir, verify=verify, node=node, confirm_token=confirm_token)


if __name__ == "__main__":
    run(main)
