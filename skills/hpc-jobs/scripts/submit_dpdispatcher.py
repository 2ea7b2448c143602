#!/usr/bin/env python3
"""Run a DPDispatcher submission (its machine/resources/task JSON files); rerun to resume."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.core.params import Seconds
from hpcskills.dpdispatcher.inputs import load_submission
from hpcskills.dpdispatcher.run import RunOptions, submit_dpdispatcher
from hpcskills.sjtu.options import backend_option

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@script
@click.option("--machine", type=FILE, help="machine.json (batch_type, context_type, roots, "
              "remote_profile).")
@click.option("--resources", type=FILE, help="resources.json.")
@click.option("--task", "tasks", type=FILE, multiple=True, help="task.json (an object or a "
              "list); repeatable.")
@click.option("--submission", type=FILE, help="One JSON with work_base, machine, resources, "
              "task_list, forward/backward_common_files (instead of the three above).")
@click.option("--work-base", help="Directory under local_root holding the task directories.")
@click.option("--forward-common", multiple=True, metavar="FILE", help="File under the work "
              "base every task needs (repeatable).")
@click.option("--backward-common", multiple=True, metavar="FILE", help="File to fetch back "
              "once all tasks finished (repeatable).")
@click.option("--resubmit-failed", is_flag=True, help="Send failed jobs again (their finished "
              "tasks are skipped).")
@click.option("--wait", is_flag=True, help="Stay until every job ended (see --timeout).")
@click.option("--timeout", type=Seconds(maximum=7 * 86400), default=600, show_default=True,
              help="Seconds, with --wait (at most a week).")
@click.option("--dry-run", is_flag=True, help="Show the jobs and their scripts; send nothing.")
@backend_option
def main(workspace, machine, resources, tasks, submission, work_base, forward_common,
         backward_common, resubmit_failed, wait, timeout, dry_run, backend):
    """Same files again = same submission: nothing is submitted twice, finished tasks are
    not rerun, new results are downloaded and failed tasks are reported per task."""
    spec = load_submission(submission=submission, machine=machine, resources=resources,
                           tasks=tasks, work_base=work_base, forward_common=forward_common,
                           backward_common=backward_common)
    options = RunOptions(resubmit_failed=resubmit_failed, dry_run=dry_run, wait=wait,
                         timeout=timeout, backend=backend)
    return submit_dpdispatcher(workspace, spec, options, report=log,
                               bohrium_skill_dir=_pack.SKILL_DIR.parent / "bohrium-job")


if __name__ == "__main__":
    run(main)
