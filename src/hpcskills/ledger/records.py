"""The ledger's record of one submission, and time stamps (pure)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hpcskills.core.errors import RemoteError

# phase of a submission attempt
INTENT = "intent"  # recorded before the platform was asked
SUBMITTED = "submitted"  # the platform gave a job id
UNKNOWN_OUTCOME = "unknown"  # asked, but the answer was lost: look it up before resubmitting
REJECTED = "rejected"  # the platform refused it: nothing was created
PHASES = (INTENT, SUBMITTED, UNKNOWN_OUTCOME, REJECTED)


class MissingJobId(RemoteError):
    """The platform's answer carried no job id: the job may exist, its id is unknown."""

    def __init__(self, answer: str) -> None:
        super().__init__(
            f"the platform's answer carried no job id ({answer[:200]})",
            type="missing_job_id",
            retryable=True,
        )


def require_job_id(value: object) -> str:
    """A job id as the ledger stores it; MissingJobId for None, empty or 'None' (pure)."""
    text = "" if value is None else str(value).strip()
    if not text or text in ("None", "null"):
        raise MissingJobId(repr(value))
    return text


def utc_now() -> str:
    """Now, as an ISO UTC timestamp with seconds (`2024-05-01T10:00:00+00:00`)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_utc(text: str | None) -> datetime | None:
    """An ISO timestamp back to an aware datetime (naive ones read as UTC); None if unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class Submission:
    """One submission made through the pack: where, what, its job id and last known state."""

    id: int
    platform: str
    site: str
    idempotency_key: str
    phase: str
    created_at: str
    updated_at: str
    entry_node: str | None = None
    host: str | None = None
    port: int | None = None
    remote_user: str | None = None
    job_id: str | None = None
    name: str | None = None
    spec_hash: str | None = None
    tag: str | None = None
    state: str | None = None
    raw_state: str | None = None
    state_changed_at: str | None = None
    checked_at: str | None = None
    submitted_at: str | None = None
    owner: str | None = None
    claimed_at: float | None = None
    last_error: str | None = None
    group_key: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    observed: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Submission:
        values = dict(row)
        values["details"] = json.loads(values.get("details") or "{}")
        observed = values.get("observed")
        values["observed"] = json.loads(observed) if observed else None
        return cls(**values)

    @property
    def host_key(self) -> str:
        """Where this job's state is queried: `platform:user@host:port`, or the platform."""
        if self.host:
            return f"{self.platform}:{self.remote_user}@{self.host}:{self.port}"
        return f"{self.platform}:{self.site}"

    def to_dict(self) -> dict[str, Any]:
        """The record as scripts print it (ownership bookkeeping left out)."""
        return {
            "ledger_id": self.id,
            "platform": self.platform,
            "site": self.site,
            "entry_node": self.entry_node,
            "job_id": self.job_id,
            "name": self.name,
            "phase": self.phase,
            "state": self.state,
            "raw_state": self.raw_state,
            "state_changed_at": self.state_changed_at,
            "checked_at": self.checked_at,
            "submitted_at": self.submitted_at,
            "created_at": self.created_at,
            "idempotency_key": self.idempotency_key,
            "spec_hash": self.spec_hash,
            "group": self.group_key,
            "last_error": self.last_error,
            "details": self.details,
        }
