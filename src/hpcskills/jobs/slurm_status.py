"""Job states on one Slurm host in one batched call: squeue for all the ids, then one sacct
for those that already left the queue. Never one command per job."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hpcskills.core.errors import RemoteError
from hpcskills.jobs.aggregate import combined_state
from hpcskills.slurm import commands
from hpcskills.slurm.parse import AccountingRecord, QueueJob, parse_sacct, parse_squeue
from hpcskills.ssh.base import CommandResult

Runner = Callable[[list[str]], CommandResult]
MAX_IDS_PER_CALL = 2000  # keeps one command line well under ARG_MAX


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


def _failed(what: str, result: CommandResult) -> RemoteError:
    return RemoteError(
        f"{what} failed: {result.stderr.strip()[-300:]}",
        type="slurm_error",
        retryable=commands.is_transient_error(result.stderr) or result.returncode == 255,
    )


def _chunks(ids: Sequence[str], size: int = MAX_IDS_PER_CALL) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _queue(run: Runner, ids: list[str]) -> list[QueueJob]:
    result = run(commands.squeue_argv(job_ids=ids))
    if not result.ok and len(ids) == 1 and commands.is_invalid_job_id_error(result.stderr):
        return []  # one id that already left the queue
    if not result.ok or commands.is_transient_error(result.stderr):
        raise _failed("squeue", result)
    return parse_squeue(result.stdout)


def _accounting(run: Runner, argv: list[str]) -> list[AccountingRecord]:
    result = run(argv)
    if not result.ok and commands.is_no_accounting_error(result.stderr):
        raise RemoteError("this cluster keeps no job accounting (sacct)", type="no_accounting")
    if not result.ok or commands.is_transient_error(result.stderr):
        raise _failed("sacct", result)
    return parse_sacct(result.stdout)


def summarize(job_id: str, parts: Sequence[QueueJob | AccountingRecord], source: str) -> JobStatus:
    """One JobStatus from the lines of one job (several for an array) (pure)."""
    state = combined_state(part.state for part in parts)
    first = parts[0]
    detail = asdict(first)
    if len(parts) > 1 or first.array_task_id is not None:
        detail["array_tasks"] = dict(Counter(part.state for part in parts))
        raw = ",".join(sorted({part.raw_state for part in parts}))
    else:
        raw = first.raw_state
    return JobStatus(job_id, state, raw, source, detail)


def _by_job(parts: Sequence[QueueJob | AccountingRecord]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for part in parts:
        grouped[part.array_job_id].append(part)
    return grouped


def query_host(run: Runner, job_ids: Sequence[str], *, use_sacct: bool = True) -> HostStatus:
    """States of `job_ids` (plain or array job ids) on the host `run` executes on.

    RemoteError when a command fails: the caller keeps the last known states.
    """
    ids = commands.check_job_ids(list(dict.fromkeys(job_ids)))
    status = HostStatus()
    queued: list[QueueJob] = []
    for chunk in _chunks(ids):
        status.commands.append("squeue")
        queued += _queue(run, chunk)
    for job_id, parts in _by_job(queued).items():
        status.jobs[job_id] = summarize(job_id, parts, "squeue")
    gone = [job_id for job_id in ids if job_id not in status.jobs]
    if gone and use_sacct:
        records: list[AccountingRecord] = []
        try:
            for chunk in _chunks(gone):
                status.commands.append("sacct")
                records += _accounting(run, commands.sacct_argv(job_ids=chunk))
        except RemoteError as exc:
            if exc.type != "no_accounting":
                raise
            status.notes.append(exc.message + "; jobs that left the queue keep their last state")
        for job_id, parts in _by_job(records).items():
            if job_id in gone:
                status.jobs[job_id] = summarize(job_id, parts, "sacct")
    status.missing = [job_id for job_id in ids if job_id not in status.jobs]
    return status


def find_tagged(run: Runner, user: str, tag: str, since: str) -> tuple[str, str] | None:
    """(job id, name) of the user's newest job whose name ends with `tag`: one squeue, then
    (if none is queued) one sacct from `since`. None when no job carries the tag."""
    result = run(commands.squeue_argv(user=user))
    if not result.ok or commands.is_transient_error(result.stderr):
        raise _failed("squeue", result)
    parts: list[Any] = [job for job in parse_squeue(result.stdout) if job.name.endswith(tag)]
    if not parts:
        try:
            found = _accounting(run, commands.sacct_argv(user=user, since=since))
        except RemoteError as exc:
            if exc.type != "no_accounting":
                raise
            found = []
        parts = [record for record in found if record.name.endswith(tag)]
    if not parts:
        return None
    newest = max(parts, key=lambda part: int(part.array_job_id))
    return newest.array_job_id, newest.name
