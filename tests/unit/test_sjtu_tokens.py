"""The HPC API token and the remembered username in the workspace."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest
import responses

from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, SiteProfile, load_site
from hpcskills.sjtu.tokens import load_token, refresh_token, request_token, save_token
from hpcskills.sjtu.users import check_username, remembered_user, resolve_user

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
    assert not ws.credentials_dir.exists()
