"""Status codes -1…9 → normalized states, both codes kept, the failing one preferred."""

from __future__ import annotations

import pytest

from hpcskills.bohrium.states import job_state, normalize

VOCABULARY = {
    "PENDING",
    "RUNNING",
    "SUSPENDED",
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "UNKNOWN",
}


@pytest.mark.parametrize(
    ("code", "state", "label"),
    [
        (-1, "FAILED", "failed"),
        (0, "PENDING", "pending"),
        (1, "RUNNING", "running"),
        (2, "COMPLETED", "finished"),
        (3, "PENDING", "scheduling"),
        (4, "RUNNING", "stopping"),
        (5, "CANCELLED", "stopped"),
        (6, "RUNNING", "terminating"),
        (7, "RUNNING", "killing"),
        (8, "PENDING", "uploading"),
        (9, "PENDING", "waiting"),
    ],
)
def test_every_code(code: int, state: str, label: str) -> None:
    result = normalize(code, code)
    assert (result.state, result.label, result.status, result.web_status) == (
        state,
        label,
        code,
        code,
    )
    assert result.state in VOCABULARY


def test_failing_code_wins_when_they_disagree() -> None:
    assert normalize(0, -1).state == "FAILED"
    assert normalize(-1, 1).state == "FAILED"
    assert normalize(0, -1).to_dict() == {
        "state": "FAILED",
        "status": 0,
        "web_status": -1,
        "status_label": "failed",
    }


def test_unknown_codes_never_crash() -> None:
    assert normalize(42).state == "UNKNOWN"
    assert normalize(None, None).state == "UNKNOWN"
    assert normalize("x", 2).state == "COMPLETED"  # the other code fills in
    assert normalize("1").state == "RUNNING"
    assert normalize(True).state == "UNKNOWN"


@pytest.mark.parametrize(
    ("error", "state"),
    [
        ("Out of memory: killed process 12", "OUT_OF_MEMORY"),
        ("job exceeded max run time", "TIMEOUT"),
        ("ErrImagePull: not found", "BOOT_FAIL"),
        ("machine was reclaimed", "NODE_FAIL"),
        ("exit code 1", "FAILED"),
        (None, "FAILED"),
    ],
)
def test_failures_are_refined_by_the_error_text(error: str | None, state: str) -> None:
    assert job_state({"status": -1, "webStatus": -1, "errorInfo": error}).state == state
