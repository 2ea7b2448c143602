"""Watching jobs until they start or end: adaptive polling (2 s doubling to a cap, back to
2 s when something changed), one status call per host per poll. A failed poll is reported
with its retry count and changes no job's state."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput, NotFound
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.outputs import fetch_outputs
from hpcskills.jobs.poll import Connect, GroupPoll, Poller
from hpcskills.ledger.records import SUBMITTED, Submission
from hpcskills.ledger.store import Ledger, open_ledger
from hpcskills.slurm import states as st

UNTIL = ("running", "done")
BASE_INTERVAL = 2.0
DEFAULT_MAX_INTERVAL = 60.0


def reached(state: str | None, until: str) -> bool:
    """Whether a job in `state` needs no more watching: ended (`done`), or started or ended
    (`running`)."""
    if st.is_terminal(state or ""):
        return True
    return until == "running" and state in (st.RUNNING, st.SUSPENDED)


def next_wait(previous: float | None, changed: bool, base: float, cap: float) -> float:
    """The pause before the next poll: `base` at first and after a state change, else the
    previous pause doubled, up to `cap`."""
    if previous is None or changed:
        return base
    return min(cap, previous * 2)


@dataclass
class WatchPlan:
    """What to watch and how."""

    until: str = "done"
    timeout: float = 600.0
    base_interval: float = BASE_INTERVAL
    max_interval: float = DEFAULT_MAX_INTERVAL

    def __post_init__(self) -> None:
        if self.until not in UNTIL:
            raise BadInput(f"--until must be one of {', '.join(UNTIL)}")
        finite = math.isfinite(self.timeout) and math.isfinite(self.max_interval)
        if not finite or self.timeout <= 0 or self.max_interval < self.base_interval:
            raise BadInput("--timeout must be positive and --max-interval at least 2 s")


@dataclass
class Tracker:
    """Per-job timings seen during the watch (seconds since it started)."""

    started: float
    seen: dict[int, dict[str, float]] = field(default_factory=dict)

    def note(self, record: Submission, now: float) -> None:
        if record.state:
            states = self.seen.setdefault(record.id, {})
            states.setdefault(record.state, round(now - self.started, 1))


def check_selection(job_ids: Sequence[str], all_active: bool) -> None:
    """BadInput unless exactly one of: job ids, --all-active."""
    if bool(job_ids) == all_active:
        raise BadInput("give JOBID... or --all-active (not both)")


def select_targets(
    ledger: Ledger, job_ids: Sequence[str], all_active: bool, sites: Sequence[str] = ()
) -> list[Submission]:
    """The ledger jobs to watch: the given ids, or every job not known to have ended."""
    check_selection(job_ids, all_active)
    if all_active:
        return [r for r in ledger.select(sites=sites) if not st.is_terminal(r.state or "")]
    records = ledger.select(job_ids=[str(j) for j in job_ids], sites=sites, phases=(SUBMITTED,))
    found = {r.job_id for r in records}
    missing = [j for j in job_ids if str(j) not in found]
    if missing:
        raise NotFound(
            f"not in the ledger: {', '.join(map(str, missing))}",
            hint="watch_jobs.py follows jobs submitted through this pack; jobs.py lists them",
        )
    by_id = Counter(r.job_id for r in records)
    twice = sorted(j for j, n in by_id.items() if n > 1)
    if twice:
        raise BadInput(
            f"job id {', '.join(map(str, twice))} exists on several sites",
            hint="add --site to say which one",
            sites=sorted({r.site for r in records if r.job_id in twice}),
        )
    return records


def _progress(number: int, records: Sequence[Submission], pending: int) -> str:
    counts = Counter(r.state or "UNKNOWN" for r in records)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"poll {number}: {summary} ({len(records) - pending}/{len(records)} reached)"


def _job_result(record: Submission, until: str, tracker: Tracker) -> dict[str, Any]:
    observed = record.observed or {}
    return {
        "ledger_id": record.id,
        "job_id": record.job_id,
        "platform": record.platform,
        "site": record.site,
        "name": record.name,
        "state": record.state,
        "raw_state": record.raw_state,
        "reached": reached(record.state, until),
        "terminal": st.is_terminal(record.state or ""),
        "submitted_at": record.submitted_at,
        "start_time": observed.get("start_time"),
        "end_time": observed.get("end_time"),
        "exit_code": observed.get("exit_code"),
        "seen_after_seconds": tracker.seen.get(record.id, {}),
    }


def watch(
    ledger: Ledger,
    poller: Poller,
    targets: Sequence[Submission],
    plan: WatchPlan,
    *,
    report: Callable[[str], None] = lambda _line: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_reached: Callable[[Submission], None] = lambda _record: None,
) -> dict[str, Any]:
    """Poll until every target reached `plan.until` or the timeout passed."""
    started = clock()
    tracker = Tracker(started)
    records = {r.id: r for r in targets}
    for record in records.values():
        tracker.note(record, started)
    pending = [i for i, r in records.items() if not reached(r.state, plan.until)]
    failures: Counter[str] = Counter()
    wait: float | None = None
    polls, timed_out = 0, False
    while pending:
        polls += 1
        results: list[GroupPoll] = poller.poll([records[i] for i in pending])
        for result in results:
            if not result.ok:
                failures[result.host] += 1
                message = (result.error or {}).get("message", "failed")
                report(
                    f"poll {polls}: {result.host} failed (retry {failures[result.host]}): "
                    f"{message}; job states unchanged"
                )
        changed = any(result.changed for result in results)
        for fresh in ledger.select(ids=pending, phases=()):
            records[fresh.id] = fresh
            tracker.note(fresh, clock())
            if reached(fresh.state, plan.until):
                on_reached(fresh)
        pending = [i for i in pending if not reached(records[i].state, plan.until)]
        report(_progress(polls, list(records.values()), len(pending)))
        if not pending:
            break
        remaining = plan.timeout - (clock() - started)
        if remaining <= 0:
            timed_out = True
            break
        wait = next_wait(wait, changed, plan.base_interval, plan.max_interval)
        sleep(min(wait, remaining))
    return {
        "until": plan.until,
        "complete": not pending,
        "timed_out": timed_out,
        "polls": polls,
        "poll_failures": dict(failures),
        "elapsed_seconds": round(clock() - started, 1),
        "jobs": [_job_result(r, plan.until, tracker) for r in records.values()],
    }


def watch_jobs(
    workspace: Workspace,
    job_ids: Sequence[str],
    *,
    all_active: bool = False,
    sites: Sequence[str] = (),
    plan: WatchPlan,
    output_dir: Path | None = None,
    backend: str | None = None,
    report: Callable[[str], None] = lambda _line: None,
    connect: Connect | None = None,
) -> dict[str, Any]:
    """Watch ledger jobs (see `watch`); with `output_dir`, fetch each ended job's outputs."""
    check_selection(job_ids, all_active)  # before the ledger is opened, which may create it
    with open_ledger(workspace) as ledger:
        targets = select_targets(ledger, job_ids, all_active, sites)
        poller = Poller(
            workspace, ledger, backend=backend, report=report, connect=connect, retry_reads=False
        )
        fetched: list[dict[str, Any]] = []

        def on_reached(record: Submission) -> None:
            if output_dir is not None and st.is_terminal(record.state or ""):
                fetched.append(fetch_outputs(poller, ledger, record, output_dir))

        try:
            result = watch(ledger, poller, targets, plan, report=report, on_reached=on_reached)
        finally:
            poller.close()
    if output_dir is not None:
        result["outputs"] = fetched
    return result
