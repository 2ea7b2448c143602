#!/usr/bin/env python3
"""Show the SJTU HPC user's account information (GET /user)."""

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.core.params import NonEmptyText
from hpcskills.sjtu.account import user_info
from hpcskills.sjtu.users import resolve_user


@click.command()
@script
@click.option("--name", type=NonEmptyText(), help="HPC username (default: the remembered one).")
@click.option("--node-group", help="Also give `home` as this node group sees it (pi, kp, sy).")
def main(workspace, name, node_group):
    """The user's uid, gid, home on each node group, shell, jAccount, email, type, account."""
    return user_info(workspace, _pack.site(), resolve_user(workspace, name), node_group)


if __name__ == "__main__":
    run(main)
