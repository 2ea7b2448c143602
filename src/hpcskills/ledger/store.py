"""Reading and writing the ledger. Every write is one short IMMEDIATE transaction."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpcskills.core.processes import process_alive
from hpcskills.core.state import corrupt
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import db
from hpcskills.ledger.records import (
    INTENT,
    REJECTED,
    SUBMITTED,
    UNKNOWN_OUTCOME,
    Submission,
    require_job_id,
    utc_now,
)

LEDGER_FILE = "ledger.sqlite3"
DEFAULT_LEASE_SECONDS = 900.0
# columns a caller may set when recording a submission
FIELDS = (
    "site",
    "entry_node",
    "host",
    "port",
    "remote_user",
    "name",
    "spec_hash",
    "tag",
    "group_key",
)

_INSERT = (
    "INSERT INTO submissions (platform, idempotency_key, phase, created_at, updated_at, owner, "
    "claimed_at, details, site, entry_node, host, port, remote_user, name, spec_hash, tag, "
    "group_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RECLAIM = (
    "UPDATE submissions SET phase = ?, owner = ?, claimed_at = ?, updated_at = ?, details = ?, "
    "site = COALESCE(?, site), entry_node = COALESCE(?, entry_node), host = COALESCE(?, host), "
    "port = COALESCE(?, port), remote_user = COALESCE(?, remote_user), "
    "name = COALESCE(?, name), spec_hash = COALESCE(?, spec_hash), tag = COALESCE(?, tag), "
    "group_key = COALESCE(?, group_key) WHERE id = ?"
)


def _json(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields.get("details") or {})


def this_owner() -> str:
    """`host:pid` of this process: who holds a submission while it is being sent."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool:
    """Whether the owning process still runs (owners on other machines count as alive)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    return process_alive(int(pid))


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming an idempotency key.

    `new`: nobody sent it yet, send it. `existing`: it was submitted, here is the job.
    `resume`: an earlier attempt may have reached the platform: look the job up first.
    `recheck`: it was submitted, and the caller asked to confirm the job on the platform.
    `busy`: another live process is sending it right now.
    """

    kind: str
    submission: Submission


@dataclass(frozen=True)
class Observation:
    """A state seen on the platform for one ledger record."""

    submission_id: int
    state: str
    raw_state: str | None
    source: str
    detail: Mapping[str, Any] | None = None


