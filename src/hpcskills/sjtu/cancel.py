"""Cancelling jobs: a plan of what stops, the user's confirmation, then a verified scancel."""

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
from hpcskills.slurm.states import is_terminal
from hpcskills.slurm.units import format_duration

VERIFY_SECONDS = 20.0
IMPACT = (
    "running jobs are stopped now and their unfinished work is lost; pending jobs "
    "leave the queue; output already written stays"
)


def _target(job_id: str, job: QueueJob) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "name": job.name,
        "state": job.state,
        "partition": job.partition,
        "user": job.user,
        "elapsed": format_duration(job.elapsed_seconds or 0),
    }


def _state_of(found: JobStates, job_id: str) -> str | None:
    """The job's state: squeue's while it is queued, else sacct's; None when unknown."""
    parts = found.queued_for(job_id) or found.finished_for(job_id)
    return parts[0].state if parts else None


def plan_cancel(session: ClusterSession, job_ids: list[str]) -> dict[str, Any]:
    """Which of the jobs can be cancelled (still queued or running) and which cannot."""
    commands.check_job_ids(job_ids)
    found = SlurmClient.over(session.remote).job_states(job_ids)
    targets, skipped = [], []
    for job_id in job_ids:
        queued = [job for job in found.queued_for(job_id) if not is_terminal(job.state)]
        state = _state_of(found, job_id)
        if queued:
            targets.append(_target(job_id, queued[0]))
        elif state is not None:
            skipped.append({"job_id": job_id, "state": state, "why": "already finished"})
        else:
            skipped.append({"job_id": job_id, "state": None, "why": "unknown job"})
    return {
        **session.describe(),
        "jobs": targets,
        "skipped": skipped,
        "impact": IMPACT,
        "notes": found.notes,
    }


def _verify(session: ClusterSession, job_ids: list[str], wait: float) -> dict[str, str]:
    """Poll (one remote exec per round) until every job is in a terminal state or time is up."""
    client = SlurmClient.over(session.remote)
    deadline = time.monotonic() + wait
    delay = 0.3
    states: dict[str, str] = {}
    while True:
        found = client.job_states(job_ids)
        states = {i: _state_of(found, i) or "UNKNOWN" for i in job_ids}
        if all(is_terminal(s) for s in states.values()) or time.monotonic() > deadline:
            return states
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def cancel_jobs(
    workspace: Workspace, session: ClusterSession, job_ids: list[str], confirm: str | None
) -> dict[str, Any]:
    """Plan (exit 3) → on confirmation scancel the cancellable jobs and verify they stopped."""
    plan = plan_cancel(session, job_ids)
    if not plan["jobs"]:
        if all(s["why"] == "unknown job" for s in plan["skipped"]):
            raise NotFound(f"no such job on {session.choice.name}: {', '.join(job_ids)}")
        return {**plan, "cancelled": [], "message": "nothing to cancel"}
    binding = {
        "entry_node": session.choice.name,
        "jobs": [{k: j[k] for k in ("job_id", "name", "state", "partition")} for j in plan["jobs"]],
    }
    require_confirmation(workspace, "sjtu.cancel_jobs", plan, confirm, binding=binding)
    targets = [j["job_id"] for j in plan["jobs"]]
    SlurmClient.over(session.remote).cancel(targets)
    states = _verify(session, targets, VERIFY_SECONDS)
    cancelled = [
        {"job_id": i, "state": states[i], "verified": states[i] == "CANCELLED"} for i in targets
    ]
    return {
        **session.describe(),
        "cancelled": cancelled,
        "skipped": plan["skipped"],
        "all_verified": all(c["verified"] for c in cancelled),
    }
