#!/usr/bin/env python3
"""Report the stored SSH certificate and any pending background request."""

import _pack  # noqa: F401
import click

from hpcskills.core.cli import run, script
from hpcskills.sjtu.certificates import certificate_status


@click.command()
@script
@click.option("--min-valid", type=click.IntRange(0), default=0, show_default=True,
              help="Seconds the certificate must still be valid to count as usable.")
def main(workspace, min_valid):
    """Status: valid, expiring, expired, missing, corrupt, key_mismatch, pending, denied or
    failed.

    `usable` says whether the certificate can be used now. Exits 0 whenever it could look.
    """
    return certificate_status(workspace, min_valid)


if __name__ == "__main__":
    run(main)
