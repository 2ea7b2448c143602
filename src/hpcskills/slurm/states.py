"""The normalized job-state vocabulary and the mapping of every Slurm state onto it.

The vocabulary is the PERSEUS set (Slurm's base states) shared by every platform of the
pack. States are plain strings so they serialize to JSON as they are.

Slurm states outside the base set map as follows:

- CONFIGURING (CF), COMPLETING (CG), RESIZING (RS), SIGNALING (SI), STAGE_OUT (SO) →
  RUNNING: the job holds its allocation and has not finished being torn down.
- REQUEUED (RQ), REQUEUE_HOLD (RH), REQUEUE_FED (RF), RESV_DEL_HOLD (RD) → PENDING: the
  job is back in (or held in) the queue and will run again once released.
- STOPPED (ST) → SUSPENDED: stopped by a signal, resources kept.
- SPECIAL_EXIT (SE) → FAILED: the job ended with the site's "special" exit value and is
  held for the user to look at.
- REVOKED (RV) → CANCELLED: federation only; this cluster's copy was withdrawn because a
  sibling cluster started the job.

Anything unrecognised is UNKNOWN, which is neither active nor terminal: a poller keeps the
last known state and asks again rather than concluding anything.
"""

from __future__ import annotations

PENDING = "PENDING"
RUNNING = "RUNNING"
SUSPENDED = "SUSPENDED"
COMPLETED = "COMPLETED"
CANCELLED = "CANCELLED"
FAILED = "FAILED"
TIMEOUT = "TIMEOUT"
OUT_OF_MEMORY = "OUT_OF_MEMORY"
NODE_FAIL = "NODE_FAIL"
PREEMPTED = "PREEMPTED"
BOOT_FAIL = "BOOT_FAIL"
DEADLINE = "DEADLINE"
UNKNOWN = "UNKNOWN"

STATES: tuple[str, ...] = (
    PENDING,
    RUNNING,
    SUSPENDED,
    COMPLETED,
    CANCELLED,
    FAILED,
    TIMEOUT,
    OUT_OF_MEMORY,
    NODE_FAIL,
    PREEMPTED,
    BOOT_FAIL,
    DEADLINE,
    UNKNOWN,
)
ACTIVE_STATES = frozenset({PENDING, RUNNING, SUSPENDED})
TERMINAL_STATES = frozenset(
    {
        COMPLETED,
        CANCELLED,
        FAILED,
        TIMEOUT,
        OUT_OF_MEMORY,
        NODE_FAIL,
        PREEMPTED,
        BOOT_FAIL,
        DEADLINE,
    }
)

# Slurm long name → normalized state.
_LONG = {
    "BOOT_FAIL": BOOT_FAIL,
    "CANCELLED": CANCELLED,
    "COMPLETED": COMPLETED,
    "CONFIGURING": RUNNING,
    "COMPLETING": RUNNING,
    "DEADLINE": DEADLINE,
    "FAILED": FAILED,
    "NODE_FAIL": NODE_FAIL,
    "OUT_OF_MEMORY": OUT_OF_MEMORY,
    "PENDING": PENDING,
    "PREEMPTED": PREEMPTED,
    "RUNNING": RUNNING,
    "RESV_DEL_HOLD": PENDING,
    "REQUEUE_FED": PENDING,
    "REQUEUE_HOLD": PENDING,
    "REQUEUED": PENDING,
    "RESIZING": RUNNING,
    "REVOKED": CANCELLED,
    "SIGNALING": RUNNING,
    "SPECIAL_EXIT": FAILED,
    "STAGE_OUT": RUNNING,
    "STOPPED": SUSPENDED,
    "SUSPENDED": SUSPENDED,
    "TIMEOUT": TIMEOUT,
}
# squeue's compact codes (%t) → long name.
_SHORT = {
    "BF": "BOOT_FAIL",
    "CA": "CANCELLED",
    "CD": "COMPLETED",
    "CF": "CONFIGURING",
    "CG": "COMPLETING",
    "DL": "DEADLINE",
    "F": "FAILED",
    "NF": "NODE_FAIL",
    "OOM": "OUT_OF_MEMORY",
    "PD": "PENDING",
    "PR": "PREEMPTED",
    "R": "RUNNING",
    "RD": "RESV_DEL_HOLD",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RQ": "REQUEUED",
    "RS": "RESIZING",
    "RV": "REVOKED",
    "SI": "SIGNALING",
    "SE": "SPECIAL_EXIT",
    "SO": "STAGE_OUT",
    "ST": "STOPPED",
    "S": "SUSPENDED",
    "TO": "TIMEOUT",
}


def normalize(raw: str) -> str:
    """The normalized state of a raw Slurm state, long (`RUNNING`) or short (`R`).

    Tolerates case, surrounding whitespace, sacct's `CANCELLED by 1000` and the `+` that
    marks a truncated column (`CANCELLED+`, `OUT_OF_ME+`: a unique prefix is enough).
    Anything else is UNKNOWN.
    """
    words = raw.strip().upper().split()
    if not words:
        return UNKNOWN
    word = words[0]
    truncated = word.endswith("+")
    word = word.rstrip("+")
    if not word:
        return UNKNOWN
    if word in _LONG:
        return _LONG[word]
    if word in _SHORT:
        return _LONG[_SHORT[word]]
    if truncated:
        matches = {state for name, state in _LONG.items() if name.startswith(word)}
        if len(matches) == 1:
            return matches.pop()
    return UNKNOWN


def is_active(state: str) -> bool:
    """True for PENDING, RUNNING and SUSPENDED: the job may still run or is running."""
    return state in ACTIVE_STATES


def is_terminal(state: str) -> bool:
    """True when the job has ended for good (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...)."""
    return state in TERMINAL_STATES
