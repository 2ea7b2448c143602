"""The user's jobs from the ledger, across platforms and sites, states refreshed first with
one batched call per host (Slurm) and per platform (Bohrium)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.poll import Connect, Poller
from hpcskills.ledger.records import INTENT, SUBMITTED, UNKNOWN_OUTCOME, Submission
from hpcskills.ledger.store import open_ledger
from hpcskills.slurm import states as st
from hpcskills.slurm.units import parse_age

PLATFORMS = ("slurm", "shell", "bohrium")
# observed fields worth showing in a listing
SUMMARY_KEYS = (
    "partition",
    "node_list",
    "reason",
    "exit_code",
    "start_time",
    "end_time",
    "elapsed_seconds",
    "array_tasks",
    "array_task_states",
    "machine_type",
)


def since_cutoff(text: str, now: datetime | None = None) -> str:
    """`30m`/`2h`/`3d`/`1w` or an ISO date/time → the UTC ISO cutoff (BadInput otherwise)."""
    now = now or datetime.now(timezone.utc)
    age = parse_age(text)
    if age:
        return (now - timedelta(**{age[1]: age[0]})).isoformat(timespec="seconds")
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            f"--since {text!r} is neither an age (30m, 2h, 3d, 1w) nor an ISO date"
        ) from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def check_states(states: Sequence[str]) -> list[str]:
    """Normalized state names; BadInput for names outside the vocabulary."""
    wanted = [s.strip().upper() for s in states]
    bad = [s for s in wanted if s not in st.STATES]
    if bad:
        raise BadInput(f"unknown state: {', '.join(bad)}", hint="one of: " + ", ".join(st.STATES))
    return wanted


def needs_refresh(record: Submission) -> bool:
    """Submitted jobs whose last known state may still change."""
    return record.phase == SUBMITTED and not st.is_terminal(record.state or "")


def job_row(record: Submission) -> dict[str, Any]:
    """A ledger record as listed, with the most useful observed fields."""
    row = record.to_dict()
    observed = record.observed or {}
    row["observed"] = {k: observed[k] for k in SUMMARY_KEYS if observed.get(k) is not None}
    return row


def list_jobs(
    workspace: Workspace,
    *,
    platforms: Sequence[str] = (),
    states: Sequence[str] = (),
    sites: Sequence[str] = (),
    since: str | None = None,
    refresh: bool = True,
    backend: str | None = None,
    report: Callable[[str], None] = lambda _line: None,
    connect: Connect | None = None,
) -> dict[str, Any]:
    """Ledger jobs matching the filters; unfinished ones refreshed first (unless told not to)."""
    wanted_states = check_states(states)
    cutoff = since_cutoff(since) if since else None
    with open_ledger(workspace) as ledger:
        records = ledger.select(
            platforms=platforms,
            sites=sites,
            since=cutoff,
            phases=(SUBMITTED, UNKNOWN_OUTCOME, INTENT),
        )
        polls = []
        stale = [r for r in records if needs_refresh(r)]
        if refresh and stale:
            poller = Poller(workspace, ledger, backend=backend, report=report, connect=connect)
            try:
                polls = poller.poll(stale)
            finally:
                poller.close()
            fresh = {r.id: r for r in ledger.select(ids=[r.id for r in stale], phases=())}
            records = [fresh.get(r.id, r) for r in records]
    if wanted_states:
        records = [r for r in records if (r.state or "") in wanted_states]
    return {
        "count": len(records),
        "jobs": [job_row(r) for r in records],
        "refreshed": [p.to_dict() for p in polls],
        "filters": {
            "platforms": list(platforms),
            "states": wanted_states,
            "sites": list(sites),
            "since": cutoff,
        },
    }
