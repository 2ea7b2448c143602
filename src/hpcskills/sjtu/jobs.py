"""Read-only job queries on an entry node: cluster status, job lists, details, efficiency,
output. One command per query for all jobs (never one per job)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hpcskills.core.errors import BadInput, NotFound, RemoteError
from hpcskills.sjtu.session import ClusterSession
from hpcskills.slurm import commands
from hpcskills.slurm.details import parse_scontrol_jobs, parse_seff
from hpcskills.slurm.parse import AccountingRecord, QueueJob, parse_sacct, parse_sinfo, parse_squeue
from hpcskills.slurm.units import SINCE_HINT, sacct_start
from hpcskills.ssh.connect import run_read

MAX_TAIL_LINES = 5000


def sacct_since(text: str) -> str:
    """`2h`/`3d`/`1w`/`30m` → `now-2hours`; ISO dates and `now-N<unit>` pass through;
    BadInput for anything else (slurm.units.sacct_start)."""
    start = sacct_start(text)
    if start is None:
        raise BadInput(f"--since {text[:40]!r} is not a time sacct reads as meant", hint=SINCE_HINT)
    return start


def _query(session: ClusterSession, argv: list[str], what: str) -> str:
    result = run_read(session.remote, argv)
    if not result.ok:
        if commands.is_no_accounting_error(result.stderr):
            raise RemoteError(
                f"{what}: this cluster has no job accounting (sacct)", type="no_accounting"
            )
        raise RemoteError(
            f"{what} failed: {result.stderr.strip()[-300:]}",
            type="slurm_error",
            retryable=commands.is_transient_error(result.stderr),
        )
    if commands.is_transient_error(result.stderr):
        raise RemoteError(
            f"{what}: {result.stderr.strip()[-300:]}", type="slurm_error", retryable=True
        )
    return result.stdout


def cluster_status(session: ClusterSession) -> dict[str, Any]:
    """Partitions of this node group: availability, node counts, limits (sinfo + profile)."""
    partitions = parse_sinfo(_query(session, commands.sinfo_argv(), "sinfo"))
    profile = session.site.partitions
    rows = []
    for info in partitions:
        row = asdict(info)
        known = profile.get(info.name)
        row["node_group"] = known.node_group if known else None
        row["site_limits"] = known.described() if known else None
        rows.append(row)
    return {**session.describe(), "partitions": rows}


def queue_jobs(session: ClusterSession, **filters: Any) -> list[QueueJob]:
    """squeue for the filters (a job id that left the queue yields nothing)."""
    argv = commands.squeue_argv(**filters)
    result = run_read(session.remote, argv)
    job_ids = filters.get("job_ids")
    if not result.ok and job_ids and commands.is_invalid_job_id_error(result.stderr):
        return []  # a single id that already left the queue
    if not result.ok or commands.is_transient_error(result.stderr):
        raise RemoteError(
            f"squeue failed: {result.stderr.strip()[-300:]}",
            type="slurm_error",
            retryable=commands.is_transient_error(result.stderr),
        )
    return parse_squeue(result.stdout)


def accounting(session: ClusterSession, **filters: Any) -> list[AccountingRecord]:
    """sacct allocations for the filters."""
    return parse_sacct(_query(session, commands.sacct_argv(**filters), "sacct"))


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
    """The user's jobs in the queue; with `since`, also finished ones from sacct."""
    user = None if all_users else session.user
    queued = queue_jobs(session, user=user, states=states, partitions=partitions, names=names)
    rows = [_queue_row(job) for job in queued]
    notes = []
    if since:
        seen = {job.job_id for job in queued}
        try:
            finished = accounting(session, user=user, since=sacct_since(since))
        except RemoteError as exc:
            if exc.type != "no_accounting":
                raise
            finished, notes = [], [exc.message]
        wanted_states = {s.upper() for s in states or []}
        for record in finished:
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
    """Details of each job from scontrol (while Slurm remembers it) and sacct."""
    commands.check_job_ids(job_ids)
    records: dict[str, AccountingRecord] = {}
    notes = []
    try:
        for record in accounting(session, job_ids=job_ids):
            records.setdefault(record.job_id, record)
    except RemoteError as exc:
        if exc.type != "no_accounting":
            raise
        notes.append(exc.message + "; details come from scontrol only")
    jobs, missing = [], []
    for job_id in job_ids:
        result = run_read(session.remote, commands.scontrol_show_job_argv(job_id))
        live = parse_scontrol_jobs(result.stdout) if result.ok else []
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
    result = run_read(session.remote, commands.seff_argv(job_id))
    report = parse_seff(result.stdout + "\n" + result.stderr)
    if not result.ok and report.job_id is None:
        if "command not found" in result.stderr or "not found" in result.stderr.lower():
            raise NotFound(f"no efficiency report for job {job_id}: {result.stderr.strip()}")
        raise RemoteError(f"seff failed: {result.stderr.strip()[-300:]}", type="slurm_error")
    note = None
    if not report.accounting_available:
        note = "no accounting data for this job: efficiency cannot be computed"
    elif not report.efficiency_available:
        note = "the job has not finished or used no CPU yet: efficiency is not meaningful"
    return {**session.describe(), "efficiency": asdict(report), "note": note}


def output_path(session: ClusterSession, job_id: str, stderr: bool) -> tuple[str, bool]:
    """The job's stdout/stderr file and whether it was guessed (job gone from scontrol)."""
    result = run_read(session.remote, commands.scontrol_show_job_argv(job_id))
    live = parse_scontrol_jobs(result.stdout) if result.ok else []
    if live:
        path = live[0].stderr_path if stderr else live[0].stdout_path
        if path:
            return path, False
    records = accounting(session, job_ids=[job_id])
    if not records or not records[0].work_dir:
        raise NotFound(f"job {job_id} is unknown on {session.choice.name}")
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
