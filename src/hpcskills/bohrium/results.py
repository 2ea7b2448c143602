"""Downloading results: `DIR/<job id>/out.zip` per job (bohr's layout), optionally unpacked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcskills.bohrium.context import Context
from hpcskills.bohrium.download import unzip
from hpcskills.bohrium.records import job_id_of
from hpcskills.bohrium.states import TERMINAL, job_state
from hpcskills.core.errors import BadInput, HpcError, NotFound, RemoteError

KEPT_HINT = (
    "these local files differ from the archive's and were kept; unzip into another --out "
    "directory (or move them away) to get the job's version"
)


def skip_reason(job: dict[str, Any], needs_url: bool) -> str | None:
    """Why a job has nothing to download yet, or None (pure)."""
    state = job_state(job).state
    if state not in TERMINAL:
        return f"still {state.lower()}; download when it has ended"
    if needs_url and not job.get("resultUrl"):
        return f"{state.lower()} without a result archive (a killed job's results are discarded)"
    return None


def _one(ctx: Context, job: dict[str, Any], out_dir: Path, unpack: bool) -> dict[str, Any]:
    job_id = job_id_of(job)
    target = out_dir / str(job_id) / "out.zip"
    fetched = ctx.backend.fetch_result(job, target)
    entry = {"job_id": job_id, "state": job_state(job).state, **fetched}
    if unpack:
        unpacked = unzip(target, target.parent)
        entry["unzipped_files"] = unpacked.written
        entry["unchanged_files"] = unpacked.unchanged
        entry["unzipped_to"] = str(target.parent)
        if unpacked.not_overwritten:
            entry["not_overwritten"] = unpacked.not_overwritten
            entry["hint"] = KEPT_HINT
    return entry


def download_jobs(
    ctx: Context,
    jobs: list[dict[str, Any]],
    out_dir: Path,
    *,
    unpack: bool,
    missing: list[int] | None = None,
) -> dict[str, Any]:
    """Download every job that has results; the others are reported with their reason."""
    needs_url = ctx.backend.name == "api"
    downloaded, skipped, failed = [], [], []
    for job in jobs:
        reason = skip_reason(job, needs_url)
        if reason:
            skipped.append({"job_id": job_id_of(job), "reason": reason})
            continue
        try:
            downloaded.append(_one(ctx, job, out_dir, unpack))
        except HpcError as exc:
            failed.append({"job_id": job_id_of(job), "error": exc.to_dict()})
    if failed and not downloaded:
        first = failed[0]["error"]
        raise RemoteError(
            f"no result could be downloaded: {first['message']}",
            type="download_failed",
            retryable=bool(first.get("retryable")),
            hint=first.get("hint"),
            failed=failed,
            skipped=skipped,
        )
    return {
        "out_dir": str(out_dir),
        "downloaded": downloaded,
        "skipped": skipped,
        "failed": failed,
        "not_found": missing or [],
    }


def download_results(
    ctx: Context, job_ids: list[int], out_dir: Path, *, unpack: bool
) -> dict[str, Any]:
    """Results of the given jobs."""
    if not job_ids:
        raise BadInput("give job ids (or --group GID)")
    jobs, missing = [], []
    for job_id in dict.fromkeys(job_ids):
        try:
            jobs.append(ctx.backend.job(job_id))
        except NotFound:
            missing.append(job_id)
    if not jobs:
        raise NotFound(f"no such job: {', '.join(map(str, missing))}")
    return download_jobs(ctx, jobs, out_dir, unpack=unpack, missing=missing)


def download_group(ctx: Context, group_id: int, out_dir: Path, *, unpack: bool) -> dict[str, Any]:
    """Results of every job of a group (there is no server-side group download)."""
    jobs = ctx.backend.list_jobs(group_id=group_id)
    if not jobs:
        raise NotFound(
            f"job group {group_id} has no jobs (or does not exist)",
            hint="job_group.py list shows your groups",
        )
    return {"group_id": group_id, **download_jobs(ctx, jobs, out_dir, unpack=unpack)}
