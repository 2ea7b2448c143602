"""submit_once as every platform uses it: job ids are real, 0.1.0 keys are found under
today's key, and look-first (Bohrium) confirms a submitted key on the platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcskills.core.errors import RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import keys
from hpcskills.ledger.once import Sent, submit_once
from hpcskills.ledger.records import (
    REJECTED,
    SUBMITTED,
    UNKNOWN_OUTCOME,
    MissingJobId,
    require_job_id,
)
from hpcskills.ledger.store import open_ledger

FIELDS = {"site": "bohrium", "name": "run-hsnew", "tag": "-hsnew"}


@pytest.fixture
def ledger(tmp_path: Path):
    with open_ledger(Workspace(tmp_path / "ws")) as opened:
        yield opened


def never(_record):
    raise AssertionError("must not be called")


@pytest.mark.parametrize("missing", [None, "", "None", "null", "  "])
def test_a_missing_job_id_is_refused(ledger, missing) -> None:
    with pytest.raises(MissingJobId) as raised:
        Sent(missing)  # type: ignore[arg-type]
    assert raised.value.retryable and raised.value.type == "missing_job_id"
    claim = ledger.claim("bohrium", "k", FIELDS, now=0.0)
    with pytest.raises(MissingJobId):
        ledger.mark_submitted(claim.submission.id, missing)  # type: ignore[arg-type]
    assert ledger.get(claim.submission.id).job_id is None
    assert require_job_id(7) == "7"


def test_an_answer_without_a_job_id_is_an_unknown_outcome(ledger) -> None:
    with pytest.raises(MissingJobId) as raised:
        submit_once(
            ledger,
            "bohrium",
            "k",
            dict(FIELDS),
            send=lambda r: Sent(None),
            lookup=never,  # type: ignore[arg-type]
        )
    assert raised.value.details["outcome"] == "unknown"
    record = ledger.by_key("bohrium", "k")
    assert record.phase == UNKNOWN_OUTCOME and record.job_id is None
    again = submit_once(
        ledger, "bohrium", "k", dict(FIELDS), send=never, lookup=lambda r: Sent("41")
    )
    assert again.how == "found" and again.submission.job_id == "41"


def test_a_key_stored_by_0_1_0_is_found_under_todays_key(ledger) -> None:
    old = ledger.claim("bohrium", "a" * 64, {**FIELDS, "name": "run-hsold", "tag": "-hsold"}, now=0)
    ledger.mark_submitted(old.submission.id, "7")
    outcome = submit_once(
        ledger, "bohrium", "new-key", dict(FIELDS), send=never, lookup=never, aliases=["a" * 64]
    )
    assert outcome.how == "existing" and outcome.submission.id == old.submission.id
    assert ledger.by_key("bohrium", "new-key") is None

    # an interrupted 0.1.0-era intent resumes under its own key, name and tag
    ledger.claim("slurm", "b" * 32, {**FIELDS, "tag": "-hsold"}, owner="gone:1", now=0)
    looked = []

    def lookup(record):
        looked.append((record.idempotency_key, record.tag, record.name))
        return None

    sent = submit_once(
        ledger,
        "slurm",
        "c" * 32,
        dict(FIELDS),
        send=lambda r: Sent("8"),
        lookup=lookup,
        aliases=["b" * 32],
    )
    assert looked == [("b" * 32, "-hsold", "run-hsnew")] and sent.how == "submitted"
    assert sent.submission.tag == "-hsold"


def test_look_first_asks_the_platform_before_the_first_send(ledger) -> None:
    outcome = submit_once(
        ledger,
        "bohrium",
        "k",
        dict(FIELDS),
        send=never,
        lookup=lambda r: Sent("5"),
        look_first=True,
    )
    assert outcome.how == "found" and outcome.reused and outcome.submission.job_id == "5"


def test_look_first_confirms_a_submitted_key_on_the_platform(ledger) -> None:
    first = submit_once(
        ledger,
        "bohrium",
        "k",
        dict(FIELDS),
        send=lambda r: Sent("5"),
        lookup=lambda r: None,
        look_first=True,
    )
    stamp = first.submission.submitted_at
    same = submit_once(
        ledger,
        "bohrium",
        "k",
        dict(FIELDS),
        send=never,
        lookup=lambda r: Sent("5"),
        look_first=True,
    )
    assert same.how == "existing" and same.submission.submitted_at == stamp
    assert same.submission.owner is None

    # the job failed (the platform no longer counts it): run again, keep the old id
    def refused(_record):
        raise RemoteError("quota exceeded", type="submit_rejected")

    with pytest.raises(RemoteError):
        submit_once(
            ledger,
            "bohrium",
            "k",
            dict(FIELDS),
            send=refused,
            lookup=lambda r: None,
            look_first=True,
        )
    kept = ledger.by_key("bohrium", "k")
    assert (kept.phase, kept.job_id, kept.owner) == (SUBMITTED, "5", None)
    assert "quota" in kept.last_error
    rerun = submit_once(
        ledger,
        "bohrium",
        "k",
        dict(FIELDS),
        send=lambda r: Sent("6"),
        lookup=lambda r: None,
        look_first=True,
    )
    assert rerun.how == "submitted" and rerun.submission.job_id == "6"
    assert rerun.submission.details["previous_job_ids"] == ["5"]


def test_a_recheck_in_progress_elsewhere_is_busy(ledger) -> None:
    done = ledger.claim("bohrium", "k", FIELDS, now=0.0)
    ledger.mark_submitted(done.submission.id, "5")
    other = ledger.claim(
        "bohrium", "k", FIELDS, recheck=True, owner="other:1", now=10.0, alive=lambda o: True
    )
    assert other.kind == "recheck"
    mine = ledger.claim("bohrium", "k", FIELDS, recheck=True, now=11.0, alive=lambda o: True)
    assert mine.kind == "busy"
    assert ledger.claim("bohrium", "k", FIELDS, now=11.0).kind == "existing"


def test_a_failed_first_lookup_leaves_nothing_to_resolve(ledger) -> None:
    def down(_record):
        raise RemoteError("job list failed", type="http_error", retryable=True)

    with pytest.raises(RemoteError):
        submit_once(ledger, "bohrium", "k", dict(FIELDS), send=never, lookup=down, look_first=True)
    assert ledger.by_key("bohrium", "k").phase == REJECTED  # nothing was sent

    first = submit_once(
        ledger,
        "bohrium",
        "k",
        dict(FIELDS),
        send=lambda r: Sent("5"),
        lookup=lambda r: None,
        look_first=True,
    )
    with pytest.raises(RemoteError):  # a recheck that cannot ask keeps the job
        submit_once(ledger, "bohrium", "k", dict(FIELDS), send=never, lookup=down, look_first=True)
    kept = ledger.by_key("bohrium", "k")
    assert (kept.phase, kept.job_id, kept.owner) == (SUBMITTED, "5", None) and first.sent


def test_slurm_and_dpdispatcher_keys_and_tags_are_those_of_0_1_0() -> None:
    """0.1.0's ledgers and job names hold these exact values (its ledger/keys.py)."""
    assert keys.derive_key("dpdispatcher", "abc", "def", "1") == "c7015b4b792e1a24806cea30a7bbd809"
    assert keys.tag_of("k") == "-hs8254c329a928"
