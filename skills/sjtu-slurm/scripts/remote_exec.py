#!/usr/bin/env python3
"""Run a command on an entry node that no other script covers (confirmed unless read-only)."""

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.sjtu.options import backend_option, node_group_option
from hpcskills.sjtu.remote_exec import remote_exec
from hpcskills.sjtu.session import SiteAccess


@click.command()
@script
@node_group_option
@click.option("--data-node", is_flag=True, help="Run on the node group's data node.")
@click.option("--timeout", type=click.IntRange(1, 600), default=60, show_default=True)
@backend_option
@confirm_option
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND...")
def main(workspace, node_group, data_node, timeout, backend, confirm_token, argv):
    """Each word is passed quoted (no shell expansion). Only read-only commands (ls, cat,
    squeue, git status, ...; see references/remote_exec.md) run at once; everything else
    needs confirmation. Never run heavy computation on login nodes: submit a job instead."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(
        node_group=node_group, business="data" if data_node else "job"
    )
    return remote_exec(workspace, session, list(argv), confirm_token, timeout)


if __name__ == "__main__":
    run(main)
