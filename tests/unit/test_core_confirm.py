"""Two-phase confirmation: a token bound to the exact plan, per workspace, for 10 minutes."""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from hpcskills.core import confirm
from hpcskills.core.confirm import (
    TOKEN_TTL_SECONDS,
    check_token,
    confirmation_scope,
    issue_token,
    require_confirmation,
    workspace_secret,
)
from hpcskills.core.errors import EXIT_CONFIRM, ConfirmationRequired, RemoteError
from hpcskills.core.workspace import Workspace

ACTION = "slurm.cancel"
NOW = 1_700_000_000.0


def plan(state: str = "RUNNING", elapsed: str = "00:10:00") -> dict[str, Any]:
    return {"targets": [{"job": "123", "state": state, "elapsed": elapsed}], "impact": "x"}


def binding(p: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["job"], t["state"]) for t in p["targets"]]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def first_call(ws: Workspace, p: dict[str, Any], *, now: float = NOW, action: str = ACTION,
               use_binding: bool = False) -> ConfirmationRequired:
    with pytest.raises(ConfirmationRequired) as caught:
        require_confirmation(ws, action, p, None, now=now,
                             binding=binding(p) if use_binding else None)
    return caught.value


def test_first_call_returns_the_plan_and_a_token(ws: Workspace) -> None:
    exc = first_call(ws, plan())
    assert exc.exit_code == EXIT_CONFIRM == 3
    body = exc.to_dict()
    assert body["type"] == "confirmation_required"
    assert body["plan"] == plan()
    assert body["action"] == ACTION
    assert body["confirm"] in body["hint"]
    assert body["expires_at"].startswith("2023-11-14T22:23:20")  # NOW + 600 s, UTC


def test_the_token_confirms_the_exact_plan(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    require_confirmation(ws, ACTION, plan(), token, now=NOW + 5)  # returns: confirmed


def refused(ws: Workspace, p: dict[str, Any], token: str, *, now: float = NOW + 5,
            action: str = ACTION, use_binding: bool = False) -> dict[str, Any]:
    with pytest.raises(ConfirmationRequired) as caught:
        require_confirmation(ws, action, p, token, now=now,
                             binding=binding(p) if use_binding else None)
    return caught.value.to_dict()


def test_a_changed_plan_is_refused_with_a_fresh_token(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    body = refused(ws, plan(state="COMPLETED"), token)
    assert body["type"] == "confirmation_mismatch"
    assert body["plan"] == plan(state="COMPLETED")
    assert body["confirm"] != token
    require_confirmation(ws, ACTION, plan(state="COMPLETED"), body["confirm"], now=NOW + 6)


def test_another_action_is_refused(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    assert refused(ws, plan(), token, action="slurm.delete_data")["type"] == (
        "confirmation_mismatch"
    )


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # flipped MAC digit
        lambda t: str(int(t.split(".")[0]) + 3600) + "." + t.split(".", 1)[1],  # later expiry
        lambda t: t.split(".", 1)[1],  # no expiry
        lambda t: t.split(".")[0] + "." + t.split(".")[2],  # no nonce
        lambda t: t.replace(t.split(".")[1], "0" * 16),  # another nonce
        lambda t: "garbage",
        lambda t: "",
    ],
)
def test_a_tampered_token_is_refused(ws: Workspace, tamper: Any) -> None:
    token = first_call(ws, plan()).details["confirm"]
    body = refused(ws, plan(), tamper(token))
    assert body["type"] in {"confirmation_mismatch", "confirmation_malformed"}


def test_an_expired_token_is_refused(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    require_confirmation(ws, ACTION, plan(), token, now=NOW + TOKEN_TTL_SECONDS)  # last second
    body = refused(ws, plan(), token, now=NOW + TOKEN_TTL_SECONDS + 1)
    assert body["type"] == "confirmation_expired"
    assert "nothing was changed" in body["message"]


def test_a_token_of_another_workspace_is_refused(tmp_path: Path) -> None:
    one, two = Workspace(tmp_path / "one"), Workspace(tmp_path / "two")
    token = first_call(one, plan()).details["confirm"]
    assert workspace_secret(one) != workspace_secret(two)
    assert refused(two, plan(), token)["type"] == "confirmation_mismatch"


def test_fields_outside_the_binding_may_change(ws: Workspace) -> None:
    token = first_call(ws, plan(elapsed="00:10:00"), use_binding=True).details["confirm"]
    require_confirmation(ws, ACTION, plan(elapsed="00:12:31"), token, now=NOW + 5,
                         binding=binding(plan()))
    body = refused(ws, plan(state="SUSPENDED"), token, use_binding=True)
    assert body["type"] == "confirmation_mismatch"


def test_the_secret_is_0600_and_created_once(ws: Workspace) -> None:
    first = workspace_secret(ws)
    path = ws.state_dir / confirm.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ws.state_dir.stat().st_mode) == 0o700
    assert len(first) == 32
    mtime = path.stat().st_mtime_ns
    assert workspace_secret(ws) == first
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in ws.state_dir.iterdir()] == [confirm.SECRET_FILE]  # no temp left


def test_the_secret_never_appears_in_the_plan(ws: Workspace) -> None:
    exc = first_call(ws, plan())
    assert workspace_secret(ws).hex() not in str(exc.to_dict())


def test_default_now_is_the_clock(ws: Workspace) -> None:
    with pytest.raises(ConfirmationRequired) as caught:
        require_confirmation(ws, ACTION, plan(), None)
    token = caught.value.details["confirm"]
    assert abs(int(token.split(".")[0]) - (time.time() + TOKEN_TTL_SECONDS)) < 5
    require_confirmation(ws, ACTION, plan(), token)


