"""Job states on one Slurm host in one remote exec (the Slurm client's `job_states`: squeue
for all the ids, sacct for those that already left the queue), summarized per job. Never one
command per job."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hpcskills.jobs.aggregate import combined_state
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.parse import AccountingRecord, QueueJob
from hpcskills.slurm.runopts import expand_task_range

MAX_TASK_STATES = 1000  # larger arrays keep only the per-state counts


@dataclass
class JobStatus:
    """The state of one submitted job (an array job's tasks combined)."""

    job_id: str
    state: str
    raw_state: str
    source: str  # squeue | sacct
    detail: dict[str, Any]


@dataclass
class HostStatus:
    """What one poll of a host found; `missing` are ids neither command knows."""

    jobs: dict[str, JobStatus] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def task_states(parts: Sequence[QueueJob | AccountingRecord]) -> dict[str, str]:
    """Each array task's state by index, a pending range counted once per task (pure)."""
    states: dict[str, str] = {}
    for part in parts:
        task = part.array_task_id or ""
        for index in expand_task_range(task, MAX_TASK_STATES) or [task]:
            states[index] = part.state
    return dict(sorted(states.items(), key=lambda item: (len(item[0]), item[0])))


def summarize(job_id: str, parts: Sequence[QueueJob | AccountingRecord], source: str) -> JobStatus:
    """One JobStatus from the lines of one job (several for an array) (pure)."""
    state = combined_state(part.state for part in parts)
    first = parts[0]
    detail = asdict(first)
    if len(parts) > 1 or first.array_task_id is not None:
        detail["array_tasks"] = dict(Counter(part.state for part in parts))
        tasks = task_states(parts)
        if len(tasks) <= MAX_TASK_STATES:
            detail["array_task_states"] = tasks
        raw = ",".join(sorted({part.raw_state for part in parts}))
    else:
        raw = first.raw_state
    return JobStatus(job_id, state, raw, source, detail)


def query_host(client: SlurmClient, job_ids: Sequence[str]) -> HostStatus:
    """States of `job_ids` (plain or array job ids) on the client's host.

    RemoteError when the query fails: the caller keeps the last known states. Without
    accounting, jobs that left the queue are `missing` and a note says why.
    """
    found = client.job_states(job_ids)
    status = HostStatus(commands=found.commands)
    for job_id in dict.fromkeys(job_ids):
        queued, finished = found.queued_for(job_id), found.finished_for(job_id)
        if queued:
            status.jobs[job_id] = summarize(job_id, queued, "squeue")
        elif finished:
            status.jobs[job_id] = summarize(job_id, finished, "sacct")
        else:
            status.missing.append(job_id)
    status.notes = [
        f"{note}; jobs that left the queue keep their last state" for note in found.notes
    ]
    return status


def find_tagged(client: SlurmClient, user: str, tag: str, since: str) -> tuple[str, str] | None:
    """(job id, name) of the user's newest job whose name ends with `tag`, from the queue
    and the accounting since `since` (one remote exec). None when no job carries the tag."""
    queued, finished = client.queue_and_history(user=user, since=since)
    parts: list[Any] = [job for job in queued if job.name.endswith(tag)]
    if not parts:
        parts = [record for record in finished.records if record.name.endswith(tag)]
    if not parts:
        return None
    newest = max(parts, key=lambda part: int(part.array_job_id))
    return newest.array_job_id, newest.name
