"""Click options shared by the bohrium-job scripts (the flags of `bohr job submit`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hpcskills.bohrium.context import BACKENDS

F = TypeVar("F", bound=Callable[..., Any])

backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="api",
    show_default=True,
    help="api: the Bohrium OpenAPI; cli: the bohr binary, when installed.",
)

# (flags, job.json field, type, help) — named as `bohr job submit` names them
SPEC_FLAGS: list[tuple[tuple[str, ...], str, type, str]] = [
    (("-m", "--image_address"), "image_address", str, "Full image address (registry/...:tag)."),
    (("-t", "--machine_type"), "machine_type", str, "Machine type, e.g. c16_m32_cpu."),
    (("-c", "--command"), "command", str, "Command, run inside the input directory."),
    (("--project_id",), "project_id", int, "Project id (default: PROJECT_ID)."),
    (("-n", "--job_name"), "job_name", str, "Job name."),
    (("-l", "--log_file"), "log_file", str, "Log file to follow while it runs."),
    (
        ("-r", "--result_path"),
        "result_path",
        str,
        "Collect results under /data, /personal or /share.",
    ),
    (("-g", "--job_group_id"), "job_group_id", int, "Job group (job_group.py create)."),
    (("--max_run_time",), "max_run_time", int, "Minutes before the job is stopped."),
    (("--max_reschedule_times",), "max_reschedule_times", int, "Reruns after interruption."),
    (("--nnode",), "nnode", int, "Number of nodes."),
]

SUBMIT_OPTIONS: list[Callable[[F], F]] = [
    click.option(
        "--backward_file",
        "backward_files",
        multiple=True,
        help="An output to keep (repeatable); default: everything.",
    ),
    click.option(
        "-p",
        "--input_directory",
        "input_dir",
        default="./",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Input directory.",
    ),
    click.option(
        "-i",
        "--config",
        "job_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="job.json with the fields of `bohr job submit -i`.",
    ),
    click.option("--template", help="deepmd, lammps, abacus, gromacs or cp2k (flags override)."),
    click.option(
        "--exclude",
        multiple=True,
        help="Leave out files matching this glob (repeatable), e.g. .git",
    ),
    click.option(
        "--no-wrap", is_flag=True, help="Do not move a firewall-prone command into run.sh."
    ),
    click.option(
        "--idempotency-key",
        help="Submit again only under a new key (default: from spec and input).",
    ),
    click.option(
        "--dry-run", is_flag=True, help="Lint and show the final spec and files; send nothing."
    ),
]


def submit_options(func: F) -> F:
    """Every option of submit_job.py; the job.json fields arrive under their field names."""
    for decorate in reversed(SUBMIT_OPTIONS):
        func = decorate(func)
    for flags, name, kind, text in reversed(SPEC_FLAGS):
        func = click.option(*flags, name, type=kind, help=text)(func)
    return func