def test_check_token_is_pure() -> None:
    secret = b"k" * 32
    token = issue_token(secret, ACTION, {"a": 1, "b": 2}, NOW)
    assert check_token(secret, ACTION, {"b": 2, "a": 1}, token, NOW) == "valid"  # key order
    assert check_token(secret, ACTION, {"a": 1, "b": 3}, token, NOW) == "mismatch"
    assert check_token(b"x" * 32, ACTION, {"a": 1, "b": 2}, token, NOW) == "mismatch"
    assert check_token(secret, ACTION, {"a": 1, "b": 2}, token, NOW + 601) == "expired"
    assert check_token(secret, ACTION, {"a": 1, "b": 2}, "nodot", NOW) == "malformed"


def test_a_token_confirms_one_run_only(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    require_confirmation(ws, ACTION, plan(), token, now=NOW + 5)
    body = refused(ws, plan(), token, now=NOW + 6)  # the replay
    assert body["type"] == "confirmation_used"
    assert "nothing was changed" in body["message"]
    assert body["plan"] == plan() and body["confirm"] != token
    require_confirmation(ws, ACTION, plan(), body["confirm"], now=NOW + 7)  # the fresh one works


def _use(ws_root: str, token: str, start: Any, results: Any) -> None:
    start.wait()
    try:
        require_confirmation(Workspace(Path(ws_root)), ACTION, plan(), token, now=NOW + 5)
        results.put("ran")
    except ConfirmationRequired as exc:
        results.put(exc.type)


def test_two_concurrent_uses_one_wins(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_use, args=(str(ws.root), token, start, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(30)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert outcomes == ["confirmation_used"] * 3 + ["ran"]


def test_an_expiry_beyond_the_ttl_is_refused(ws: Workspace) -> None:
    secret = workspace_secret(ws)
    ten_years = NOW + 10 * 365 * 86400
    forged = issue_token(secret, ACTION, plan(), ten_years - TOKEN_TTL_SECONDS)  # correct MAC
    assert refused(ws, plan(), forged)["type"] == "confirmation_malformed"
    just_issued = issue_token(secret, ACTION, plan(), NOW)
    assert check_token(secret, ACTION, plan(), just_issued, NOW) == "valid"
    early = issue_token(secret, ACTION, plan(), NOW + 2)
    assert check_token(secret, ACTION, plan(), early, NOW) == "malformed"


@pytest.mark.parametrize(
    "token",
    [
        "9" * 5000 + "." + "a" * 40,  # int() refuses more than 4300 digits
        "1" * 5000,
        "١٢٣." + "a" * 40,  # digits, but not ASCII ones
        "1700000600." + "0" * 16 + "." + "A" * 40,
        "x" * 10**6,
    ],
)
def test_absurd_tokens_are_malformed_not_a_crash(ws: Workspace, token: str) -> None:
    assert check_token(b"k" * 32, ACTION, plan(), token, NOW) == "malformed"
    assert refused(ws, plan(), token)["type"] == "confirmation_malformed"


def test_used_markers_are_pruned_once_expired(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    require_confirmation(ws, ACTION, plan(), token, now=NOW + 5)
    used = ws.state_dir / confirm.USED_DIR
    marker = f"{token.split('.')[0]}-{token.split('.')[2]}"
    assert [p.name for p in used.iterdir()] == [marker]
    assert stat.S_IMODE((used / marker).stat().st_mode) == 0o600
    later = NOW + TOKEN_TTL_SECONDS + 60
    other = first_call(ws, plan(state="PENDING"), now=later).details["confirm"]
    require_confirmation(ws, ACTION, plan(state="PENDING"), other, now=later + 1)
    assert [p.name for p in used.iterdir()] == [f"{other.split('.')[0]}-{other.split('.')[2]}"]


def test_a_0_1_0_secret_keeps_its_tokens_valid(ws: Workspace) -> None:
    ws.ensure_state_dir()
    path = ws.state_dir / confirm.SECRET_FILE
    path.write_text("ab" * 32)  # 0.1.0 kept bare hex
    path.chmod(0o644)
    token = issue_token(bytes.fromhex("ab" * 32), ACTION, plan(), NOW)
    require_confirmation(ws, ACTION, plan(), token, now=NOW + 5)
    assert workspace_secret(ws) == bytes.fromhex("ab" * 32)
    assert json.loads(path.read_text())["schema"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failure_after_the_token_was_used_carries_a_fresh_plan(ws: Workspace) -> None:
    token = first_call(ws, plan()).details["confirm"]
    with confirmation_scope() as after_failure:
        require_confirmation(ws, ACTION, plan(), token, now=NOW + 5)
        error = after_failure(RemoteError("scancel failed", type="slurm_error", hint="retry"))
    replan = error.to_dict()["replan"]
    assert replan["plan"] == plan() and replan["action"] == ACTION
    assert replan["confirm"] != token and replan["confirm"] in (error.hint or "")
    assert (error.hint or "").startswith("retry ")
    require_confirmation(ws, ACTION, plan(), replan["confirm"])  # asks the user again: works


def test_a_failure_without_a_used_token_is_left_alone(ws: Workspace) -> None:
    with confirmation_scope() as after_failure:
        first_call(ws, plan())
        error = after_failure(RemoteError("down"))
    assert "replan" not in error.to_dict() and error.hint is None
