#!/usr/bin/env python3
"""Download the results (out.zip) of Bohrium jobs, resumably."""

from pathlib import Path

import _pack
import click

from hpcskills.bohrium.options import backend_option
from hpcskills.bohrium.results import download_group, download_results
from hpcskills.core.cli import run, script
from hpcskills.core.errors import BadInput


@click.command()
@script
@backend_option
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--group", "group_id", type=int, help="Every job of this job group.")
@click.option("-o", "--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="Target directory.")
@click.option("--unzip", is_flag=True,
              help="Also unpack each out.zip next to it (local files that differ are kept).")
def main(workspace, backend, job_ids, group_id, out_dir, unzip):
    """Save OUT/<job id>/out.zip per ended job; a rerun resumes and skips finished files."""
    if bool(job_ids) == (group_id is not None):
        raise BadInput("give job ids or --group GID (one of the two)")
    ctx = _pack.context(backend, workspace)
    if group_id is not None:
        return download_group(ctx, group_id, out_dir, unpack=unzip)
    return download_results(ctx, list(job_ids), out_dir, unpack=unzip)


if __name__ == "__main__":
    run(main)
