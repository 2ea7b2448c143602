#!/usr/bin/env python3
"""Follow jobs until they start or end; adaptive polling, one status call per host."""

from pathlib import Path

import _pack  # noqa: F401
import click

from hpcskills.core.cli import log, run, script
from hpcskills.core.params import Seconds
from hpcskills.jobs.watch import UNTIL, WatchPlan, watch_jobs
from hpcskills.sjtu.options import backend_option


@click.command()
@script
@click.argument("job_ids", nargs=-1, metavar="[JOBID]...")
@click.option("--all-active", is_flag=True, help="Every ledger job not known to have ended.")
@click.option("--site", "sites", multiple=True, help="Only jobs of this site.")
@click.option("--until", type=click.Choice(UNTIL), default="done", show_default=True,
              help="running: stop once all started; done: once all ended.")
@click.option("--timeout", type=Seconds(maximum=7 * 86400), default=600, show_default=True,
              help="Seconds (at most a week).")
@click.option("--max-interval", type=Seconds(maximum=3600), default=60, show_default=True,
              help="Longest pause between polls (they start at 2 s and double).")
@click.option("--fetch-outputs", is_flag=True, help="Download each ended job's declared outputs "
              "(never replacing a local file that differs).")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where outputs go (default: WORKSPACE/hpc-outputs).")
@backend_option
def main(workspace, job_ids, all_active, sites, until, timeout, max_interval, fetch_outputs,
         output_dir, backend):
    """Polls 2 s, 4 s, 8 s ... up to --max-interval (back to 2 s after a change). A failed
    poll is reported on stderr with its retry count; it never changes a job's state."""
    plan = WatchPlan(until=until, timeout=timeout, max_interval=max_interval)
    return watch_jobs(workspace, job_ids, all_active=all_active, sites=sites, plan=plan,
                      output_dir=(output_dir or workspace.root / "hpc-outputs")
                      if fetch_outputs else None, backend=backend,
                      report=log)


if __name__ == "__main__":
    run(main)
