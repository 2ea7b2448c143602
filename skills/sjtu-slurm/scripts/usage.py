#!/usr/bin/env python3
"""Core-hours and GPU-hours since a date, per partition and node group (one sacct)."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.guidance import after_usage
from hpcskills.sjtu.options import backend_option, node_group_option
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.usage import usage_report
from hpcskills.slurm.units import SINCE_HINT, sacct_start


def _since(_ctx, _param, value):
    if sacct_start(value) is None:
        raise click.BadParameter(f"{value[:40]!r} is not {SINCE_HINT}")
    return value


@click.command()
@script
@click.option("--since", default="30d", show_default=True, callback=_since,
              help="Start of the window: 30d, 1w, 2026-11-01 or now-7days.")
@click.option("--all-users", is_flag=True, help="Everyone's usage (as far as Slurm shows it).")
@node_group_option
@backend_option
def main(workspace, since, all_users, node_group, backend):
    """From the node group's accounting (sacct, one remote exec): allocated CPUs × elapsed
    time and GPUs × elapsed time of every allocation since --since, totalled and per
    partition and node group. Each node group is its own cluster: ask each one you use."""
    session = SiteAccess(workspace, _pack.site(), log, backend).open(node_group=node_group)
    return after_usage(usage_report(session, since, all_users=all_users))


if __name__ == "__main__":
    run(main, human_columns=("partition", "node_group", "jobs", "core_hours", "gpu_hours"))