class Ledger:
    """The ledger of one workspace."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def _one(self, sql: str, args: Sequence[Any]) -> Submission | None:
        row = self.conn.execute(sql, args).fetchone()
        return Submission.from_row(row) if row else None

    def get(self, submission_id: int) -> Submission | None:
        return self._one("SELECT * FROM submissions WHERE id = ?", (submission_id,))

    def by_key(self, platform: str, key: str) -> Submission | None:
        return self._one(
            "SELECT * FROM submissions WHERE platform = ? AND idempotency_key = ?", (platform, key)
        )

    def select(
        self,
        *,
        ids: Sequence[int] = (),
        platforms: Sequence[str] = (),
        sites: Sequence[str] = (),
        job_ids: Sequence[str] = (),
        group_key: str | None = None,
        since: str | None = None,
        phases: Sequence[str] = (SUBMITTED,),
    ) -> list[Submission]:
        """Records matching every given filter (empty = any), oldest first."""
        where, args = [], []
        for column, values in (
            ("id", ids),
            ("platform", platforms),
            ("site", sites),
            ("job_id", job_ids),
            ("phase", phases),
        ):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if group_key is not None:
            where.append("group_key = ?")
            args.append(group_key)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        sql = "SELECT * FROM submissions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [Submission.from_row(row) for row in rows]

    def history(self, submission_id: int) -> list[dict[str, Any]]:
        """The states seen for one record, oldest first."""
        rows = self.conn.execute(
            "SELECT state, raw_state, observed_at, source FROM state_history "
            "WHERE submission_id = ? ORDER BY id",
            (submission_id,),
        ).fetchall()
        return [dict(row) for row in rows]

    # -- submitting ------------------------------------------------------------------------

    def claim(
        self,
        platform: str,
        key: str,
        fields: Mapping[str, Any],
        *,
        aliases: Sequence[str] = (),
        recheck: bool = False,
        owner: str | None = None,
        now: float,
        lease: float = DEFAULT_LEASE_SECONDS,
        alive: Callable[[str], bool] = owner_alive,
    ) -> Claim:
        """Record the intent to submit under `key` before the platform is asked (see Claim).

        A record stored under one of `aliases` (the key an older release derived for the
        same input) is that submission: it keeps its key, name and tag. With `recheck`, a
        submitted record is claimed too (kind `recheck`): the platform decides whether its
        job still stands for the key."""
        owner = owner or this_owner()
        unknown = set(fields) - set(FIELDS) - {"details"}
        if unknown:
            raise ValueError(f"not ledger fields: {sorted(unknown)}")
        stamp = utc_now()
        values = [fields.get(k) for k in FIELDS]
        with db.transaction(self.conn):
            found = self.by_key(platform, key)
            for alias in aliases:
                found = found or self.by_key(platform, alias)
            if found is None:
                cursor = self.conn.execute(
                    _INSERT,
                    (platform, key, INTENT, stamp, stamp, owner, now, _json(fields), *values),
                )
                created = self.get(int(cursor.lastrowid or 0))
                assert created is not None
                return Claim("new", created)
            if found.phase == SUBMITTED and not recheck:
                return Claim("existing", found)
            held = (
                found.owner not in (None, owner)
                and found.claimed_at is not None
                and now - found.claimed_at < lease
                and alive(found.owner or "")
            )
            if found.phase != REJECTED and held:
                return Claim("busy", found)
            kind = {REJECTED: "new", SUBMITTED: "recheck"}.get(found.phase, "resume")
            phase = INTENT if kind == "new" else found.phase
            if found.idempotency_key != key:  # an alias: its name and tag are on the platform
                values = [None if k in ("name", "tag") else fields.get(k) for k in FIELDS]
            details = json.dumps({**found.details, **(fields.get("details") or {})})
            self.conn.execute(_RECLAIM, (phase, owner, now, stamp, details, *values, found.id))
            claimed = self.get(found.id)
            assert claimed is not None
            return Claim(kind, claimed)

    def release(self, submission_id: int, error: str | None = None) -> Submission:
        """Give up a claim without changing what is known (a recheck that sent nothing new)."""
        with db.transaction(self.conn):
            self.conn.execute(
                "UPDATE submissions SET owner = NULL, claimed_at = NULL, "
                "last_error = COALESCE(?, last_error), updated_at = ? WHERE id = ?",
                (error[:1000] if error else None, utc_now(), submission_id),
            )
        released = self.get(submission_id)
        assert released is not None
        return released

    def mark_submitted(
        self, submission_id: int, job_id: str, details: Mapping[str, Any] | None = None
    ) -> Submission:
        """The platform accepted it: record the job id (and release the claim). A different
        job id than before (the key was run again) drops the old job's observed state; the
        old id is kept in `details.previous_job_ids`. Refuses a missing id (MissingJobId)."""
        job_id = require_job_id(job_id)
        stamp = utc_now()
        with db.transaction(self.conn):
            current = self.get(submission_id)
            assert current is not None
            merged = {**current.details, **(details or {})}
            if current.job_id not in (None, job_id):
                merged["previous_job_ids"] = [*merged.get("previous_job_ids", []), current.job_id]
                self.conn.execute(
                    "UPDATE submissions SET state = NULL, raw_state = NULL, observed = NULL, "
                    "state_changed_at = NULL, checked_at = NULL WHERE id = ?",
                    (submission_id,),
                )
            self.conn.execute(
                "UPDATE submissions SET phase = ?, job_id = ?, submitted_at = ?, updated_at = ?, "
                "owner = NULL, claimed_at = NULL, last_error = NULL, details = ? WHERE id = ?",
                (SUBMITTED, job_id, stamp, stamp, json.dumps(merged), submission_id),
            )
        done = self.get(submission_id)
        assert done is not None
        return done

    def add_details(self, submission_id: int, details: Mapping[str, Any]) -> None:
        """Merge `details` into a record's details while it is being sent (e.g. the id of a
        job created but not yet submitted, so a killed run's rerun can clean it up)."""
        with db.transaction(self.conn):
            current = self.get(submission_id)
            assert current is not None
            self.conn.execute(
                "UPDATE submissions SET details = ?, updated_at = ? WHERE id = ?",
                (json.dumps({**current.details, **details}), utc_now(), submission_id),
            )

    def mark_failed_attempt(self, submission_id: int, phase: str, error: str) -> None:
        """The attempt was refused (`rejected`) or its outcome lost (`unknown`)."""
        if phase not in (REJECTED, UNKNOWN_OUTCOME):
            raise ValueError(f"not a failed-attempt phase: {phase}")
        with db.transaction(self.conn):
            self.conn.execute(
                "UPDATE submissions SET phase = ?, last_error = ?, updated_at = ?, owner = NULL, "
                "claimed_at = NULL WHERE id = ?",
                (phase, error[:1000], utc_now(), submission_id),
            )

    # -- observing -------------------------------------------------------------------------

    def record_observations(self, observations: Iterable[Observation]) -> list[int]:
        """Store what the platform said, in one transaction; the ids whose state changed."""
        stamp = utc_now()
        changed = []
        with db.transaction(self.conn):
            for seen in observations:
                row = self.conn.execute(
                    "SELECT state FROM submissions WHERE id = ?", (seen.submission_id,)
                ).fetchone()
                if row is None:
                    continue
                detail = json.dumps(dict(seen.detail)) if seen.detail is not None else None
                if row["state"] != seen.state:
                    changed.append(seen.submission_id)
                    self.conn.execute(
                        "INSERT INTO state_history (submission_id, state, raw_state, "
                        "observed_at, source) VALUES (?, ?, ?, ?, ?)",
                        (seen.submission_id, seen.state, seen.raw_state, stamp, seen.source),
                    )
                    self.conn.execute(
                        "UPDATE submissions SET state_changed_at = ? WHERE id = ?",
                        (stamp, seen.submission_id),
                    )
                self.conn.execute(
                    "UPDATE submissions SET state = ?, raw_state = ?, checked_at = ?, "
                    "observed = COALESCE(?, observed) WHERE id = ?",
                    (seen.state, seen.raw_state, stamp, detail, seen.submission_id),
                )
        return changed

    # -- groups (a DPDispatcher submission and its jobs) -----------------------------------

    def group(self, group_key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM groups WHERE group_key = ?", (group_key,)).fetchone()
        if row is None:
            return None
        return {**dict(row), "details": json.loads(row["details"])}

    def save_group(self, group_key: str, kind: str, details: Mapping[str, Any]) -> None:
        """Create the group, or merge `details` into it."""
        stamp = utc_now()
        with db.transaction(self.conn):
            current = self.group(group_key)
            merged = {**(current["details"] if current else {}), **details}
            self.conn.execute(
                "INSERT INTO groups (group_key, kind, created_at, updated_at, details) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_key) DO UPDATE SET "
                "updated_at = excluded.updated_at, details = excluded.details",
                (group_key, kind, stamp, stamp, json.dumps(merged)),
            )

    # -- exports (what was sent where) -----------------------------------------------------

    def export_marks(self, target: str) -> dict[str, str]:
        """record key → fingerprint of what was last sent to `target`."""
        rows = self.conn.execute(
            "SELECT record_key, fingerprint FROM export_marks WHERE target = ?", (target,)
        ).fetchall()
        return {row["record_key"]: row["fingerprint"] for row in rows}

    def mark_exported(self, target: str, sent: Mapping[str, str]) -> None:
        """Remember the fingerprints just sent to `target`."""
        stamp = utc_now()
        with db.transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO export_marks (target, record_key, fingerprint, sent_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (target, record_key) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, sent_at = excluded.sent_at",
                [(target, key, fingerprint, stamp) for key, fingerprint in sent.items()],
            )


def open_ledger(workspace: Workspace) -> Ledger:
    """The workspace's ledger (0600), created and migrated on first use; a damaged one is
    a `state_corrupt` error (exit 5) naming the file."""
    path = workspace.ensure_state_dir() / LEDGER_FILE
    try:
        conn = db.connect(path)
        db.migrate(conn)
    except (IsADirectoryError, PermissionError) as exc:
        raise corrupt(path, f"cannot be opened ({exc.__class__.__name__})") from None
    except sqlite3.DatabaseError as exc:
        if not db.is_damage(exc):
            raise
        raise corrupt(path, f"is not a ledger SQLite can read ({exc})") from None
    return Ledger(conn)
