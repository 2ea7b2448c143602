"""Account helpers: the account from the home path, quota, account-change validation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import responses
from responses import matchers

from hpcskills.core.errors import AuthRequired, BadInput, ConfirmationRequired
from hpcskills.core.redact import MASK, redact
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.account import (
    account_of,
    expand_home,
    quota,
    update_user,
    user_info,
    validate_changes,
)
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, SiteProfile, load_site, parse_site
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


@pytest.mark.parametrize(
    ("home", "root", "expanded"),
    [
        ("%H/home/acct-hpc/u", "/lustre", "/lustre/home/acct-hpc/u"),
        ("%H/home/acct-hpc/u", "/dssg/", "/dssg/home/acct-hpc/u"),
        ("/lustre/home/acct-hpc/u", "/dssg", "/lustre/home/acct-hpc/u"),
        ("", "/dssg", ""),
    ],
)
def test_expand_home(home: str, root: str, expanded: str) -> None:
    assert expand_home(home, root) == expanded


@responses.activate
def test_user_info_gives_the_home_of_each_node_group(ws: Workspace, site: SiteProfile) -> None:
    save_token(ws, "tok-info-123456")
    responses.get(f"{BASE}/user", json={"home": "%H/home/acct-hpc/hpcrobot"})
    info = user_info(ws, site, "hpcrobot", "kp")
    assert info["homes"] == {
        "pi": "/lustre/home/acct-hpc/hpcrobot",
        "kp": "/lustre/home/acct-hpc/hpcrobot",
        "sy": "/dssg/home/acct-hpc/hpcrobot",
    }
    assert info["home"] == "/lustre/home/acct-hpc/hpcrobot"
    assert info["user"]["home"] == "%H/home/acct-hpc/hpcrobot"  # the raw answer is kept
    with pytest.raises(BadInput):
        user_info(ws, site, "hpcrobot", "nowhere")
    assert len(responses.calls) == 1  # bad input sends nothing


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
    args = (ws, site, "hpcrobot", {"email": "n@x.org"}, "new-password-xyz")
    with pytest.raises(ConfirmationRequired) as caught:
        update_user(*args, None, 5, lambda _m: None)
    plan = caught.value.details["plan"]
    assert plan["changes"] == {"email": "n@x.org", "password": MASK}
    assert len(responses.calls) == 0  # nothing sent

    responses.patch(f"{BASE}/user", json={"name": "hpcrobot"})
    token = caught.value.details["confirm"]
    result = update_user(*args, token, 5, lambda _m: None)
    assert result == {"status": "updated", "user": "hpcrobot", "changed": ["email", "password"]}
    assert b"new-password-xyz" in responses.calls[0].request.body


@responses.activate
def test_the_confirmation_fits_only_the_planned_password(ws: Workspace, site: SiteProfile) -> None:
    """Audit 2026-12-04, section 4: a plan made with one password confirmed another."""
    save_token(ws, "tok-update-123456")
    with pytest.raises(ConfirmationRequired) as planned:
        update_user(ws, site, "hpcrobot", {}, "Plan-Pass-111", None, 5, lambda _m: None)
    token = planned.value.details["confirm"]
    with pytest.raises(ConfirmationRequired) as other:
        update_user(ws, site, "hpcrobot", {}, "Other-Pass-99", token, 5, lambda _m: None)
    assert other.value.type == "confirmation_mismatch"
    assert len(responses.calls) == 0

    responses.patch(f"{BASE}/user", json={"name": "hpcrobot"})
    update_user(ws, site, "hpcrobot", {}, "Plan-Pass-111", token, 5, lambda _m: None)
    assert b"Plan-Pass-111" in responses.calls[0].request.body


def test_the_plan_shows_nothing_of_the_password(ws: Workspace, site: SiteProfile) -> None:
    password = "Plan-Pass-111"
    with pytest.raises(ConfirmationRequired) as caught:
        update_user(ws, site, "hpcrobot", {}, password, None, 5, lambda _m: None)
    printed = json.dumps(caught.value.details) + caught.value.message + caught.value.hint
    for form in (password, *(hashlib.new(n, password.encode()).hexdigest()
                             for n in ("md5", "sha1", "sha256", "sha512"))):
        assert form not in printed
    assert redact(printed) == printed  # the plan text is not something the redactor mangles


def test_account_update_fields_are_checked_in_the_profile() -> None:
    document = json.loads(SITE_FILE.read_text())
    document["account_update"]["fields"]["nickname"] = "nick"
    with pytest.raises(BadInput) as caught:
        parse_site(document)
    assert caught.value.type == "site_invalid" and "account_update.fields" in caught.value.message
