"""Looking at jobs: list, describe, log, files; and renaming one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcskills.bohrium.context import Context
from hpcskills.bohrium.names import check_name
from hpcskills.bohrium.records import job_id_of, job_record, without_capabilities
from hpcskills.bohrium.states import FAILING, job_state
from hpcskills.core.errors import HpcError, NotFound

MAX_LOG_BYTES = 64 * 1024
BYTES_PER_LINE = 160


def _created(job: dict[str, Any]) -> str:
    return str(job.get("createTime") or "")


# what a status flag may show once status and webStatus are both considered
FLAG_STATES = {
    "running": {"RUNNING"},
    "failed": set(FAILING),
    "finished": {"COMPLETED"},
    "pending": {"PENDING"},
    "scheduling": {"PENDING"},
}


def list_jobs(
    ctx: Context,
    *,
    limit: int | None,
    statuses: list[str],
    group_id: int | None = None,
    project_id: int | None = None,
) -> dict[str, Any]:
    """The newest jobs (all of them when `limit` is None), optionally by status and group."""
    if not statuses:
        raw = ctx.backend.list_jobs(group_id=group_id, project_id=project_id, limit=limit)
    else:
        merged: dict[Any, dict[str, Any]] = {}
        for status in statuses:
            for job in ctx.backend.list_jobs(
                status=status, group_id=group_id, project_id=project_id, limit=limit
            ):
                if job_state(job).state in FLAG_STATES[status]:  # e.g. status 0, webStatus -1
                    merged[job_id_of(job)] = job
        raw = sorted(merged.values(), key=_created, reverse=True)[:limit]
    jobs = [job_record(job) for job in raw]
    return {"backend": ctx.backend.name, "count": len(jobs), "jobs": jobs}


def _per_job(ctx: Context, job_ids: list[int]) -> list[tuple[int, dict[str, Any] | HpcError]]:
    found: list[tuple[int, dict[str, Any] | HpcError]] = []
    for job_id in job_ids:
        try:
            found.append((job_id, ctx.backend.job(job_id)))
        except NotFound as exc:
            found.append((job_id, exc))
    return found


def describe_jobs(ctx: Context, job_ids: list[int]) -> dict[str, Any]:
    """Full records of the jobs; unknown ids are listed, and all unknown is NotFound."""
    results = _per_job(ctx, job_ids)
    jobs = [job_record(raw, full=True) for _id, raw in results if isinstance(raw, dict)]
    missing = [job_id for job_id, raw in results if not isinstance(raw, dict)]
    if not jobs:
        raise NotFound(
            f"no such job: {', '.join(map(str, missing))}",
            hint="list_jobs.py shows your jobs; job group ids are not job ids",
        )
    return {"jobs": jobs, "not_found": missing}


def tail_lines(text: str, count: int) -> tuple[list[str], bool]:
    """The last `count` lines of a log page; whether older lines were left out (pure)."""
    lines = text.splitlines()
    return lines[-count:] if count else [], len(lines) > count


def job_log(ctx: Context, job_id: int, *, tail: int, out_dir: Path | None) -> dict[str, Any]:
    """The last lines of a job's log; with `out_dir`, the whole log saved as `<id>.log`."""
    job = ctx.backend.job(job_id)
    result: dict[str, Any] = {"job_id": job_id, "state": job_state(job).state}
    if out_dir is not None:
        result["saved"] = ctx.backend.save_log(job_id, out_dir / f"{job_id}.log")
    max_bytes = min(MAX_LOG_BYTES, max(8192, tail * BYTES_PER_LINE))
    lines, older = tail_lines(ctx.backend.log_tail(job_id, max_bytes), tail)
    result.update({"lines": lines, "older_lines_left_out": older})
    return result


def rename_job(ctx: Context, job_id: int, name: str) -> dict[str, Any]:
    """Give a job a new name (the API backend only)."""
    check_name(name, "the new job name")
    backend = ctx.api_backend("renaming a job")
    old = job_record(backend.job(job_id)).get("name")
    backend.rename(job_id, name)
    return {"job_id": job_id, "old_name": old, "name": name}


def job_files(ctx: Context, job_id: int, *, snapshot: bool) -> dict[str, Any]:
    """File access of a job (view/conf, its storage token withheld) and its file lists."""
    backend = ctx.api_backend("a job's file access")
    record = job_record(backend.job(job_id), full=True)
    conf = backend.view_conf(job_id)
    result: dict[str, Any] = {
        "job_id": job_id,
        "state": record["state"],
        "files": record["files"],
        "access": {
            "state": conf.get("state"),
            "base_dir": conf.get("baseDir"),
            "temp_dir": conf.get("tempDir"),
            "host": conf.get("host"),
            "expires": conf.get("expires"),
            "token_issued": bool(conf.get("token")),
        },
    }
    if snapshot:
        try:
            result["snapshot"] = without_capabilities(backend.snapshot(job_id))
        except NotFound as exc:
            result["snapshot"] = None
            result["snapshot_note"] = exc.hint or exc.message
    return result
