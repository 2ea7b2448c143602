"""The ledger: schema and migrations, claims, observations, export marks, submit_once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput, HpcError, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import db, keys
from hpcskills.ledger.once import Sent, submit_once
from hpcskills.ledger.records import REJECTED, SUBMITTED, UNKNOWN_OUTCOME
from hpcskills.ledger.store import LEDGER_FILE, Observation, open_ledger

FIELDS = {"site": "sjtu", "host": "127.0.0.1", "port": 2222, "remote_user": "u", "tag": "-hsx"}


@pytest.fixture
def ledger(tmp_path: Path):
    with open_ledger(Workspace(tmp_path / "ws")) as opened:
        yield opened


def test_new_ledger_is_wal_and_at_the_latest_version(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with open_ledger(ws) as ledger:
        assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.current_version(ledger.conn) == db.SCHEMA_VERSION
    assert (ws.state_dir / LEDGER_FILE).is_file()
    assert oct(ws.state_dir.stat().st_mode & 0o777) == "0o700"


def test_migration_from_version_1_keeps_records(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = db.connect(path)
    db.migrate(conn, target=1)
    conn.execute(
        "INSERT INTO submissions (platform, site, idempotency_key, phase, created_at, "
        "updated_at) VALUES ('slurm', 'sjtu', 'k1', 'submitted', 'x', 'x')"
    )
    assert db.migrate(conn) == db.SCHEMA_VERSION
    row = conn.execute("SELECT idempotency_key, observed, group_key FROM submissions").fetchone()
    assert tuple(row) == ("k1", None, None)
    assert db.migrate(conn) == db.SCHEMA_VERSION  # applying again is a no-op


def test_a_newer_ledger_is_refused(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "l.sqlite3")
    db.migrate(conn)
    conn.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(HpcError) as raised:
        db.migrate(conn)
    assert raised.value.type == "ledger_too_new"


def test_claim_lifecycle(ledger) -> None:
    first = ledger.claim("slurm", "key1", FIELDS, now=100.0)
    assert first.kind == "new" and first.submission.phase == "intent"
    # the owner is this process, still alive: another owner is told it is busy
    busy = ledger.claim("slurm", "key1", FIELDS, owner="elsewhere:1", now=101.0)
    assert busy.kind == "busy"
    # a dead owner's intent is resumed (look the job up before sending again)
    resumed = ledger.claim(
        "slurm", "key1", FIELDS, owner="elsewhere:1", now=102.0, alive=lambda _o: False
    )
    assert resumed.kind == "resume"
    ledger.mark_submitted(resumed.submission.id, "42", {"script_path": "/x"})
    again = ledger.claim("slurm", "key1", FIELDS, now=103.0)
    assert again.kind == "existing"
    assert again.submission.job_id == "42" and again.submission.details["script_path"] == "/x"
    # the same key on another platform is another submission
    assert ledger.claim("bohrium", "key1", {"site": "bohrium"}, now=104.0).kind == "new"


def test_a_new_job_under_the_same_key_replaces_the_old_one(ledger) -> None:
    record = ledger.claim("bohrium", "k", {"site": "bohrium"}, now=0.0).submission
    ledger.mark_submitted(record.id, "1")
    ledger.record_observations([Observation(record.id, "FAILED", "failed", "bohrium", {"x": 1})])
    assert ledger.mark_submitted(record.id, "1").state == "FAILED"  # same job: kept
    again = ledger.mark_submitted(record.id, "2")  # the platform ran the key again
    assert (again.job_id, again.state, again.observed) == ("2", None, None)
    assert again.details["previous_job_ids"] == ["1"]


def test_expired_lease_is_taken_over(ledger) -> None:
    ledger.claim("slurm", "k", FIELDS, owner="a:1", now=0.0)
    taken = ledger.claim("slurm", "k", FIELDS, owner="b:2", now=10_000.0, alive=lambda _o: True)
    assert taken.kind == "resume" and taken.submission.owner == "b:2"


def test_rejected_attempt_frees_the_key(ledger) -> None:
    claim = ledger.claim("slurm", "k", FIELDS, now=0.0)
    ledger.mark_failed_attempt(claim.submission.id, REJECTED, "sbatch: invalid partition")
    retry = ledger.claim("slurm", "k", FIELDS, owner="b:2", now=1.0)
    assert retry.kind == "new" and retry.submission.id == claim.submission.id


def test_unknown_fields_are_a_bug(ledger) -> None:
    with pytest.raises(ValueError):
        ledger.claim("slurm", "k", {"site": "s", "colour": "red"}, now=0.0)


def test_observations_keep_history_only_on_change(ledger) -> None:
    record = ledger.claim("slurm", "k", FIELDS, now=0.0).submission
    ledger.mark_submitted(record.id, "7")
    seen = [
        Observation(record.id, "PENDING", "PENDING", "squeue", {"reason": "Priority"}),
    ]
    assert ledger.record_observations(seen) == [record.id]
    assert ledger.record_observations(seen) == []
    assert ledger.record_observations([Observation(record.id, "COMPLETED", "CD", "sacct")]) == [
        record.id
    ]
    states = [h["state"] for h in ledger.history(record.id)]
    assert states == ["PENDING", "COMPLETED"]
    current = ledger.get(record.id)
    assert current.state == "COMPLETED" and current.observed == {"reason": "Priority"}
    assert current.checked_at and current.state_changed_at


def test_select_filters(ledger) -> None:
    for n, (platform, site) in enumerate([("slurm", "a"), ("slurm", "b"), ("bohrium", "c")]):
        record = ledger.claim(platform, f"k{n}", {"site": site}, now=0.0).submission
        ledger.mark_submitted(record.id, str(n))
    assert [r.site for r in ledger.select(platforms=["slurm"])] == ["a", "b"]
    assert [r.job_id for r in ledger.select(job_ids=["2"])] == ["2"]
    assert [r.site for r in ledger.select(sites=["b", "c"])] == ["b", "c"]
    assert ledger.select(since="9999") == []


def test_groups_and_export_marks(ledger) -> None:
    ledger.save_group("g1", "dpdispatcher", {"a": 1})
    ledger.save_group("g1", "dpdispatcher", {"b": 2})
    assert ledger.group("g1")["details"] == {"a": 1, "b": 2}
    assert ledger.group("nope") is None
    ledger.mark_exported("perseus", {"1": "RUNNING"})
    ledger.mark_exported("perseus", {"1": "COMPLETED", "2": "PENDING"})
    assert ledger.export_marks("perseus") == {"1": "COMPLETED", "2": "PENDING"}
    assert ledger.export_marks("other") == {}


def test_submit_once_sends_once_and_returns_the_job_after(ledger) -> None:
    sent = []

    def send(record):
        sent.append(record.id)
        return Sent("100", {"x": 1})

    first = submit_once(ledger, "slurm", "k", dict(FIELDS), send=send, lookup=lambda r: None)
    second = submit_once(ledger, "slurm", "k", dict(FIELDS), send=send, lookup=lambda r: None)
    assert (first.how, second.how) == ("submitted", "existing")
    assert second.submission.job_id == "100" and len(sent) == 1


def test_lost_answer_is_looked_up_before_resending(ledger) -> None:
    def lost(_record):
        raise RemoteError("connection dropped", type="connection_failed", retryable=True)

    with pytest.raises(RemoteError) as raised:
        submit_once(ledger, "slurm", "k", dict(FIELDS), send=lost, lookup=lambda r: None)
    assert raised.value.details["outcome"] == "unknown" and raised.value.retryable
    assert ledger.by_key("slurm", "k").phase == UNKNOWN_OUTCOME

    looked = []

    def lookup(record):
        looked.append(record.tag)
        return Sent("555")

    def must_not_send(_record):
        raise AssertionError("sent twice")

    again = submit_once(ledger, "slurm", "k", dict(FIELDS), send=must_not_send, lookup=lookup)
    assert again.how == "found" and again.submission.job_id == "555"
    assert looked == ["-hsx"]
    assert ledger.by_key("slurm", "k").phase == SUBMITTED


def test_lost_answer_with_no_job_found_is_sent_again(ledger) -> None:
    def lost(_record):
        raise RemoteError("timed out", type="timeout", retryable=True)

    with pytest.raises(RemoteError):
        submit_once(ledger, "slurm", "k", dict(FIELDS), send=lost, lookup=lambda r: None)
    outcome = submit_once(
        ledger, "slurm", "k", dict(FIELDS), send=lambda r: Sent("9"), lookup=lambda r: None
    )
    assert outcome.how == "submitted" and outcome.submission.job_id == "9"


def test_refusal_is_final_for_that_attempt_only(ledger) -> None:
    def refuse(_record):
        raise BadInput("no such partition")

    with pytest.raises(BadInput):
        submit_once(ledger, "slurm", "k", dict(FIELDS), send=refuse, lookup=lambda r: None)
    assert ledger.by_key("slurm", "k").phase == REJECTED
    outcome = submit_once(
        ledger, "slurm", "k", dict(FIELDS), send=lambda r: Sent("1"), lookup=lambda r: None
    )
    assert outcome.how == "submitted"


def test_interrupt_during_send_leaves_an_unknown_outcome(ledger) -> None:
    def interrupted(_record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        submit_once(ledger, "slurm", "k", dict(FIELDS), send=interrupted, lookup=lambda r: None)
    assert ledger.by_key("slurm", "k").phase == UNKNOWN_OUTCOME


def test_keys_and_tags() -> None:
    assert keys.derive_key("a", "bc") != keys.derive_key("ab", "c")
    assert len(keys.derive_key("x")) == 32
    assert keys.tag_of("k").startswith("-hs") and len(keys.tag_of("k")) == 15
    name = keys.tagged_name("job", "k")
    assert name.endswith(keys.tag_of("k")) and keys.tagged_name(name, "k") == name
    assert len(keys.tagged_name("x" * 500, "k")) == 128
    assert keys.check_key("my-run_1.2:a") == "my-run_1.2:a"
    for bad in ("", "a b", "x" * 65, "semi;colon"):
        with pytest.raises(BadInput):
            keys.check_key(bad)


def test_connection_is_autocommit_with_a_busy_timeout(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "x.sqlite3")
    assert conn.isolation_level is None
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS
    assert isinstance(conn, sqlite3.Connection)
