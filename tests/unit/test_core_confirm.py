"""Two-phase confirmation: a token bound to the exact plan, per workspace, for 10 minutes."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest

from hpcskills.core import confirm
from hpcskills.core.confirm import (
    TOKEN_TTL_SECONDS,
    check_token,
    issue_token,
    require_confirmation,
    workspace_secret,
)
from hpcskills.core.errors import EXIT_CONFIRM, ConfirmationRequired
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
        lambda t: str(int(t.split(".")[0]) + 3600) + "." + t.split(".")[1],  # later expiry
        lambda t: t.split(".")[1],  # no expiry
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
