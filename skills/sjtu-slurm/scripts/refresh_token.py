#!/usr/bin/env python3
"""Refresh the saved SJTU HPC API token (the old token stops working)."""

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.sjtu.tokens import refresh_token


@click.command()
@script
def main(workspace):
    """Refresh credentials/hpc_token.

    Exit 0 refreshed; 4 no token yet or the token expired (request a new one with
    req_token.py); 5 internal error (tell the user the session ID and the support address).
    """
    return refresh_token(workspace, _pack.site())


if __name__ == "__main__":
    run(main)
