#!/usr/bin/env python3
"""Plan a job before submitting it: where it fits, when it would start, what it would cost."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.guidance import after_plan
from hpcskills.sjtu.options import backend_option, node_group_option
from hpcskills.sjtu.plan import plan_job, request_of
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.submit import read_json_object
from hpcskills.slurm.runopts import run_options

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@script
@click.option("--spec", "spec_file", type=FILE, help="JSON resources spec; flags override it.")
@click.option("--partition", "-p", help="Only this partition (default: every one that fits).")
@click.option("--nodes", "-N", type=int)
@click.option("--ntasks-per-node", type=int)
@click.option("--cpus-per-task", "-c", type=int)
@click.option("--gpus", type=int, help="GPUs per node.")
@click.option("--mem", help="Memory per node, e.g. 4G.")
@click.option("--time", "-t", help="Time limit: D-HH:MM:SS, HH:MM:SS or minutes.")
@click.option("--array", help="As submit_job.py --array: the charge counts every task.")
@node_group_option
@backend_option
def main(workspace, spec_file, array, node_group, backend, **fields):
    """Takes submit_job.py's resource flags (or --spec). For each partition the job fits
    (all node groups unless --node-group/--partition narrow it): the start Slurm estimates
    now (sbatch --test-only; one remote exec per node group, nothing is submitted), the
    limits that apply and the expected charge from the site's price table (marked when
    unverified). Earliest start first."""
    site = _pack.site()
    mapping = read_json_object(spec_file) if spec_file is not None else {}
    mapping.update({k: v for k, v in fields.items() if v is not None})
    spec, partitions = request_of(site, mapping, node_group)
    access = SiteAccess(workspace, site, log, backend)
    result = plan_job(site, spec, partitions, lambda group: access.open(node_group=group),
                      run_options(array=array))
    return after_plan(result, fields, array)


if __name__ == "__main__":
    run(main, human_columns=("partition", "node_group", "estimated_start", "processors"))
