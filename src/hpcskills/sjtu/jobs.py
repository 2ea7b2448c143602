"""Read-only job queries on an entry node: cluster status, job lists, details, efficiency,
output, through the Slurm client. One remote exec per query for all jobs (never one per
job)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from hpcskills.core.errors import BadInput, NotFound
from hpcskills.sjtu.session import ClusterSession
from hpcskills.slurm import commands
from hpcskills.slurm.client import Accounting, SlurmClient
from hpcskills.slurm.parse import AccountingRecord, QueueJob
from hpcskills.slurm.runopts import expand_task_range
from hpcskills.slurm.units import SINCE_HINT, sacct_start
from hpcskills.ssh.connect import run_read

MAX_TAIL_LINES = 5000
MAX_EXPANDED_TASKS = 1000  # a pending range with more tasks stays one row


def sacct_since(text: str) -> str:
    """`2h`/`3d`/`1w`/`30m` → `now-2hours`; ISO dates and `now-N<unit>` pass through;
    BadInput for anything else (slurm.units.sacct_start)."""
    start = sacct_start(text)
    if start is None:
        raise BadInput(f"--since {text[:40]!r} is not a time sacct reads as meant", hint=SINCE_HINT)
    return start


def _client(session: ClusterSession) -> SlurmClient:
    return SlurmClient.over(session.remote)


def cluster_status(session: ClusterSession) -> dict[str, Any]:
    """Partitions of this node group: availability, node counts, limits (sinfo + profile)."""
    partitions = _client(session).partitions()
    profile = session.site.partitions
    rows = []
    for info in partitions:
        row = asdict(info)
        known = profile.get(info.name)
        row["node_group"] = known.node_group if known else None
        row["site_limits"] = known.described() if known else None
        rows.append(row)
    return {**session.describe(), "partitions": rows}


def one_per_task(parts: list[Any]) -> list[Any]:
    """squeue/sacct lines with each pending array range (`123_[3-8%2]`) split into one line
    per task (`123_3` … `123_8`), so every task is listed by group id and index (pure)."""
    split = []
    for part in parts:
        task = part.array_task_id
        indices = expand_task_range(task, MAX_EXPANDED_TASKS) if task else None
        if indices is None:
            split.append(part)
            continue
        split += [
            replace(part, job_id=f"{part.array_job_id}_{i}", array_task_id=i) for i in indices
        ]
    return split


def _queue_row(job: QueueJob) -> dict[str, Any]:
    return {"source": "squeue", **asdict(job)}


def _accounting_row(record: AccountingRecord) -> dict[str, Any]:
    return {"source": "sacct", **asdict(record)}


def list_jobs(
    session: ClusterSession,
    *,
    states: list[str] | None = None,
    partitions: list[str] | None = None,
    names: list[str] | None = None,
    since: str | None = None,
    all_users: bool = False,
) -> dict[str, Any]:
    """The user's jobs in the queue; with `since`, also finished ones from sacct (one remote
    exec either way)."""
    user = None if all_users else session.user
    client = _client(session)
    filters = {"states": states, "partitions": partitions, "names": names}
    notes = []
    if since:
        queued, finished = client.queue_and_history(user=user, since=sacct_since(since), **filters)
        if finished.note:
            notes.append(f"{finished.note}: finished jobs that left the queue are not listed")
    else:
        queued, finished = client.queue(user=user, **filters), Accounting()
    queued = one_per_task(queued)
    rows = [_queue_row(job) for job in queued]
    seen = {job.job_id for job in queued}
    wanted_states = {s.upper() for s in states or []}
    for record in one_per_task(finished.records):
        if record.job_id in seen:
            continue
        if partitions and record.partition not in partitions:
            continue
        if names and record.name not in names:
            continue
        if wanted_states and not wanted_states & {record.state, record.raw_state.upper()}:
            continue
        rows.append(_accounting_row(record))
    return {**session.describe(), "user": user, "count": len(rows), "jobs": rows, "notes": notes}


def job_info(session: ClusterSession, job_ids: list[str]) -> dict[str, Any]:
    """Details of each job from scontrol (while Slurm remembers it) and sacct: one exec."""
    details = _client(session).details(job_ids)
    records: dict[str, AccountingRecord] = {}
    for record in details.accounting.records:
        records.setdefault(record.job_id, record)
    notes = []
    if details.accounting.note:
        notes.append(details.accounting.note + "; details come from scontrol only")
    jobs, missing = [], []
    for job_id in commands.check_job_ids(job_ids):
        live = details.live.get(job_id, [])
        account = records.get(job_id)
        if not live and account is None:
            missing.append(job_id)
            continue
        jobs.append(
            {
                "job_id": job_id,
                "scontrol": [asdict(j) for j in live] or None,
                "sacct": asdict(account) if account else None,
                "state": live[0].state if live else account.state if account else None,
            }
        )
    if not jobs:
        raise NotFound(
            f"no such job on {session.choice.name}: {', '.join(missing)}",
            hint="check the id and the node group (jobs are only visible from "
            "their node group's entry node)",
        )
    return {**session.describe(), "jobs": jobs, "missing": missing, "notes": notes}


def job_efficiency(session: ClusterSession, job_id: str) -> dict[str, Any]:
    """seff's report, parsed; says so when accounting is missing."""
    report = _client(session).efficiency(job_id)
    note = None
    if not report.accounting_available:
        note = "no accounting data for this job: efficiency cannot be computed"
    elif not report.efficiency_available:
        note = "the job has not finished or used no CPU yet: efficiency is not meaningful"
    return {**session.describe(), "efficiency": asdict(report), "note": note}


def output_path(session: ClusterSession, job_id: str, stderr: bool) -> tuple[str, bool]:
    """The job's stdout/stderr file and whether it was guessed (job gone from scontrol)."""
    details = _client(session).details([job_id])
    live = details.live.get(job_id, [])
    if live:
        path = live[0].stderr_path if stderr else live[0].stdout_path
        if path:
            return path, False
    records = details.accounting.records
    if not records or not records[0].work_dir:
        raise NotFound(
            f"job {job_id} is unknown on {session.choice.name}",
            hint=details.accounting.note,
        )
    return f"{records[0].work_dir.rstrip('/')}/slurm-{job_id}.out", True


def job_output(session: ClusterSession, job_id: str, *, stderr: bool, tail: int) -> dict[str, Any]:
    """The last `tail` lines of the job's output file."""
    if not 1 <= tail <= MAX_TAIL_LINES:
        raise BadInput(f"--tail must be between 1 and {MAX_TAIL_LINES}")
    path, guessed = output_path(session, job_id, stderr)
    result = run_read(session.remote, ["tail", "-n", str(tail), "--", path])
    if not result.ok:
        raise NotFound(
            f"cannot read {path}: {result.stderr.strip()[-200:]}",
            hint="the job may not have started yet, or wrote elsewhere",
        )
    return {
        **session.describe(),
        "job_id": job_id,
        "path": path,
        "path_guessed": guessed,
        "stream": "stderr" if stderr else "stdout",
        "lines": tail,
        "text": result.stdout,
    }
