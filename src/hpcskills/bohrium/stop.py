"""terminate / kill / delete of jobs and groups: a plan first, the action only when confirmed."""

from __future__ import annotations

from typing import Any

from hpcskills.bohrium.context import Context
from hpcskills.bohrium.records import group_record, job_id_of, job_record
from hpcskills.bohrium.states import ACTIVE_CODES, TERMINAL, TRANSITIONAL_CODES, job_state
from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import BadInput, HpcError, NotFound, RemoteError
from hpcskills.core.workspace import Workspace

JOB_ACTIONS = ("terminate", "kill", "delete")
GROUP_ACTIONS = ("terminate", "delete")
# the seed's table: what each action does to results, record and state
EFFECTS: dict[str, dict[str, str]] = {
    "terminate": {"results": "kept", "record": "kept", "becomes": "completed (finished)"},
    "kill": {"results": "discarded", "record": "kept", "becomes": "failed"},
    "delete": {"results": "removed", "record": "removed", "becomes": "gone from the job list"},
}
GROUP_EFFECTS: dict[str, str] = {
    "terminate": "running jobs are terminated (results kept); jobs not yet running are stopped "
    "without results; finished jobs are unchanged",
    "delete": "the group and every job in it are removed, with their results",
}


def eligibility(action: str, job: dict[str, Any]) -> tuple[bool, str]:
    """Whether one job can take the action, and why not (pure)."""
    state = job_state(job)
    if action == "delete":
        return True, "removed with its results" if state.state in TERMINAL else (
            "stopped, then removed with its results"
        )
    if state.state in TERMINAL:
        return False, f"already ended ({state.state.lower()})"
    if state.status in TRANSITIONAL_CODES:
        return False, f"already {state.label}"
    if action == "terminate" and state.status != 1:
        return False, (
            f"{state.label} jobs cannot be terminated (nothing ran yet): kill or delete it instead"
        )
    if action == "kill" and state.status not in ACTIVE_CODES:
        return False, f"cannot be killed while {state.label}"
    return True, "stopped now" if action == "kill" else "stopped, results collected"


def _target(job: dict[str, Any], action: str) -> dict[str, Any]:
    record = job_record(job)
    ok, why = eligibility(action, job)
    return {
        "job_id": record["job_id"],
        "name": record["name"],
        "state": record["state"],
        "status": record["status"],
        "web_status": record["web_status"],
        "eligible": ok,
        "outcome" if ok else "reason": why,
    }


def plan_jobs(action: str, found: list[dict[str, Any]], missing: list[int]) -> dict[str, Any]:
    """The plan shown to the user (pure)."""
    targets = [_target(job, action) for job in found]
    return {
        "action": action,
        "effect": EFFECTS[action],
        "jobs": [t for t in targets if t["eligible"]],
        "skipped": [t for t in targets if not t["eligible"]],
        "not_found": missing,
    }


def binding_of(plan: dict[str, Any]) -> list[Any]:
    """What the confirm token is bound to: the action and each target with its codes."""
    return [
        plan["action"],
        plan.get("group_id"),
        [[t["job_id"], t["status"], t["web_status"]] for t in plan["jobs"]],
    ]


def _fetch(ctx: Context, job_ids: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    found, missing = [], []
    for job_id in job_ids:
        try:
            found.append(ctx.backend.job(job_id))
        except NotFound:
            missing.append(job_id)
    return found, missing


def _apply(ctx: Context, action: str, targets: list[dict[str, Any]]) -> dict[str, Any]:
    done, failed = [], []
    for target in targets:
        try:
            ctx.backend.stop(action, target["job_id"])
        except HpcError as exc:
            failed.append({"job_id": target["job_id"], "error": exc.to_dict()})
        else:
            done.append(target["job_id"])
    if failed and not done:
        first = failed[0]["error"]
        raise RemoteError(
            f"{action} failed for every job: {first['message']}",
            type=f"{action}_failed",
            hint=first.get("hint"),
            retryable=bool(first.get("retryable")),
            failed=failed,
        )
    return {"done": done, "failed": failed}


def stop_jobs(
    ctx: Context, workspace: Workspace, action: str, job_ids: list[int], token: str | None
) -> dict[str, Any]:
    """Plan (exit 3) or, with a valid token, run the action on every eligible job."""
    if action not in JOB_ACTIONS:
        raise BadInput(f"unknown action {action!r}", hint="terminate, kill or delete")
    found, missing = _fetch(ctx, list(dict.fromkeys(job_ids)))
    if not found:
        raise NotFound(
            f"no such job: {', '.join(map(str, missing))}",
            hint="list_jobs.py shows your jobs; group ids belong to job_group.py",
        )
    plan = plan_jobs(action, found, missing)
    if not plan["jobs"]:
        raise BadInput(
            f"none of the jobs can take {action}; nothing was changed",
            type="not_eligible",
            hint="see `skipped` for each job's reason",
            skipped=plan["skipped"],
            not_found=missing,
        )
    require_confirmation(workspace, f"bohrium.job.{action}", plan, token, binding=binding_of(plan))
    outcome = _apply(ctx, action, plan["jobs"])
    return {"action": action, **outcome, "skipped": plan["skipped"], "not_found": missing}


def plan_group(action: str, group_id: int, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan of a group action (pure)."""
    rows = []
    for job in jobs:
        record = job_record(job)
        state = job_state(job)
        if action == "delete":
            outcome = "removed"
        elif state.state in TERMINAL:
            outcome = "unchanged (already ended)"
        elif state.status == 1:
            outcome = "terminated, results kept"
        else:
            outcome = "stopped before running, no results"
        rows.append(
            {
                "job_id": record["job_id"],
                "name": record["name"],
                "state": record["state"],
                "status": record["status"],
                "web_status": record["web_status"],
                "outcome": outcome,
            }
        )
    return {"action": action, "group_id": group_id, "effect": GROUP_EFFECTS[action], "jobs": rows}


def require_own_group(ctx: Context, group_id: int) -> None:
    """NotFound unless `group_id` is among the user's groups: the platform lists only the
    user's own, so a missing and another user's group look the same (and get no plan)."""
    if not any(group_record(g)["group_id"] == group_id for g in ctx.backend.groups()):
        raise NotFound(
            f"no job group {group_id} among your groups",
            type="group_not_found",
            hint="job_group.py list shows your groups; job ids belong to stop_jobs.py",
        )


def stop_group(
    ctx: Context, workspace: Workspace, action: str, group_id: int, token: str | None
) -> dict[str, Any]:
    """Plan (exit 3) or, confirmed, terminate or delete a whole job group."""
    if action not in GROUP_ACTIONS:
        raise BadInput(f"unknown group action {action!r}", hint="terminate or delete")
    require_own_group(ctx, group_id)
    jobs = ctx.backend.list_jobs(group_id=group_id)
    plan = plan_group(action, group_id, jobs)
    if action == "terminate" and not any(job_state(j).state not in TERMINAL for j in jobs):
        raise BadInput(
            f"every job of group {group_id} has ended; nothing to terminate",
            type="not_eligible",
            jobs=plan["jobs"],
        )
    require_confirmation(
        workspace, f"bohrium.group.{action}", plan, token, binding=binding_of(plan)
    )
    ctx.backend.stop_group(action, group_id)
    return {"action": action, "group_id": group_id, "jobs": [job_id_of(j) for j in jobs]}
