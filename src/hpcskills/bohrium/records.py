"""Platform job and group objects turned into the pack's output records (pure).

Pre-signed URLs (`resultUrl`, file `url`s) and storage tokens are capabilities: they are never
copied into an output record; `has_results` says whether a result archive exists.
"""

from __future__ import annotations

from typing import Any

from hpcskills.bohrium.states import job_state


def _first(raw: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if raw.get(key) not in (None, ""):
            return raw[key]
    return None


def job_id_of(raw: dict[str, Any]) -> int | None:
    value = _first(raw, "id", "jobId", "job_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _files(entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        return []
    return [{"name": e.get("name"), "size": e.get("size")} for e in entries if isinstance(e, dict)]


def job_record(raw: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    """A job as the scripts print it; `full` adds command, image, files and costs."""
    record: dict[str, Any] = {
        "job_id": job_id_of(raw),
        "name": _first(raw, "jobName", "name"),
        **job_state(raw).to_dict(),
        "group_id": _first(raw, "jobGroupId", "groupId"),
        "machine_type": _first(raw, "machineType", "scassType"),
        "created": _first(raw, "createTime"),
        "error": _first(raw, "errorInfo"),
    }
    if not full:
        return record
    files = raw.get("jobFiles") if isinstance(raw.get("jobFiles"), dict) else {}
    record.update(
        {
            "bohr_id": _first(raw, "bohrId", "bohrJobId"),
            "project_id": _first(raw, "projectId"),
            "group_name": _first(raw, "jobGroupName"),
            "image": _first(raw, "imageName", "imageAddress"),
            "command": _first(raw, "cmd", "command"),
            "updated": _first(raw, "updateTime"),
            "ended": _first(raw, "endTime"),
            "spend_time": _first(raw, "spendTime"),
            "cost": _first(raw, "cost"),
            "exit_code": _first(raw, "exitCode"),
            "max_run_time": _first(raw, "maxRunTime"),
            "has_results": bool(raw.get("resultUrl")),
            "files": {
                kind: _files(files.get(key))
                for kind, key in (
                    ("log", "logFiles"),
                    ("input", "inputFiles"),
                    ("output", "outFiles"),
                )
            },
        }
    )
    return record


def group_job_count(raw: dict[str, Any]) -> int | None:
    """How many jobs a group holds: lbg's per-status counts summed, else a count field."""
    counts = raw.get("status")
    if isinstance(counts, list) and all(isinstance(c, int) for c in counts):
        return sum(counts)
    count = _first(raw, "jobCount", "total")
    return count if isinstance(count, int) else None


def group_record(raw: dict[str, Any]) -> dict[str, Any]:
    """A job group as the scripts print it (lbg names the group `jobName`)."""
    return {
        "group_id": _first(raw, "id", "groupId", "jobGroupId"),
        "name": _first(raw, "name", "groupName", "jobGroupName", "jobName"),
        "project_id": _first(raw, "projectId", "program_id"),
        "created": _first(raw, "createTime"),
        "jobs": group_job_count(raw),
    }


CAPABILITY_KEYS = frozenset({"url", "token", "resulturl", "signedurl", "downloadurl"})


def without_capabilities(value: Any) -> Any:
    """A copy of a JSON value with URL and token fields dropped (pure)."""
    if isinstance(value, dict):
        return {
            k: without_capabilities(v) for k, v in value.items() if k.lower() not in CAPABILITY_KEYS
        }
    if isinstance(value, list):
        return [without_capabilities(v) for v in value]
    return value
