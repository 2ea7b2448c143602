"""Submit at most once per idempotency key: intent first, look up before any resend.

1. The intent is recorded in the ledger before the platform is asked.
2. A key already submitted returns that job (no second submission).
3. A key whose earlier attempt ended without an answer (timeout, dropped connection, crash)
   is first looked up on the platform by its tag; only if no job carries the tag is it sent.
4. A definite refusal by the platform frees the key for a fresh attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpcskills.core.errors import BadInput, HpcError, RemoteError
from hpcskills.ledger.records import REJECTED, UNKNOWN_OUTCOME, Submission
from hpcskills.ledger.store import Ledger


@dataclass(frozen=True)
class Sent:
    """What the platform answered: the job id, and details worth keeping."""

    job_id: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How the key was served: `submitted` now, `existing` in the ledger, or `found` on the
    platform after an earlier attempt lost its answer."""

    how: str
    submission: Submission
    sent: Sent | None = None

    @property
    def reused(self) -> bool:
        return self.how != "submitted"


def default_failure_phase(exc: HpcError) -> str:
    """REJECTED when nothing can have been created, else UNKNOWN_OUTCOME."""
    if isinstance(exc, BadInput) or exc.type == "submit_rejected":
        return REJECTED
    return UNKNOWN_OUTCOME


def submit_once(
    ledger: Ledger,
    platform: str,
    key: str,
    fields: dict[str, Any],
    *,
    send: Callable[[Submission], Sent],
    lookup: Callable[[Submission], Sent | None],
    failure_phase: Callable[[HpcError], str] = default_failure_phase,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """Serve one submission under `key` (see the module docstring)."""
    claim = ledger.claim(platform, key, fields, now=clock())
    record = claim.submission
    if claim.kind == "existing":
        return Outcome("existing", record)
    if claim.kind == "busy":
        raise RemoteError(
            "another run is submitting this job right now",
            type="submission_in_progress",
            retryable=True,
            hint="wait a little and run the same command again; it returns that job",
            ledger_id=record.id,
        )
    if claim.kind == "resume":
        try:
            found = lookup(record)
        except BaseException as exc:
            ledger.mark_failed_attempt(record.id, UNKNOWN_OUTCOME, f"lookup failed: {exc}")
            raise
        if found is not None:
            return Outcome("found", ledger.mark_submitted(record.id, found.job_id, found.details))
    try:
        sent = send(record)
    except HpcError as exc:
        phase = failure_phase(exc)
        ledger.mark_failed_attempt(record.id, phase, exc.message)
        if phase == UNKNOWN_OUTCOME:
            exc.hint = (
                "the platform may have accepted the job: run the same command again (same "
                "idempotency key); it looks for the job before submitting"
            )
            exc.retryable = True
            exc.details["outcome"] = "unknown"
        raise
    except BaseException as exc:  # interrupted mid-send: the job may exist
        ledger.mark_failed_attempt(record.id, UNKNOWN_OUTCOME, f"interrupted: {exc!r}")
        raise
    return Outcome("submitted", ledger.mark_submitted(record.id, sent.job_id, sent.details), sent)
