"""Account helpers: the account from the home path, quota, account-change validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses
from responses import matchers

from hpcskills.core.errors import AuthRequired, BadInput, ConfirmationRequired
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.account import account_of, quota, update_user, validate_changes
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, SiteProfile, load_site
from hpcskills.sjtu.tokens import save_token

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"
BASE = "https://api.hpc.sjtu.edu.cn"


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> SiteProfile:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(SITE_FILE_ENV, raising=False)
    return load_site(SITE_FILE)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.mark.parametrize(
    ("home", "account"),
    [
        ("%H/home/acct-hpc/hpcrobot", "acct-hpc"),
        ("/lustre/home/acct-hpc/hpcrobot", "acct-hpc"),
        ("/dssg/home/acct-xyz/u1/", "acct-xyz"),
        ("  %H/home/acct-a/b  ", "acct-a"),
        ("hpcrobot", None),
        ("/", None),
        ("", None),
    ],
)
def test_account_of(home: str, account: str | None) -> None:
    assert account_of(home) == account


@responses.activate
def test_quota_both_derives_the_account_from_home(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-quota-123456")
    responses.get(f"{BASE}/user", json={"home": "%H/home/acct-hpc/hpcrobot"})
    responses.get(f"{BASE}/quota", json={"q": "user"},
                  match=[matchers.query_param_matcher({"quota_type": "user",
                                                       "name": "hpcrobot"})])
    responses.get(f"{BASE}/quota", json={"q": "account"},
                  match=[matchers.query_param_matcher({"quota_type": "account",
                                                       "name": "acct-hpc"})])
    result = quota(ws, site, "hpcrobot", "both")
    assert result == {
        "user": {"name": "hpcrobot", "quota": {"q": "user"}},
        "account": {"name": "acct-hpc", "quota": {"q": "account"}},
    }


@responses.activate
def test_quota_user_only_needs_no_token(ws: Workspace, site: SiteProfile) -> None:
    responses.get(f"{BASE}/quota", json={"q": 1})
    assert quota(ws, site, "hpcrobot", "user") == {"user": {"name": "hpcrobot",
                                                            "quota": {"q": 1}}}
    assert len(responses.calls) == 1


@responses.activate
def test_quota_account_given_needs_no_token(ws: Workspace, site: SiteProfile) -> None:
    responses.get(f"{BASE}/quota", json={"q": 2})
    assert quota(ws, site, "x", "account", "acct-given")["account"]["name"] == "acct-given"
    assert "Authorization" not in responses.calls[0].request.headers


def test_quota_account_derivation_needs_a_token(ws: Workspace, site: SiteProfile) -> None:
    with pytest.raises(AuthRequired) as caught:
        quota(ws, site, "hpcrobot", "account")
    assert caught.value.type == "no_token"


@responses.activate
def test_quota_account_underivable(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-quota-123456")
    responses.get(f"{BASE}/user", json={"home": "weird"})
    with pytest.raises(BadInput):
        quota(ws, site, "hpcrobot", "account")


def test_validate_changes(site: SiteProfile) -> None:
    assert validate_changes(site, {"email": "a@b.org", "jAccount": None}, False) == {
        "email": "a@b.org"
    }
    assert validate_changes(site, {}, True) == {}
    for bad in ({"email": "not-an-email"}, {"email": "a@b.org\n"}, {"jAccount": "a b"},
                {"jAccount": "jacc\n"}, {"contactMethod": "fax"}, {}):
        with pytest.raises(BadInput):
            validate_changes(site, bad, False)


@responses.activate
def test_update_user_plans_before_sending(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-update-123456")
    read: list[bool] = []

    def read_password() -> str:
        read.append(True)
        return "new-password-xyz"

    args = (ws, site, "hpcrobot", {"email": "n@x.org"}, True, read_password)
    with pytest.raises(ConfirmationRequired) as caught:
        update_user(*args, None, 5, lambda _m: None)
    plan = caught.value.details["plan"]
    assert plan["changes"] == {"email": "n@x.org", "password": "(new password, not shown)"}
    assert read == [] and len(responses.calls) == 0  # nothing read, nothing sent

    responses.patch(f"{BASE}/user", json={"name": "hpcrobot"})
    token = caught.value.details["confirm"]
    result = update_user(*args, token, 5, lambda _m: None)
    assert result == {"status": "updated", "user": "hpcrobot", "changed": ["email", "password"]}
    assert read == [True]
    assert b"new-password-xyz" in responses.calls[0].request.body
