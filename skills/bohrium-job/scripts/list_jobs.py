#!/usr/bin/env python3
"""List Bohrium jobs, newest first, with their normalized state."""

import _pack
import click

from hpcskills.bohrium.jobs import list_jobs
from hpcskills.bohrium.options import backend_option
from hpcskills.core.cli import run, script

STATUS_FLAGS = (
    ("-r", "running"),
    ("-f", "failed"),
    ("-i", "finished"),
    ("-p", "pending"),
    ("", "scheduling"),
)


def status_flags(func):
    for short, name in reversed(STATUS_FLAGS):
        flags = [short, f"--{name}"] if short else [f"--{name}"]
        func = click.option(*flags, name, is_flag=True, help=f"Only {name} jobs.")(func)
    return func


@click.command()
@script
@backend_option
@click.option(
    "-n", "limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many jobs."
)
@click.option("--all", "all_jobs", is_flag=True, help="Every job (pages through the list).")
@status_flags
@click.option("-j", "--group", "group_id", type=int, help="Only jobs of this job group.")
@click.option("--project_id", type=int, help="Only jobs of this project.")
def main(workspace, backend, limit, all_jobs, group_id, project_id, **flags):
    """Jobs with state (PENDING, RUNNING, COMPLETED, FAILED, ...) and raw status codes."""
    statuses = [name for _short, name in STATUS_FLAGS if flags[name]]
    return list_jobs(
        _pack.context(backend),
        limit=None if all_jobs else limit,
        statuses=statuses,
        group_id=group_id,
        project_id=project_id,
    )


if __name__ == "__main__":
    run(
        main,
        human_columns=("job_id", "name", "state", "web_status", "machine_type", "created", "error"),
    )
