"""The SQLite connection and the schema migrations.

Every migration is a list of statements applied once, in order, in one IMMEDIATE
transaction that also bumps `schema_version`; concurrent first opens serialize on it.
Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hpcskills.core.credstore import FILE_MODE, open_private
from hpcskills.core.state import StateError

BUSY_TIMEOUT_MS = 30_000

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: submissions and their observed states
    (
        """CREATE TABLE submissions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            site TEXT NOT NULL,
            entry_node TEXT,
            host TEXT,
            port INTEGER,
            remote_user TEXT,
            job_id TEXT,
            name TEXT,
            spec_hash TEXT,
            idempotency_key TEXT NOT NULL,
            tag TEXT,
            phase TEXT NOT NULL,
            state TEXT,
            raw_state TEXT,
            state_changed_at TEXT,
            checked_at TEXT,
            submitted_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            owner TEXT,
            claimed_at REAL,
            last_error TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            UNIQUE (platform, idempotency_key)
        )""",
        "CREATE INDEX submissions_job ON submissions (platform, site, job_id)",
        "CREATE INDEX submissions_state ON submissions (state)",
        """CREATE TABLE state_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            raw_state TEXT,
            observed_at TEXT NOT NULL,
            source TEXT
        )""",
        "CREATE INDEX state_history_submission ON state_history (submission_id)",
    ),
    # 2: latest observation, groups (DPDispatcher submissions), PERSEUS export memory
    (
        "ALTER TABLE submissions ADD COLUMN observed TEXT",
        "ALTER TABLE submissions ADD COLUMN group_key TEXT",
        "CREATE INDEX submissions_group ON submissions (group_key)",
        """CREATE TABLE groups (
            group_key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE export_marks (
            target TEXT NOT NULL,
            record_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (target, record_key)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def make_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does (its -wal and -shm files take the
    database file's mode) and make an existing one and its companions 0600."""
    os.close(open_private(path))
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            companion.chmod(FILE_MODE)


_DAMAGE_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CANTOPEN}


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite refused the file itself (damaged, not a database, not openable), as
    opposed to a passing condition such as a lock held too long."""
    return getattr(exc, "sqlite_errorcode", None) in _DAMAGE_CODES or not isinstance(
        exc, sqlite3.OperationalError
    )


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL, a busy timeout and foreign keys on; the
    files are 0600."""
    make_private(path)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): writers queue instead of deadlocking."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def current_version(conn: sqlite3.Connection) -> int:
    """The applied schema version (0 for a new file)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations up to `target`; the resulting version."""
    with transaction(conn):
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the ledger has schema version {version}, newer than this pack's {SCHEMA_VERSION}",
                type="ledger_too_new",
                hint="upgrade the hpc-skills package",
            )
        for number in range(version + 1, target + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        return max(version, target)
