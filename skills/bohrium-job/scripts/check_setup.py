#!/usr/bin/env python3
"""Check the Bohrium setup: where each setting comes from, API, project, bohr."""

import _pack  # noqa: F401 - reports a missing hpc-skills package
import click

from hpcskills.bohrium.setup import check_setup
from hpcskills.core.cli import run, script


@click.command()
@script
def main(workspace):
    """Settings with their source (the key is never shown), API reachable, project valid,
    bohr installed and its version. `ready` says whether jobs can be submitted."""
    return check_setup()


if __name__ == "__main__":
    run(main)
