"""Submit at most once per idempotency key: intent first, look up before any resend. The one
submit path of every platform (Slurm, Bohrium, DPDispatcher).

1. The intent is recorded in the ledger before the platform is asked.
2. A key already submitted returns that job (no second submission).
3. A key whose earlier attempt ended without an answer (timeout, dropped connection, crash)
   is first looked up on the platform by its tag; only if no job carries the tag is it sent.
4. A definite refusal by the platform frees the key for a fresh attempt.
5. With `look_first` (Bohrium: one account is used from several machines, and a failed or
   cancelled job frees its key) the platform is asked before every send, and a key already
   submitted is confirmed there: a job it no longer counts is replaced by a new one, the old
   id kept in `details.previous_job_ids`.

A job id is recorded only when the platform gave one (MissingJobId otherwise), so a crash at
any point leaves either the job's id or an intent that the next run resolves by its tag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcskills.core.errors import BadInput, HpcError, RemoteError
from hpcskills.ledger.records import REJECTED, UNKNOWN_OUTCOME, Submission, require_job_id
from hpcskills.ledger.store import Claim, Ledger


@dataclass(frozen=True)
class Sent:
    """What the platform answered: the job id (never empty), and details worth keeping."""

    job_id: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "job_id", require_job_id(self.job_id))


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


def _unclaim(ledger: Ledger, claim: Claim, phase: str, error: str) -> None:
    """After a failed lookup or send: a rechecked record keeps its job (the next run asks
    the platform again anyway); any other records the failed attempt."""
    if claim.kind == "recheck":
        ledger.release(claim.submission.id, error)
    else:
        ledger.mark_failed_attempt(claim.submission.id, phase, error)


def submit_once(
    ledger: Ledger,
    platform: str,
    key: str,
    fields: dict[str, Any],
    *,
    send: Callable[[Submission], Sent],
    lookup: Callable[[Submission], Sent | None],
    aliases: Sequence[str] = (),
    look_first: bool = False,
    failure_phase: Callable[[HpcError], str] = default_failure_phase,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """Serve one submission under `key` (see the module docstring). `send` and `lookup`
    take the claimed record: its name and tag are the ones to use (an alias keeps its own)."""
    claim = ledger.claim(platform, key, fields, aliases=aliases, recheck=look_first, now=clock())
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
    if look_first or claim.kind == "resume":
        try:
            found = lookup(record)
        except BaseException as exc:  # nothing was sent by this run
            phase = REJECTED if claim.kind == "new" else UNKNOWN_OUTCOME
            _unclaim(ledger, claim, phase, f"lookup failed: {exc}")
            raise
        if found is not None and claim.kind == "recheck" and found.job_id == record.job_id:
            return Outcome("existing", ledger.release(record.id))
        if found is not None:
            return Outcome("found", ledger.mark_submitted(record.id, found.job_id, found.details))
    try:
        sent = send(record)
    except HpcError as exc:
        phase = failure_phase(exc)
        _unclaim(ledger, claim, phase, exc.message)
        if phase == UNKNOWN_OUTCOME:
            exc.hint = (
                "the platform may have accepted the job: run the same command again (same "
                "idempotency key); it looks for the job before submitting"
            )
            exc.retryable = True
            exc.details["outcome"] = "unknown"
        raise
    except BaseException as exc:  # interrupted mid-send: the job may exist
        _unclaim(ledger, claim, UNKNOWN_OUTCOME, f"interrupted: {exc!r}")
        raise
    return Outcome("submitted", ledger.mark_submitted(record.id, sent.job_id, sent.details), sent)
