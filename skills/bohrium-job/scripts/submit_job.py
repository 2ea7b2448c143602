#!/usr/bin/env python3
"""Submit a Bohrium job: flags like `bohr job submit`, a job.json, or a template; linted first."""

import _pack
import click

from hpcskills.bohrium.options import backend_option, submit_options
from hpcskills.bohrium.submit import SubmitRequest, submit_job
from hpcskills.core.cli import run, script


@click.command()
@script
@backend_option
@submit_options
def main(workspace, backend, input_dir, job_file, template, exclude, no_wrap, idempotency_key,
         dry_run, **fields):
    """Lint (errors stop here, nothing uploaded), then create, zip, upload and submit.

    Flags override -i job.json, which overrides --template. The submission is recorded in
    the workspace ledger before anything is sent: a repeat of the same submit, also after an
    interrupted one, returns the job already submitted instead of starting a second one.
    """
    overrides = {k: v for k, v in fields.items() if v not in (None, ())}
    request = SubmitRequest(input_dir, template, job_file, overrides, tuple(exclude),
                            not no_wrap, dry_run, idempotency_key)
    return submit_job(_pack.context(backend), request, workspace)


if __name__ == "__main__":
    run(main)
