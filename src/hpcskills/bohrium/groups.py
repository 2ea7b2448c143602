"""Job groups: list (by date range), create, rename. Terminate/delete live in `stop`."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from hpcskills.bohrium.context import Context
from hpcskills.bohrium.names import check_name
from hpcskills.bohrium.records import group_record
from hpcskills.core.errors import BadInput

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_date(value: str | None, flag: str) -> str | None:
    """A YYYY-MM-DD date, or BadInput naming the flag (pure)."""
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{flag} must be a date like 2026-01-31, not {value!r}") from None
    return value


def list_groups(
    ctx: Context,
    *,
    limit: int | None,
    start: str | None,
    end: str | None,
    search: str | None,
    project_id: int | None,
) -> dict[str, Any]:
    """Job groups, newest first, optionally within a creation date range."""
    start, end = check_date(start, "--start"), check_date(end, "--end")
    if start and end and start > end:
        raise BadInput("--start is after --end")
    raw = ctx.backend.groups(
        limit=limit, start=start, end=end, search=search, project_id=project_id
    )
    groups = [group_record(group) for group in raw]
    return {"backend": ctx.backend.name, "count": len(groups), "groups": groups}


def create_group(ctx: Context, name: str, project_id: int | None) -> dict[str, Any]:
    """A new group to pass to `submit_job.py -g`."""
    check_name(name, "the group name")
    project = ctx.config.require_project(project_id)
    group_id = ctx.backend.create_group(name, project)
    return {
        "group_id": group_id,
        "name": name,
        "project_id": project,
        "use": f"submit_job.py ... -g {group_id}",
    }


def rename_group(ctx: Context, group_id: int, name: str) -> dict[str, Any]:
    """Give a group a new name (the API backend only)."""
    check_name(name, "the new group name")
    ctx.api_backend("renaming a job group").rename_group(group_id, name)
    return {"group_id": group_id, "name": name}
