"""The Slurm client against recorded outputs of real Slurm (tests/fixtures/slurm/, made by
scripts/record-slurm-corpus): every case is replayed through the client method that made
it, which must build exactly the recorded commands, and its typed answer (or error) must
equal the reviewed expected parse next to it. HPCSKILLS_UPDATE_CORPUS=1 rewrites those."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from hpcskills.core.errors import HpcError
from hpcskills.slurm import batch
from hpcskills.slurm.client import NO_ACCOUNTING, SlurmClient
from hpcskills.ssh.base import CommandResult

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "slurm"
CASES = sorted(p.stem for p in CORPUS.glob("*.json") if not p.stem.endswith(".expected"))
MARKER = re.compile(r"^m='?(hpcskills-[0-9a-f]+)'?$", re.M)
UPDATE = os.environ.get("HPCSKILLS_UPDATE_CORPUS") == "1"
UNICODE_NAME = "résumé run ✓ 2"  # as scripts/record_slurm_corpus.py submits it


def load(case: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{case}.json").read_text())


def plain(value: Any) -> Any:
    """JSON-ready form of a client answer: dataclasses, tuples, dicts, lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def replay(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The client's answer to the recorded outputs, checking it ran the recorded argv."""
    execs = list(case["execs"])
    markers = [m for e in execs for m in MARKER.findall(" ".join(e["argv"][2:3]))]
    monkeypatch.setattr(batch, "new_marker", lambda: markers.pop(0))

    def run(argv: list[str]) -> CommandResult:
        assert execs, f"the client ran one command more than recorded: {argv}"
        recorded = execs.pop(0)
        assert list(argv) == recorded["argv"]
        return CommandResult(
            tuple(argv), recorded["returncode"], recorded["stdout"], recorded["stderr"]
        )

    call = case["call"]
    try:
        answer = {"result": plain(getattr(SlurmClient(run, run), call["method"])(**call["kwargs"]))}
    except HpcError as exc:
        answer = {"error": {"class": type(exc).__name__, **exc.to_dict()}}
    assert not execs, "the client ran fewer commands than recorded"
    return answer


def expected(case: str) -> dict[str, Any]:
    return json.loads((CORPUS / f"{case}.expected.json").read_text())


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 20
    recorded = sum(len(load(case)["execs"]) for case in CASES)
    assert recorded >= 20
    assert {load(c)["call"]["method"] for c in CASES} >= {
        "queue",
        "accounting",
        "partitions",
        "details",
        "efficiency",
        "submit",
        "job_states",
        "queue_and_history",
    }


@pytest.mark.parametrize("case", CASES)
def test_recorded_output_parses_as_reviewed(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = replay(load(case), monkeypatch)
    path = CORPUS / f"{case}.expected.json"
    if UPDATE:
        path.write_text(json.dumps(answer, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert answer == json.loads(path.read_text())


def answer(case: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    replied = replay(load(case), monkeypatch)
    return replied.get("result", replied.get("error"))


def test_what_the_recorded_cases_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    got = lambda case: answer(case, monkeypatch)  # noqa: E731
    assert got("squeue_invalid_id") == []
    assert got("sacct_unknown_id") == {"note": None, "records": []}
    assert got("sacct_no_accounting") == {"note": NO_ACCOUNTING, "records": []}
    for case in ("squeue_controller_unreachable", "sacct_database_unreachable"):
        assert got(case)["retryable"] is True and got(case)["type"] == "slurm_error"
    for case in ("sbatch_invalid_partition", "sbatch_over_partition_limit"):
        assert got(case)["type"] == "submit_rejected" and got(case)["retryable"] is False
    assert got("sbatch_ok").isdigit()
    queued = {(j["name"], j["array_task_id"]): j for j in got("squeue_jobs")}
    assert queued[("corpus-held", None)]["reason"] == "JobHeldUser"
    assert queued[("corpus-later", None)]["reason"] == "BeginTime"
    assert queued[("corpus-array", "[3-4%2]")]["state"] == "PENDING"
    assert queued[(UNICODE_NAME, None)]["state"] == "RUNNING"
    assert {j["state"] for j in got("squeue_pending_only")} == {"PENDING"}
    assert {j["name"] for j in got("squeue_by_name")} == {UNICODE_NAME}
    finished = {r["name"]: r for r in got("sacct_finished")["records"]}
    assert finished["corpus-done"]["state"] == "COMPLETED"
    assert (finished["corpus-failed"]["state"], finished["corpus-failed"]["exit_code"]) == (
        "FAILED",
        3,
    )
    assert finished["corpus-cancelled"]["state"] == "CANCELLED"
    timed = got("sacct_timeout_and_array")["records"]
    assert {r["state"] for r in timed if r["name"] == "corpus-timeout"} == {"TIMEOUT"}
    assert sorted(r["array_task_id"] for r in timed if r["name"] == "corpus-array") == [
        "1",
        "2",
        "3",
        "4",
    ]
    unknown = got("details_unknown")
    assert [v for k, v in unknown["live"].items() if k == "99999999"] == [[]]
    assert got("details_no_accounting")["accounting"]["note"] == NO_ACCOUNTING
    assert got("job_states_all_queued")["commands"] == ["squeue"]
    assert got("job_states_mixed")["commands"] == ["squeue", "sacct"]
    assert got("job_states_no_accounting")["notes"] == [NO_ACCOUNTING]
    assert got("seff_unknown")["type"] == "not_found"
    assert got("seff_no_accounting")["accounting_available"] is False
    assert got("seff_completed")["accounting_available"] is True
