#!/usr/bin/env python3
"""Download a file or directory from the cluster into a directory on this machine, over
the shared SSH connection of the data node that serves the path."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.copies import download
from hpcskills.sjtu.options import backend_option
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@confirm_option
@backend_option
@click.argument("remote_path")
@click.argument("local_dir", type=click.Path(path_type=Path))
@click.option("--verify", is_flag=True, help="Compare SHA-256 checksums after the copy.")
@click.option("--node", help="Entry node to use (default: the data node of the path's pool).")
def main(workspace, confirm_token, backend, remote_path, local_dir, verify, node):
    """Copy REMOTE_PATH to LOCAL_DIR/NAME. A file resumes where an interrupted run stopped;
    a directory comes as one tar stream, skipping files already here (same size and time).
    Replacing local files that differ first returns a plan (exit 3); rerun with
    --confirm TOKEN after the user agrees."""
    access = SiteAccess(workspace, _pack.site(), log, backend)
    return download(access, remote_path, local_dir, verify=verify, node=node,
                    confirm_token=confirm_token)


if __name__ == "__main__":
    run(main)
