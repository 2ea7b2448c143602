#!/usr/bin/env python3
"""Submit a Bohrium job: flags like `bohr job submit`, a job.json, or a template; linted first."""

from pathlib import Path

import _pack
import click

from hpcskills.bohrium.submit import SubmitRequest, submit_job
from hpcskills.core.cli import run, script

SPEC_FLAGS = [  # (flags, job.json field, type, help)
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


def spec_options(func):
    for flags, name, kind, text in reversed(SPEC_FLAGS):
        func = click.option(*flags, name, type=kind, help=text)(func)
    return click.option(
        "--backward_file",
        "backward_files",
        multiple=True,
        help="An output to keep (repeatable); default: everything.",
    )(func)


@click.command()
@script
@_pack.backend_option
@spec_options
@click.option(
    "-p",
    "--input_directory",
    "input_dir",
    default="./",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Input directory.",
)
@click.option(
    "-i",
    "--config",
    "job_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="job.json with the fields of `bohr job submit -i`.",
)
@click.option("--template", help="deepmd, lammps, abacus, gromacs or cp2k (flags override).")
@click.option("--exclude", multiple=True, help="Leave out files matching this glob (repeatable).")
@click.option("--no-wrap", is_flag=True, help="Do not move a firewall-prone command to run.sh.")
@click.option(
    "--idempotency-key",
    help="Submit again only under a new key (default: derived from spec and input).",
)
@click.option(
    "--dry-run", is_flag=True, help="Lint and show the final spec and files; send nothing."
)
def main(
    workspace,
    backend,
    input_dir,
    job_file,
    template,
    exclude,
    no_wrap,
    idempotency_key,
    dry_run,
    **fields,
):
    """Lint (errors stop here, nothing uploaded), then create, zip, upload and submit."""
    overrides = {k: v for k, v in fields.items() if v not in (None, ())}
    request = SubmitRequest(
        input_dir,
        template,
        job_file,
        overrides,
        tuple(exclude),
        not no_wrap,
        dry_run,
        idempotency_key,
    )
    return submit_job(_pack.context(backend), request)


if __name__ == "__main__":
    run(main)
