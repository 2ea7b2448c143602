#!/usr/bin/env python3
"""Copy data on the cluster with rsync inside tmux on a data node: start, status, list,
cancel. The copy survives a dropped connection; cold storage is written only from data
nodes."""

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.options import backend_option
from hpcskills.sjtu.rsync_jobs import (
    cancel_transfer,
    list_transfers,
    start_transfer,
    transfer_status,
)
from hpcskills.sjtu.session import SiteAccess

node_option = click.option("--node", help="Entry node (default: the transfer's own, or the "
                           "data node the pack chooses).")


@click.group()
def main():
    """rsync --archive --partial on a data node, in tmux session hpcskills-xfer-ID."""


@main.command()
@script
@backend_option
@confirm_option
@click.option("--from", "source", required=True, help="File or directory to copy.")
@click.option("--to", "dest_dir", required=True, help="Directory that receives it.")
@click.option("--verify", is_flag=True, help="Compare checksums after the copy.")
@node_option
def start(workspace, backend, confirm_token, source, dest_dir, verify, node):
    """Copy --from into the --to directory (as TO/NAME). Overwriting existing files that
    differ first returns a plan (exit 3); rerun with --confirm TOKEN after the user agrees."""
    return start_transfer(SiteAccess(workspace, _pack.site(), log, backend), source, dest_dir,
                          verify=verify, node=node, confirm_token=confirm_token)


@main.command()
@script
@backend_option
@click.argument("transfer_id")
@node_option
def status(workspace, backend, transfer_id, node):
    """State (running, verifying, done, verify_failed, failed, cancelled, lost), progress,
    verification and the next step."""
    return transfer_status(SiteAccess(workspace, _pack.site(), log, backend), transfer_id, node)


@main.command(name="list")
@script
@backend_option
@node_option
def list_(workspace, backend, node):
    """Every transfer on the node (default: the nodes this workspace started transfers on)."""
    return list_transfers(SiteAccess(workspace, _pack.site(), log, backend), node)


@main.command()
@script
@backend_option
@confirm_option
@click.argument("transfer_id")
@node_option
def cancel(workspace, backend, confirm_token, transfer_id, node):
    """Stop a running transfer: first a plan (exit 3), then with --confirm TOKEN the tmux
    session is ended and the state checked."""
    return cancel_transfer(SiteAccess(workspace, _pack.site(), log, backend), transfer_id, node,
                           confirm_token)


if __name__ == "__main__":
    run(main)
