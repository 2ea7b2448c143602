"""Exporting the ledger's jobs to PERSEUS: fresh states (one sacct per host, one job listing
for Bohrium), mapped to records, and only records whose state changed since they were last
sent (remembered in the ledger) are sent, in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.listing import since_cutoff
from hpcskills.jobs.poll import Connect, Poller
from hpcskills.jobs.source import Runner
from hpcskills.ledger.records import SUBMITTED, Submission
from hpcskills.ledger.store import open_ledger
from hpcskills.perseus import records as pr
from hpcskills.perseus.client import ADD_PATH, PerseusClient
from hpcskills.perseus.config import Settings, load_token
from hpcskills.slurm import states as st
from hpcskills.slurm.client import SlurmClient

BATCH_SIZE = 500
PLATFORMS = ("slurm", "bohrium")
FINAL = "final"


def slurm_parts(run: Runner, job_ids: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The jobs' lines (array tasks one by one) from sacct; from squeue without accounting."""
    client = SlurmClient(run)
    accounting = client.accounting(job_ids=list(job_ids))
    if accounting.available:
        return [asdict(r) for r in accounting.records], []
    note = f"{accounting.note}: finished jobs that left the queue are not reported"
    return [asdict(q) for q in client.queue(job_ids=list(job_ids))], [note]


def _extra(record: Submission) -> dict[str, Any]:
    return {"site": record.site, "ledger_id": record.id, "submitted_through": "hpc-skills"}


def build_records(
    poller: Poller, records: Sequence[Submission], settings: Settings
) -> tuple[list[tuple[Submission, dict[str, Any]]], list[dict[str, Any]], list[str]]:
    """(ledger record, PERSEUS record) pairs, per-host errors and notes."""
    built: list[tuple[Submission, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    notes: list[str] = []
    by_host: dict[str, list[Submission]] = defaultdict(list)
    for record in records:
        by_host[record.host_key].append(record)
    for host, members in by_host.items():
        try:
            if members[0].platform == "slurm":
                built += _slurm(poller, members, settings, notes)
            else:
                built += _bohrium(poller, members, settings)
        except HpcError as exc:
            errors.append({"host": host, "error": exc.to_dict()})
    skipped = [r.job_id for r, rec in built if rec is None]
    if skipped:
        notes.append(f"not sent (state UNKNOWN has no PERSEUS counterpart): {skipped}")
    return [(r, rec) for r, rec in built if rec is not None], errors, notes


def _slurm(poller: Poller, members: list[Submission], settings: Settings, notes: list[str]):
    owners = {str(m.job_id): m for m in members}
    parts, found_notes = slurm_parts(poller.runner(members[0]), list(owners))
    notes += found_notes
    pairs = []
    for part in parts:
        owner = owners.get(part["array_job_id"])
        if owner is not None:
            pairs.append((owner, pr.slurm_record(part, settings.scope(owner.site), _extra(owner))))
    return pairs


def _bohrium(poller: Poller, members: list[Submission], settings: Settings):
    for result in poller.poll(members):
        if not result.ok:
            raise HpcError(str((result.error or {}).get("message")), type="bohrium_error")
    ids = [m.id for m in members]
    fresh = poller.ledger.select(ids=ids, phases=())
    return [
        (
            m,
            pr.bohrium_record(
                {**(m.observed or {}), "state": m.state}, settings.scope(m.site), _extra(m)
            ),
        )
        for m in fresh
    ]


def _batches(items: list[Any], size: int = BATCH_SIZE) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def export_perseus(
    workspace: Workspace,
    settings: Settings,
    *,
    dry_run: bool = False,
    resend: bool = False,
    platforms: Sequence[str] = PLATFORMS,
    since: str | None = None,
    backend: str | None = None,
    report: Callable[[str], None] = lambda _line: None,
    connect: Connect | None = None,
    client: PerseusClient | None = None,
) -> dict[str, Any]:
    """Send (or with `dry_run` show) the records whose state changed since the last export."""
    target = f"perseus:{settings.url or '-'}"
    cutoff = since_cutoff(since) if since else None
    sender = None if dry_run else client or PerseusClient(str(settings.url), load_token(workspace))
    with open_ledger(workspace) as ledger:
        marks = ledger.export_marks(target)
        records = [
            r
            for r in ledger.select(
                platforms=platforms or PLATFORMS, since=cutoff, phases=(SUBMITTED,)
            )
            if resend or marks.get(f"ledger:{r.id}") != FINAL
        ]
        for record in records:
            settings.scope(record.site)  # every site needs a cluster id: fail before anything
        poller = Poller(workspace, ledger, backend=backend, report=report, connect=connect)
        try:
            built, errors, notes = build_records(poller, records, settings)
        finally:
            poller.close()
        due = [
            (owner, rec)
            for owner, rec in built
            if resend or marks.get(pr.record_key(rec)) != pr.fingerprint(rec)
        ]
        result: dict[str, Any] = {
            "endpoint": (settings.url or "") + ADD_PATH,
            "jobs_considered": len(records),
            "records": len(built),
            "unchanged": len(built) - len(due),
            "errors": errors,
            "notes": notes,
        }
        if dry_run:
            return {"dry_run": True, **result, "payload": [rec for _o, rec in due]}
        assert sender is not None
        answers = []
        for batch in _batches(due):
            answers.append(sender.add([rec for _o, rec in batch]))
            ledger.mark_exported(target, {pr.record_key(r): pr.fingerprint(r) for _o, r in batch})
        ledger.mark_exported(target, _final_marks(built))
    return {**result, "sent": len(due), "batches": len(answers), "answers": answers}


def _final_marks(built: list[tuple[Submission, dict[str, Any]]]) -> dict[str, str]:
    """Ledger jobs whose every record was sent in a terminal state need no more queries."""
    states: dict[int, list[str]] = defaultdict(list)
    for owner, record in built:
        states[owner.id].append(record["state"])
    return {
        f"ledger:{job}": FINAL
        for job, seen in states.items()
        if seen and all(st.is_terminal(s) for s in seen)
    }
