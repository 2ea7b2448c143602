"""The cross-platform job engine with a fake status source: one call per group per poll,
failed polls change nothing, adaptive waits, state aggregation and listing filters."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from fakeslurm import LocalShell

from hpcskills.core.errors import BadInput, NotFound, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.jobs import listing
from hpcskills.jobs import watch as w
from hpcskills.jobs.aggregate import combined_state
from hpcskills.jobs.slurm_status import query_host
from hpcskills.jobs.source import SourceAnswer
from hpcskills.ledger.store import Observation, open_ledger
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.commands import FIELD_SEP, SQUEUE_FIELDS


class FakeSource:
    """States scripted per poll; `None` in the script = the poll fails."""

    def __init__(self, script):
        self.script, self.calls = list(script), 0

    def poll(self, members):
        self.calls += 1
        step = self.script.pop(0) if self.script else self.last
        self.last = step
        if step is None:
            raise RemoteError("socket timed out", type="slurm_error", retryable=True)
        return SourceAnswer(
            observations=[Observation(m.id, step, step, "fake") for m in members],
            commands=["squeue"],
        )


@pytest.fixture
def ledger(tmp_path: Path):
    with open_ledger(Workspace(tmp_path / "ws")) as opened:
        for n in range(3):
            claim = opened.claim(
                "slurm",
                f"k{n}",
                {"site": "s", "host": "h", "port": 22, "remote_user": "u"},
                now=0.0,
            )
            opened.mark_submitted(claim.submission.id, str(100 + n))
        yield opened


def poller_with(ledger, tmp_path, source):
    return w.Poller(Workspace(tmp_path / "ws"), ledger, sources=lambda _p, _r: source)


def test_failed_poll_changes_no_state_and_is_counted(ledger, tmp_path) -> None:
    source = FakeSource(["PENDING", None, "RUNNING", "COMPLETED"])
    poller = poller_with(ledger, tmp_path, source)
    lines, sleeps, clock = [], [], [0.0]

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    def report(line):
        lines.append(line)
        if line.startswith("poll 2:"):
            assert {r.state for r in ledger.select()} == {"PENDING"}

    result = w.watch(
        ledger,
        poller,
        ledger.select(),
        w.WatchPlan(),
        report=report,
        sleep=sleep,
        clock=lambda: clock[0],
    )
    assert result["complete"] and result["polls"] == 4 and source.calls == 4
    assert result["poll_failures"] == {"slurm:u@h:22": 1}
    assert any("failed (retry 1)" in line for line in lines)
    assert [h["state"] for h in ledger.history(1)] == ["PENDING", "RUNNING", "COMPLETED"]
    assert sleeps == [2.0, 4.0, 2.0]  # 2 s, doubled after no change, back to 2 s on change
    seen = result["jobs"][0]["seen_after_seconds"]
    assert seen == {"PENDING": 0.0, "RUNNING": 6.0, "COMPLETED": 8.0}


def test_until_running_and_timeout(ledger, tmp_path) -> None:
    poller = poller_with(ledger, tmp_path, FakeSource(["RUNNING"]))
    result = w.watch(
        ledger, poller, ledger.select(), w.WatchPlan(until="running"), sleep=lambda s: None
    )
    assert result["complete"] and result["polls"] == 1
    clock = [0.0]
    poller = poller_with(ledger, tmp_path, FakeSource(["RUNNING"]))

    def sleep(seconds):
        clock[0] += seconds

    result = w.watch(
        ledger,
        poller,
        ledger.select(),
        w.WatchPlan(timeout=10, max_interval=8),
        sleep=sleep,
        clock=lambda: clock[0],
    )
    assert result["timed_out"] and not result["complete"] and clock[0] == 10


def test_waits_and_reach() -> None:
    waits, wait = [], None
    for changed in (False, False, False, False, False, True, False):
        wait = w.next_wait(wait, changed, 2, 10)
        waits.append(wait)
    assert waits == [2, 4, 8, 10, 10, 2, 4]
    assert w.reached("COMPLETED", "running") and w.reached("RUNNING", "running")
    assert not w.reached("RUNNING", "done") and not w.reached(None, "done")
    with pytest.raises(BadInput):
        w.WatchPlan(until="later")
    for timeout, max_interval in ((float("nan"), 60), (600, float("nan")), (float("inf"), 60),
                                  (-5, 60), (600, float("inf"))):
        with pytest.raises(BadInput):
            w.WatchPlan(timeout=timeout, max_interval=max_interval)


def test_target_selection(ledger) -> None:
    assert len(w.select_targets(ledger, [], all_active=True)) == 3
    assert [r.job_id for r in w.select_targets(ledger, ["101"], False)] == ["101"]
    with pytest.raises(NotFound):
        w.select_targets(ledger, ["999"], False)
    with pytest.raises(BadInput):
        w.select_targets(ledger, ["101"], True)
    claim = ledger.claim("slurm", "other", {"site": "t"}, now=0.0)
    ledger.mark_submitted(claim.submission.id, "101")
    with pytest.raises(BadInput) as raised:
        w.select_targets(ledger, ["101"], False)
    assert raised.value.details["sites"] == ["s", "t"]
    assert len(w.select_targets(ledger, ["101"], False, sites=["t"])) == 1


def test_a_watch_without_a_selection_does_not_create_the_ledger(tmp_path: Path) -> None:
    """Found by the bad-input fuzz test: exit 2 left a new ledger in a fresh workspace."""
    workspace = Workspace(tmp_path / "ws")
    for job_ids, all_active in (((), False), (("101",), True)):
        with pytest.raises(BadInput):
            w.watch_jobs(workspace, job_ids, all_active=all_active, plan=w.WatchPlan())
    assert not workspace.root.exists()


def test_combined_states() -> None:
    assert combined_state(["COMPLETED", "RUNNING", "PENDING"]) == "RUNNING"
    assert combined_state(["COMPLETED", "PENDING"]) == "PENDING"
    assert combined_state(["COMPLETED", "COMPLETED"]) == "COMPLETED"
    assert combined_state(["COMPLETED", "FAILED", "CANCELLED"]) == "FAILED"
    assert combined_state(["COMPLETED", "UNKNOWN"]) == "UNKNOWN"
    assert combined_state([]) == "UNKNOWN"


def squeue_line(job_id: str, state: str, name: str = "n") -> str:
    values = {
        "job_id": job_id,
        "raw_state": state,
        "state_code": "",
        "name": name,
        "partition": "cpu",
        "user": "u",
    }
    return FIELD_SEP.join(values.get(field, "") for field, _ in SQUEUE_FIELDS)


def test_query_host_one_exec_squeue_then_sacct_for_the_rest(tmp_path) -> None:
    shell = LocalShell(tmp_path)
    lines = [
        squeue_line("7_1", "RUNNING"),
        squeue_line("7_[2-3]", "PENDING"),
        squeue_line("8", "PENDING"),
    ]
    shell.answer("squeue", "\n".join(lines) + "\n")
    shell.answer("sacct")

    found = query_host(SlurmClient(shell), ["7", "8", "9"])
    assert len(shell.execs) == 1  # squeue and sacct in ONE remote exec
    assert "--jobs=7,8,9" in shell.calls("squeue")[0].split()
    assert shell.calls("sacct")[0].split()[-1] == "--jobs=9"  # only the id squeue lost
    assert found.jobs["7"].state == "RUNNING"
    assert found.jobs["7"].detail["array_tasks"] == {"RUNNING": 1, "PENDING": 1}
    assert found.missing == ["9"] and found.commands == ["squeue", "sacct"]


def test_query_host_skips_sacct_when_squeue_knows_every_id(tmp_path) -> None:
    shell = LocalShell(tmp_path)
    shell.answer("squeue", squeue_line("8", "PENDING") + "\n" + squeue_line("77", "RUNNING"))
    shell.answer("sacct")
    found = query_host(SlurmClient(shell), ["8", "77"])
    assert len(shell.execs) == 1 and shell.calls("sacct") == []
    assert found.commands == ["squeue"] and found.missing == []
    assert {j: s.state for j, s in found.jobs.items()} == {"8": "PENDING", "77": "RUNNING"}


def test_query_host_without_accounting_notes_it(tmp_path) -> None:
    shell = LocalShell(tmp_path)
    shell.answer("squeue", "", "slurm_load_jobs error: Invalid job id specified\n", 1)
    shell.answer("sacct", "", "Slurm accounting storage is disabled\n", 1)
    found = query_host(SlurmClient(shell), ["5"])
    assert found.missing == ["5"] and found.commands == ["squeue", "sacct"]
    assert "no job accounting" in found.notes[0] and "keep their last state" in found.notes[0]


def test_listing_filters() -> None:
    now = datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert listing.since_cutoff("1d", now) == "2024-05-01T00:00:00+00:00"
    assert listing.since_cutoff("2024-05-01", now) == "2024-05-01T00:00:00+00:00"
    with pytest.raises(BadInput):
        listing.since_cutoff("yesterday", now)
    assert listing.check_states(["running"]) == ["RUNNING"]
    with pytest.raises(BadInput):
        listing.check_states(["DONE"])
