"""Per-task states of a submission from the task tags and its jobs' scheduler states (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from hpcskills.dpdispatcher.render import JobPlan
from hpcskills.ledger.records import SUBMITTED, Submission
from hpcskills.slurm import states as st

TASK_STATES = ("finished", "failed", "running", "pending", "not_submitted", "unknown")


def task_state(
    tag: tuple[str, int | None] | None, record: Submission | None
) -> tuple[str, int | None, str | None]:
    """(state, exit code, reason) of one task: its tag files first, then its job's state."""
    found, code = tag or ("none", None)
    if found == "finished":
        return "finished", 0, None
    if record is None:
        return "not_submitted", None, None
    job_state = record.state or ""
    if record.phase != SUBMITTED:
        return "unknown", None, f"submission outcome {record.phase}"
    if job_state == st.RUNNING:
        return "running", None, None
    if job_state in (st.PENDING, st.SUSPENDED, ""):
        return "pending", None, None
    if st.is_terminal(job_state):
        if found == "failed":
            return "failed", code, f"exit code {code}"
        return "failed", None, f"job ended {job_state} before the task finished"
    return "unknown", None, f"job state {job_state}"


def latest_attempts(records: Sequence[Submission]) -> dict[str, Submission]:
    """job hash → the record of its newest attempt."""
    latest: dict[str, Submission] = {}
    for record in records:
        job_hash = record.details.get("job_hash")
        if job_hash is None:
            continue
        seen = latest.get(job_hash)
        if seen is None or record.details.get("attempt", 0) > seen.details.get("attempt", 0):
            latest[job_hash] = record
    return latest


def task_rows(
    jobs: Sequence[JobPlan],
    tags: Mapping[str, tuple[str, int | None]],
    latest: Mapping[str, Submission],
) -> list[dict[str, Any]]:
    """One row per task, in submission order."""
    rows = []
    for job in jobs:
        record = latest.get(job.hash)
        for task in job.tasks:
            state, code, reason = task_state(tags.get(task.hash), record)
            rows.append(
                {
                    "task_work_path": task.task_work_path,
                    "command": task.command,
                    "state": state,
                    "exit_code": code,
                    "reason": reason,
                    "job_index": job.index,
                    "job_id": record.job_id if record else None,
                    "attempt": record.details.get("attempt") if record else None,
                    "task_hash": task.hash,
                }
            )
    return rows


def job_needs(job: JobPlan, tags: Mapping[str, tuple[str, int | None]], record: Submission | None):
    """What a job needs now: `done`, `submit`, `wait`, or `failed` (resubmission is explicit)."""
    if all((tags.get(t.hash) or ("none",))[0] == "finished" for t in job.tasks):
        return "done"
    if record is None or record.phase != SUBMITTED:
        return "submit"
    if st.is_terminal(record.state or ""):
        return "failed"
    return "wait"


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = Counter(row["state"] for row in rows)
    return {state: counts[state] for state in TASK_STATES if counts[state]}
