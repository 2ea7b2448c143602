"""The HPC API token and the remembered username in the workspace."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import responses

from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, SiteProfile, load_site
from hpcskills.sjtu.tokens import (
    load_token,
    refresh_token,
    request_token,
    save_token,
    usable_token,
)
from hpcskills.sjtu.users import check_username, remember_user, remembered_user, resolve_user

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"
BASE = "https://api.hpc.sjtu.edu.cn"
INTERNAL = "Internal Server Error. Session ID: sess-0042abcd. Please contact hpc@sjtu.edu.cn."


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> SiteProfile:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(SITE_FILE_ENV, raising=False)
    return load_site(SITE_FILE)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def test_load_and_save(ws: Workspace) -> None:
    with pytest.raises(AuthRequired) as caught:
        load_token(ws)
    assert caught.value.type == "no_token" and "req_token" in caught.value.hint
    path = save_token(ws, "tok-abc-123456")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token(ws) == "tok-abc-123456"


def test_usernames(ws: Workspace) -> None:
    assert remembered_user(ws) is None
    with pytest.raises(BadInput) as missing:
        resolve_user(ws, None)
    assert missing.value.type == "username_required"
    assert resolve_user(ws, "given") == "given"
    for good in ("hpcrobot", "acct_x.y-z", "_u1"):
        assert check_username(good) == good
    for bad in ("a;b", "", "-rf", "a b", "$(id)", "x" * 65, "a\nb", "hpcrobot\n"):
        with pytest.raises(BadInput):
            check_username(bad)


@responses.activate
def test_request_token_saves_and_remembers(ws: Workspace, site: SiteProfile) -> None:
    responses.post(f"{BASE}/token", body="Bearer tok-new-123456")
    result = request_token(ws, site, "hpcrobot", lambda: "pw-good-123")
    assert result["status"] == "issued"
    assert load_token(ws) == "tok-new-123456"
    assert remembered_user(ws) == "hpcrobot"
    assert resolve_user(ws, None) == "hpcrobot"


@responses.activate
def test_wrong_password_is_login_failed_not_a_token_problem(
    ws: Workspace, site: SiteProfile
) -> None:
    responses.post(f"{BASE}/token", status=401, body="invalid username or password")
    with pytest.raises(AuthRequired) as caught:
        request_token(ws, site, "hpcrobot", lambda: "pw-wrong-123")
    assert caught.value.type == "login_failed"
    assert "password" in caught.value.hint
    assert "refresh_token" not in caught.value.hint
    assert not ws.credentials_dir.exists()
    assert remembered_user(ws) is None


@responses.activate
def test_request_token_internal_error_passes_through(ws: Workspace, site: SiteProfile) -> None:
    responses.post(f"{BASE}/token", status=500, body=INTERNAL)
    with pytest.raises(RemoteError) as caught:
        request_token(ws, site, "hpcrobot", lambda: "pw-good-123")
    assert caught.value.type == "internal_error"
    assert caught.value.details["session_id"] == "sess-0042abcd"


@responses.activate
def test_refresh_saves_the_new_token(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-old-123456")
    responses.patch(f"{BASE}/token", body="Bearer tok-fresh-123456")
    assert refresh_token(ws, site)["status"] == "refreshed"
    assert load_token(ws) == "tok-fresh-123456"
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok-old-123456"


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_refused_refresh_means_expired(ws: Workspace, site: SiteProfile, status: int) -> None:
    save_token(ws, "tok-old-123456")
    responses.patch(f"{BASE}/token", status=status, body="token expired or invalid")
    with pytest.raises(AuthRequired) as caught:
        refresh_token(ws, site)
    assert caught.value.type == "token_expired"
    assert "req_token" in caught.value.hint
    assert load_token(ws) == "tok-old-123456"


@responses.activate
def test_refresh_internal_error(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-old-123456")
    responses.patch(f"{BASE}/token", status=500, body=INTERNAL)
    with pytest.raises(RemoteError) as caught:
        refresh_token(ws, site)
    assert caught.value.type == "internal_error"
    assert "sess-0042abcd" in caught.value.hint and "hpc@sjtu.edu.cn" in caught.value.hint
    assert load_token(ws) == "tok-old-123456"


def test_bad_input_is_found_before_the_password_is_read(ws: Workspace, site: SiteProfile) -> None:
    """req_token's password file is deleted once read; exit 2 must leave it, so nothing is
    read before the username and the API URL passed their checks."""
    read: list[str] = []

    def password() -> str:
        read.append("read")
        return "pw-good-123"

    with pytest.raises(BadInput):
        request_token(ws, site, "a;b", password)
    insecure = replace(site, api=replace(site.api, base_url="http://api.example.org"))
    with pytest.raises(BadInput):
        request_token(ws, insecure, "hpcrobot", password)
    assert read == []


# -- a token write interrupted before its rename (audit 2026-12-04, section 3) ---------------


def leave_interrupted_write(ws: Workspace, token: str, age: float = 0) -> Path:
    """What atomic_write leaves when killed between its fsync and its rename."""
    path = ws.credentials_dir / ".hpc_token.k1ll3d.tmp"
    path.write_text(token + "\n")
    path.chmod(0o600)
    if age:
        stamp = path.stat().st_mtime - age
        os.utime(path, (stamp, stamp))
    return path


def leftovers(ws: Workspace) -> list[str]:
    return sorted(p.name for p in ws.credentials_dir.glob(".hpc_token.*.tmp"))


def answer_user(live: str) -> None:
    """GET /user: 200 for the live token, 401 for any other."""
    responses.add_callback(
        responses.GET,
        f"{BASE}/user",
        callback=lambda request: (200, {}, '{"name": "hpcrobot"}')
        if request.headers["Authorization"] == f"Bearer {live}"
        else (401, {}, "token expired or invalid"),
    )


@pytest.fixture
def rotated(ws: Workspace) -> Workspace:
    """A workspace whose refresh was killed: hpc_token dead, the live token in a temp file."""
    save_token(ws, "tok-dead-123456")
    remember_user(ws, "hpcrobot")
    leave_interrupted_write(ws, "tok-live-654321")
    return ws


@responses.activate
def test_the_live_token_of_an_interrupted_refresh_is_promoted(
    rotated: Workspace, site: SiteProfile
) -> None:
    answer_user("tok-live-654321")
    assert usable_token(rotated, site) == "tok-live-654321"
    assert load_token(rotated) == "tok-live-654321"
    assert stat.S_IMODE((rotated.credentials_dir / "hpc_token").stat().st_mode) == 0o600
    assert leftovers(rotated) == []
    assert usable_token(rotated, site) == "tok-live-654321"
    assert len(responses.calls) == 1  # checked once, then nothing left to check


@responses.activate
def test_refresh_after_an_interrupted_refresh(rotated: Workspace, site: SiteProfile) -> None:
    answer_user("tok-live-654321")
    responses.patch(f"{BASE}/token", body="Bearer tok-next-777777")
    assert refresh_token(rotated, site)["status"] == "refreshed"
    assert responses.calls[1].request.headers["Authorization"] == "Bearer tok-live-654321"
    assert load_token(rotated) == "tok-next-777777"
    assert leftovers(rotated) == []


@responses.activate
def test_a_refused_leftover_is_removed_and_the_saved_token_kept(
    rotated: Workspace, site: SiteProfile
) -> None:
    answer_user("tok-dead-123456")  # the saved token is the live one this time
    assert usable_token(rotated, site) == "tok-dead-123456"
    assert leftovers(rotated) == []


@responses.activate
def test_a_leftover_is_kept_while_the_api_cannot_tell(
    rotated: Workspace, site: SiteProfile
) -> None:
    responses.get(f"{BASE}/user", status=500, body=INTERNAL)
    assert usable_token(rotated, site) == "tok-dead-123456"
    assert leftovers(rotated) == [".hpc_token.k1ll3d.tmp"]  # never lose a working token


@responses.activate
def test_leftovers_older_than_the_saved_token_empty_or_garbled_are_dropped_unchecked(
    ws: Workspace, site: SiteProfile
) -> None:
    save_token(ws, "tok-saved-123456")
    remember_user(ws, "hpcrobot")
    leave_interrupted_write(ws, "tok-older-123456", age=60)
    (ws.credentials_dir / ".hpc_token.empty1.tmp").write_text("")
    (ws.credentials_dir / ".hpc_token.garbl1.tmp").write_text("abc\rX: 1 令牌")
    assert usable_token(ws, site) == "tok-saved-123456"
    assert leftovers(ws) == []
    assert len(responses.calls) == 0


@responses.activate
def test_without_a_remembered_user_a_leftover_is_kept(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-saved-123456")
    leave_interrupted_write(ws, "tok-maybe-123456")
    assert usable_token(ws, site) == "tok-saved-123456"
    assert leftovers(ws) == [".hpc_token.k1ll3d.tmp"]
    assert len(responses.calls) == 0


def test_without_leftovers_nothing_is_asked_or_created(ws: Workspace, site: SiteProfile) -> None:
    with pytest.raises(AuthRequired):
        usable_token(ws, site)
    assert not ws.credentials_dir.exists()
