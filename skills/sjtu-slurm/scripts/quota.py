#!/usr/bin/env python3
"""Show storage quota of the SJTU HPC user and/or their account (GET /quota)."""

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.core.params import NonEmptyText
from hpcskills.sjtu.account import quota
from hpcskills.sjtu.users import resolve_user


@click.command()
@script
@click.option("--name", type=NonEmptyText(), help="HPC username (default: the remembered one).")
@click.option("--account", help="Account name; default: derived from the user's home path.")
@click.option("--type", "quota_type", type=click.Choice(["account", "user", "both"]),
              default="both", show_default=True)
def main(workspace, name, account, quota_type):
    """Quota usage. Deriving the account needs the token; quota itself needs none."""
    user = name if quota_type == "account" and account else resolve_user(workspace, name)
    return quota(workspace, _pack.site(), user, quota_type, account)


if __name__ == "__main__":
    run(main)
