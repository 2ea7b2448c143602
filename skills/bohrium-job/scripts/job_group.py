#!/usr/bin/env python3
"""Bohrium job groups: list, create, rename, download; terminate and delete with confirmation."""

from pathlib import Path

import _pack
import click

from hpcskills.bohrium.groups import create_group, list_groups, rename_group
from hpcskills.bohrium.options import backend_option
from hpcskills.bohrium.results import download_group
from hpcskills.bohrium.stop import stop_group
from hpcskills.core.cli import confirm_option, run, script

group_argument = click.argument("group_id", type=int)


@click.group()
def main():
    """Job groups collect jobs (submit_job.py -g GID). Group ids are not job ids."""


@main.command("list")
@script
@backend_option
@click.option("-n", "limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("-s", "--start", help="Created on or after this date (YYYY-MM-DD).")
@click.option("-e", "--end", help="Created on or before this date (YYYY-MM-DD).")
@click.option("--search", help="Only groups whose name contains this text.")
@click.option("--project_id", type=int)
def list_cmd(workspace, backend, limit, start, end, search, project_id):
    """Groups, newest first."""
    return list_groups(_pack.context(backend), limit=limit, start=start, end=end, search=search,
                       project_id=project_id)


@main.command("create")
@script
@backend_option
@click.option("-n", "--name", required=True)
@click.option("-p", "--project_id", type=int, help="Default: PROJECT_ID.")
def create_cmd(workspace, backend, name, project_id):
    """A new group; pass its id to submit_job.py -g."""
    return create_group(_pack.context(backend), name, project_id)


@main.command("rename")
@script
@group_argument
@click.argument("name")
def rename_cmd(workspace, group_id, name):
    """Give GROUP_ID a new name."""
    return rename_group(_pack.context(), group_id, name)


@main.command("download")
@script
@backend_option
@group_argument
@click.option("-o", "--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--unzip", is_flag=True)
def download_cmd(workspace, backend, group_id, out_dir, unzip):
    """OUT/<job id>/out.zip for every ended job of the group (resumable)."""
    return download_group(_pack.context(backend), group_id, out_dir, unpack=unzip)


@main.command("terminate")
@script
@confirm_option
@backend_option
@group_argument
def terminate_cmd(workspace, confirm_token, backend, group_id):
    """Plan first (exit 3); with --confirm TOKEN, stop every job of the group."""
    return stop_group(_pack.context(backend), workspace, "terminate", group_id, confirm_token)


@main.command("delete")
@script
@confirm_option
@backend_option
@group_argument
def delete_cmd(workspace, confirm_token, backend, group_id):
    """Plan first (exit 3); with --confirm TOKEN, remove the group and all its jobs."""
    return stop_group(_pack.context(backend), workspace, "delete", group_id, confirm_token)


if __name__ == "__main__":
    run(main)
