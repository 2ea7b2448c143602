"""The ledger under concurrent script runs: separate processes claiming the same keys and
recording observations at once. Exactly one process wins each key; nothing is lost."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

from hpcskills.core.errors import RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger.once import Sent, submit_once
from hpcskills.ledger.store import Observation, open_ledger

PROCESSES = 6
KEYS = 20


def _submit_when_free(ledger, number: int, k: int):
    """submit_once, waiting while another process holds the key (it says so, retryable)."""
    while True:
        try:
            return submit_once(
                ledger,
                "slurm",
                f"key-{k}",
                {"site": "s"},
                send=lambda _r: (time.sleep(0.005), Sent(f"{number}-{k}"))[1],
                lookup=lambda _r: None,
            )
        except RemoteError as exc:
            assert exc.type == "submission_in_progress"
            time.sleep(0.01)


def _worker(root: str, number: int, results: str) -> None:
    won = []
    with open_ledger(Workspace(Path(root))) as ledger:
        for k in range(KEYS):
            outcome = _submit_when_free(ledger, number, k)
            if outcome.how == "submitted":
                won.append(k)
            ledger.record_observations(
                [Observation(outcome.submission.id, "RUNNING", "R", f"p{number}")]
            )
    Path(results, f"{number}.json").write_text(json.dumps(won))


def test_concurrent_processes_submit_each_key_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with open_ledger(Workspace(root)):
        pass  # created once, so the workers race on claims, not on creation
    out = tmp_path / "out"
    out.mkdir()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(root), n, str(out))) for n in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    won = [k for n in range(PROCESSES) for k in json.loads((out / f"{n}.json").read_text())]
    with open_ledger(Workspace(root)) as ledger:
        records = ledger.select()
        assert len(records) == KEYS
        assert sorted(won) == list(range(KEYS))  # every key sent exactly once
        for record in records:
            # the job id is the winner's; every process recorded the state once at most
            assert record.state == "RUNNING"
            assert [h["state"] for h in ledger.history(record.id)] == ["RUNNING"]


def test_first_open_races_safely(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open, args=(str(root),)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0


def _open(root: str) -> None:
    with open_ledger(Workspace(Path(root))) as ledger:
        ledger.select()
