"""Releasing held jobs: a plan of what may start (and be charged), the user's confirmation,
then `scontrol release`, verified."""

from __future__ import annotations

import time
from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import NotFound
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.session import ClusterSession
from hpcskills.slurm import commands
from hpcskills.slurm.client import JobStates, SlurmClient
from hpcskills.slurm.parse import QueueJob

VERIFY_SECONDS = 10.0
IMPACT = (
    "released jobs become eligible to start as soon as resources are free; once they run, "
    "their core-hours and GPU-hours are charged to the account"
)


def is_held(job: QueueJob) -> bool:
    """A pending job waiting for a release (user or admin hold)."""
    return job.state == "PENDING" and (job.reason or "").startswith("JobHeld")


def _target(job_id: str, parts: list[QueueJob]) -> dict[str, Any]:
    first = parts[0]
    return {
        "job_id": job_id,
        "name": first.name,
        "state": first.state,
        "reason": first.reason,
        "partition": first.partition,
        "cpus": sum(p.cpus or 0 for p in parts) or None,
        "time_limit_seconds": first.time_limit_seconds,
        "array_tasks": [p.array_task_id for p in parts if p.array_task_id is not None],
    }


def plan_release(session: ClusterSession, job_ids: list[str]) -> tuple[dict[str, Any], JobStates]:
    """Which of the jobs are held (to release) and which are not, with why."""
    commands.check_job_ids(job_ids)
    found = SlurmClient.over(session.remote).job_states(job_ids)
    targets, skipped = [], []
    for job_id in job_ids:
        held = [job for job in found.queued_for(job_id) if is_held(job)]
        known = found.queued_for(job_id) or found.finished_for(job_id)
        if held:
            targets.append(_target(job_id, held))
        elif known:
            skipped.append({"job_id": job_id, "state": known[0].state, "why": "not held"})
        else:
            skipped.append({"job_id": job_id, "state": None, "why": "unknown job"})
    plan = {**session.describe(), "jobs": targets, "skipped": skipped, "impact": IMPACT}
    return plan, found


def _still_held(session: ClusterSession, job_ids: list[str], wait: float) -> list[str]:
    """Poll until none of the jobs is held any more or time is up; the ones still held."""
    client = SlurmClient.over(session.remote)
    deadline = time.monotonic() + wait
    while True:
        found = client.job_states(job_ids)
        held = [i for i in job_ids if any(is_held(j) for j in found.queued_for(i))]
        if not held or time.monotonic() > deadline:
            return held
        time.sleep(0.5)


def release_jobs(
    workspace: Workspace, session: ClusterSession, job_ids: list[str], confirm: str | None
) -> dict[str, Any]:
    """Plan (exit 3) → on confirmation release the held jobs and verify they are no longer
    held."""
    plan, _found = plan_release(session, job_ids)
    if not plan["jobs"]:
        if all(s["why"] == "unknown job" for s in plan["skipped"]):
            raise NotFound(f"no such job on {session.choice.name}: {', '.join(job_ids)}")
        return {**plan, "released": [], "message": "nothing is held"}
    binding = {
        "entry_node": session.choice.name,
        "jobs": [{k: j[k] for k in ("job_id", "name", "partition")} for j in plan["jobs"]],
    }
    require_confirmation(workspace, "sjtu.release_jobs", plan, confirm, binding=binding)
    targets = [j["job_id"] for j in plan["jobs"]]
    SlurmClient.over(session.remote).release(targets)
    held = _still_held(session, targets, VERIFY_SECONDS)
    released = [{"job_id": i, "verified": i not in held} for i in targets]
    return {
        **session.describe(),
        "released": released,
        "skipped": plan["skipped"],
        "all_verified": not held,
    }
