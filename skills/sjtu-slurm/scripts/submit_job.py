#!/usr/bin/env python3
"""Submit a batch job: the user's script, or a resources spec rendered to #SBATCH lines."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.jobs.slurm_submit import submit_sjtu_once
from hpcskills.sjtu.guidance import after_submit
from hpcskills.sjtu.options import backend_option, job_ids_option
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.submit import parse_env_pairs, prepare, read_env_file
from hpcskills.slurm.runopts import run_options

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@script
@click.option("--script", "script_file", type=FILE, help="Your own batch script (uploaded).")
@click.option("--spec", "spec_file", type=FILE, help="JSON resources spec; flags override it.")
@click.option("--partition", "-p")
@click.option("--nodes", "-N", type=int)
@click.option("--ntasks-per-node", type=int)
@click.option("--cpus-per-task", "-c", type=int)
@click.option("--gpus", type=int, help="GPUs per node (GPU partitions get --gres=gpu:N).")
@click.option("--mem", help="Memory per node, e.g. 4G.")
@click.option("--time", "-t", help="Time limit: D-HH:MM:SS, HH:MM:SS or minutes.")
@click.option("--name", "-J")
@click.option("--output", "-o", help="stdout file (Slurm patterns like %j allowed).")
@click.option("--error", "-e", help="stderr file.")
@click.option("--workdir", help="Absolute work dir on the cluster (hot storage).")
@click.option("--module", "modules", multiple=True, help="module load NAME (repeatable).")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE",
              help="Repeatable. No secrets: the value is on the command line and in output.")
@click.option("--env-file", type=FILE, help="KEY=VALUE lines exported in the job (for "
              "secrets): read here, written into the job script (mode 0600 on the cluster), "
              "never shown.")
@click.option("--command", help="The command(s) the job runs.")
@click.option("--array", help="Run as a job array: 1-8, 1-8%2 (2 at a time), 0,3,5-9, 1-99:2.")
@job_ids_option("--after-ok", "after_ok", "Start after these jobs all succeeded.")
@job_ids_option("--after-any", "after_any", "Start after these jobs ended, however.")
@job_ids_option("--after-not-ok", "after_not_ok", "Start only if these jobs all failed.")
@click.option("--hold", is_flag=True, help="Submit held: it waits until release_jobs.py.")
@click.option("--dry-run", is_flag=True, help="Print the script and checks; submit nothing.")
@click.option("--idempotency-key", help="Same key = same job, never a second one (default: "
              "derived from the script and its settings).")
@backend_option
def main(workspace, script_file, spec_file, dry_run, backend, env, env_file, modules,
         idempotency_key, array, after_ok, after_any, after_not_ok, hold, **fields):
    """Checks the partition's node group, limits, GPUs and cold-storage use first; then
    uploads the script to the work dir and runs sbatch on the partition's login node.
    Running it again returns the job already submitted (also after a lost answer).
    --array, --after-* and --hold are sbatch options (they override #SBATCH lines)."""
    site = _pack.site()
    run_with = run_options(array=array, after_ok=after_ok, after_any=after_any,
                           after_not_ok=after_not_ok, hold=hold)
    prepared = prepare(site, script_file=script_file, spec_file=spec_file,
                       fields={**fields, "env": parse_env_pairs(env), "modules": list(modules)},
                       run=run_with, secret_env=read_env_file(env_file) if env_file else None)
    if dry_run:
        return {"dry_run": True, "partition": prepared.partition,
                "node_group": prepared.node_group, "warnings": prepared.warnings,
                "script": prepared.visible_script, "sbatch_options": run_with.sbatch_options(),
                **run_with.describe()}
    session = SiteAccess(workspace, site, log, backend).open(node_group=prepared.node_group)
    return after_submit(submit_sjtu_once(workspace, session, prepared, idempotency_key))


if __name__ == "__main__":
    run(main)
