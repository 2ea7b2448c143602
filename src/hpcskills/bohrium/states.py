"""Bohrium job status codes (-1…9) mapped onto the pack's normalized job states."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# code: (platform label, normalized state)
STATUS_CODES: dict[int, tuple[str, str]] = {
    -1: ("failed", "FAILED"),
    0: ("pending", "PENDING"),
    1: ("running", "RUNNING"),
    2: ("finished", "COMPLETED"),
    3: ("scheduling", "PENDING"),
    4: ("stopping", "RUNNING"),
    5: ("stopped", "CANCELLED"),
    6: ("terminating", "RUNNING"),
    7: ("killing", "RUNNING"),
    8: ("uploading", "PENDING"),
    9: ("waiting", "PENDING"),
}
FAILING = frozenset({"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL"})
TERMINAL = FAILING | {"COMPLETED", "CANCELLED", "PREEMPTED", "DEADLINE"}
ACTIVE_CODES = frozenset({0, 1, 3, 8, 9})
TRANSITIONAL_CODES = frozenset({4, 6, 7})

_FAILURE_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"out of memory|\boom\b|oom-?kill|memory limit", re.I), "OUT_OF_MEMORY"),
    (re.compile(r"max(imum)?[ _]?run[ _]?time|time ?limit|timed? ?out|timeout", re.I), "TIMEOUT"),
    (
        re.compile(r"image pull|pull image|ErrImagePull|container (failed to )?start", re.I),
        "BOOT_FAIL",
    ),
    (
        re.compile(r"machine (was )?reclaim|node (failure|lost|down)|physical machine", re.I),
        "NODE_FAIL",
    ),
)


@dataclass(frozen=True)
class JobState:
    """The normalized state with both raw codes kept."""

    state: str
    status: int | None
    web_status: int | None
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "status": self.status,
            "web_status": self.web_status,
            "status_label": self.label,
        }


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def state_of_code(code: int | None) -> tuple[str, str]:
    """(label, normalized state) of one status code; unknown codes are UNKNOWN."""
    if code is None:
        return "unknown", "UNKNOWN"
    return STATUS_CODES.get(code, (f"unknown({code})", "UNKNOWN"))


def failure_cause(error_info: str | None) -> str:
    """FAILED refined by the platform's error text (timeout, OOM, boot, node)."""
    for pattern, state in _FAILURE_CAUSES:
        if pattern.search(error_info or ""):
            return state
    return "FAILED"


def normalize(status: Any, web_status: Any = None, error_info: str | None = None) -> JobState:
    """The state of a job from `status` and `webStatus`, preferring the failing one.

    The two codes can disagree (a failed job seen with status 0 and webStatus -1); when either
    says failed, the job is failed. Otherwise `status` wins, and `webStatus` fills in when
    `status` is missing or unknown.
    """
    code, web = _code(status), _code(web_status)
    label, state = state_of_code(code)
    web_label, web_state = state_of_code(web)
    web_fails = web_state in FAILING and state not in FAILING
    if web_fails or (state == "UNKNOWN" and web_state != "UNKNOWN"):
        label, state = web_label, web_state
    if state == "FAILED":
        state = failure_cause(error_info)
    return JobState(state=state, status=code, web_status=web, label=label)


def job_state(job: dict[str, Any]) -> JobState:
    """`normalize` applied to a job object of the API."""
    error = job.get("errorInfo")
    return normalize(
        job.get("status"), job.get("webStatus"), error if isinstance(error, str) else None
    )
