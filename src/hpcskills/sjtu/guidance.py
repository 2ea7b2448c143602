"""What to tell the agent after an SJTU action: one sentence and the calls that come next."""

from __future__ import annotations

from typing import Any

from hpcskills.core.guidance import FollowUp, Guided


def _on_group(result: dict[str, Any]) -> tuple[str, ...]:
    group = result.get("node_group")
    return ("--node-group", str(group)) if group else ()


def after_submit(result: dict[str, Any]) -> Guided:
    """A submitted (or found again) job: look at it, or at the queue."""
    job_id = str(result["job_id"])
    how = "was already submitted" if result.get("reused") else "was submitted"
    array = result.get("array")
    what = f"Array job {job_id} ({array['size']} tasks)" if array else f"Job {job_id}"
    held = " held: it starts only after release_jobs.py" if result.get("held") else ""
    steps = (
        FollowUp("job_info.py", (job_id, *_on_group(result))),
        FollowUp("list_jobs.py", _on_group(result)),
    )
    if held:
        steps = (FollowUp("release_jobs.py", (job_id, *_on_group(result))), *steps)
    return Guided(
        result,
        summary=f"{what} {how} on {result.get('entry_node')}{held}.",
        next=steps,
    )


def after_release(result: dict[str, Any]) -> Guided:
    """Released jobs: watch them start (nothing to add when nothing was held)."""
    released = result.get("released") or []
    if not released:
        return Guided(result, summary="None of the jobs is held; nothing was released.")
    verified = sum(1 for job in released if job.get("verified"))
    return Guided(
        result,
        summary=f"{verified} of {len(released)} held job(s) released; they start when "
        "resources are free.",
        next=(FollowUp("list_jobs.py", _on_group(result)),),
    )


def after_cancel(result: dict[str, Any]) -> Guided:
    """Cancelled jobs: check the queue (nothing to add when nothing was cancelled)."""
    cancelled = result.get("cancelled") or []
    if not cancelled:
        return Guided(result)
    verified = sum(1 for job in cancelled if job.get("verified"))
    return Guided(
        result,
        summary=f"{verified} of {len(cancelled)} job(s) cancelled and seen stopped.",
        next=(FollowUp("list_jobs.py", _on_group(result)),),
    )


def after_plan(
    result: dict[str, Any], flags: dict[str, Any], array: str | None = None
) -> Guided:
    """A plan: the earliest partition, its charge, and the submit call that uses it."""
    rows = result.get("partitions") or []
    if not rows:
        return Guided(result, summary="No partition gave a start estimate; see unavailable "
                      "and errors.")
    best = rows[0]
    charge = best["charge"]
    cost = (
        f"{charge['amount']} {charge['currency']}"
        + ("" if charge.get("verified") else " (unverified price)")
        if charge.get("amount") is not None
        else "an unknown charge"
    )
    args: list[str] = ["--partition", best["partition"]]
    for name, value in flags.items():
        if value is not None and name != "partition":
            args += ["--" + name.replace("_", "-"), str(value)]
    if array:
        args += ["--array", array]
    return Guided(
        result,
        summary=f"{len(rows)} partition(s) fit; the earliest start is {best['estimated_start']} "
        f"on {best['partition']} ({best['node_group']}), at most {cost}.",
        next=(FollowUp("submit_job.py", (*args, "--command", "COMMAND", "--dry-run")),),
    )


def after_usage(result: dict[str, Any]) -> Guided:
    """A usage report: its totals in one sentence."""
    totals = result["totals"]
    return Guided(
        result,
        summary=f"{totals['core_hours']} core-hours and {totals['gpu_hours']} GPU-hours in "
        f"{totals['jobs']} allocation(s) on {result.get('node_group')} since {result['since']}.",
    )
