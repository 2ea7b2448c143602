"""The SJTU HPC API client: request shapes exactly per the facts, and error mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from hpcskills.core.errors import AuthRequired, BadInput, NotFound, RemoteError
from hpcskills.core.http import HttpSession
from hpcskills.core.redact import redact
from hpcskills.sjtu.api import MAX_TWOFA_SLACK_SECONDS, HpcApi, strip_bearer
from hpcskills.sjtu.api_errors import MAX_BODY_CHARS, classify_error, session_id
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, SiteProfile, load_site, parse_site

ROOT = Path(__file__).resolve().parents[2]
SITE_FILE = ROOT / "skills" / "sjtu-slurm" / "site.json"
BASE = "https://api.hpc.sjtu.edu.cn"
TOKEN = "tok-live-0123456789"
SECURITY_DOCS = "https://docs.hpc.sjtu.edu.cn/accounts/security.html"
PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMlR0ZcRnv3V0YBa1JuwsVjBjyBlXmTZ5vl8rIFqk5rP c"


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> SiteProfile:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(SITE_FILE_ENV, raising=False)
    return load_site(SITE_FILE)


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def api(site: SiteProfile, slept: list[float]) -> HpcApi:
    http = HttpSession(site.api_base_url, timeout=(10.0, 30.0), sleep=slept.append)
    return HpcApi(site, TOKEN, http=http)


@pytest.fixture
def anon(site: SiteProfile, slept: list[float]) -> HpcApi:
    return HpcApi(site, None, http=HttpSession(site.api_base_url, sleep=slept.append))


def only_call() -> requests.PreparedRequest:
    assert len(responses.calls) == 1
    return responses.calls[0].request


def body_of(request: requests.PreparedRequest) -> Any:
    return json.loads(request.body or b"")


# -- request shapes --------------------------------------------------------------------------


@responses.activate
def test_post_token(anon: HpcApi) -> None:
    responses.post(f"{BASE}/token", body=f"Bearer {TOKEN}\n", content_type="text/plain")
    assert anon.request_token("hpcrobot", "pw-secret-1") == TOKEN
    request = only_call()
    assert body_of(request) == {"domain": "pi", "operator": "hpcrobot", "password": "pw-secret-1"}
    assert request.headers["Accept"] == "text/plain"
    assert "Authorization" not in request.headers
    assert anon.token == TOKEN
    assert redact(f"x {TOKEN} pw-secret-1") == "x *** ***"


@responses.activate
def test_patch_token_refresh(api: HpcApi) -> None:
    responses.patch(f"{BASE}/token", body="Bearer tok-new-987654321")
    assert api.refresh_token() == "tok-new-987654321"
    request = only_call()
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "text/plain"  # what the site's own script sends
    assert body_of(request) == {}
    assert api.token == "tok-new-987654321"


@responses.activate
def test_post_gen_key(api: HpcApi) -> None:
    responses.post(f"{BASE}/gen_key", json={"private_key": "PRIV-KEY-MATERIAL", "public_key": PUB})
    assert api.gen_key("hpcrobot") == ("PRIV-KEY-MATERIAL", PUB)
    request = only_call()
    assert body_of(request) == {"domain": "pi", "hpc_user": "hpcrobot"}
    assert request.headers["Accept"] == "application/json"  # as the site's script sends it
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "PRIV-KEY-MATERIAL" not in redact("PRIV-KEY-MATERIAL")


@responses.activate
def test_post_sign_cert(api: HpcApi) -> None:
    responses.post(f"{BASE}/sign_cert", body="ssh-ed25519-cert-v01@openssh.com AAAA... \n")
    cert = api.sign_cert("hpcrobot", PUB + "\n", 3600, wait=600)
    assert cert == "ssh-ed25519-cert-v01@openssh.com AAAA..."
    request = only_call()
    assert body_of(request) == {
        "domain": "pi",
        "hpc_user": "hpcrobot",
        "principals": ["hpcrobot"],
        "public_key": PUB,
        "valid_time": 3600,
    }
    assert request.headers["Accept"] == "text/plain"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    # the call blocks until 2FA: the read timeout covers the whole wait
    assert request.req_kwargs["timeout"] == (10.0, 600 + MAX_TWOFA_SLACK_SECONDS)


@responses.activate
def test_get_user(api: HpcApi) -> None:
    record = {"uid": "hpcrobot", "home": "%H/home/acct-hpc/hpcrobot", "email": "r@x.org"}
    responses.get(
        f"{BASE}/user",
        json=record,
        match=[matchers.query_param_matcher({"name": "hpcrobot", "domain": "pi"})],
    )
    assert api.get_user("hpcrobot") == record
    assert only_call().headers["Authorization"] == f"Bearer {TOKEN}"


@responses.activate
def test_patch_user(api: HpcApi) -> None:
    responses.patch(f"{BASE}/user", json={"name": "hpcrobot"})
    api.patch_user("hpcrobot", {"email": "new@x.org", "password": "new-pw-secret"}, wait=60)
    request = only_call()
    assert request.method == "PATCH"
    assert body_of(request) == {
        "domain": "pi",
        "name": "hpcrobot",
        "email": "new@x.org",
        "password": "new-pw-secret",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.req_kwargs["timeout"][1] == 60 + MAX_TWOFA_SLACK_SECONDS
    assert redact("new-pw-secret") == "***"


@responses.activate
def test_patch_user_field_names_come_from_the_site_profile(tmp_path: Path) -> None:
    data = json.loads(SITE_FILE.read_text())
    data["account_update"]["fields"].update({"name": "username", "jAccount": "jaccount"})
    api = HpcApi(parse_site(data), TOKEN, http=HttpSession(BASE))
    responses.patch(f"{BASE}/user", json={})
    api.patch_user("hpcrobot", {"jAccount": "jrobot"}, wait=5)
    assert body_of(only_call()) == {"domain": "pi", "username": "hpcrobot", "jaccount": "jrobot"}


@pytest.mark.parametrize(("status", "cls"), [(400, BadInput), (404, NotFound), (422, BadInput)])
@responses.activate
def test_patch_user_rejection_says_the_shape_is_unverified(
    api: HpcApi, status: int, cls: type
) -> None:
    responses.patch(f"{BASE}/user", status=status, body='{"message": "unknown field email"}')
    with pytest.raises(cls) as caught:
        api.patch_user("hpcrobot", {"email": "n@x.org"}, wait=5)
    assert "guess" in caught.value.hint and "account_update.fields" in caught.value.hint
    assert caught.value.details["unverified"] == "PATCH /user body"
    assert caught.value.details["body"] == '{"message": "unknown field email"}'


@responses.activate
def test_patch_user_with_a_text_answer(api: HpcApi) -> None:
    responses.patch(f"{BASE}/user", body="updated")
    assert api.patch_user("hpcrobot", {"email": "n@x.org"}, wait=5) == {"message": "updated"}


@pytest.mark.parametrize("quota_type", ["user", "account"])
@responses.activate
def test_get_quota_needs_no_auth(api: HpcApi, quota_type: str) -> None:
    responses.get(
        f"{BASE}/quota",
        json={"quotas": []},
        match=[matchers.query_param_matcher({"quota_type": quota_type, "name": "n1"})],
    )
    assert api.get_quota(quota_type, "n1") == {"quotas": []}
    assert "Authorization" not in only_call().headers


@responses.activate
def test_quota_works_without_any_token(anon: HpcApi) -> None:
    responses.get(f"{BASE}/quota", json={"quotas": []})
    assert anon.get_quota("user", "n1") == {"quotas": []}


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.refresh_token(),
        lambda a: a.gen_key("u"),
        lambda a: a.sign_cert("u", PUB, 60, 1),
        lambda a: a.get_user("u"),
        lambda a: a.patch_user("u", {"email": "e@x.org"}, 1),
    ],
)
@responses.activate
def test_authenticated_calls_without_token_send_nothing(anon: HpcApi, call: Any) -> None:
    with pytest.raises(AuthRequired) as caught:
        call(anon)
    assert caught.value.type == "no_token"
    assert "req_token" in caught.value.hint
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("text", "token"),
    [("Bearer abc", "abc"), ("bearer abc\n", "abc"), ("  Bearer   abc  ", "abc"), ("abc", "abc")],
)
def test_strip_bearer(text: str, token: str) -> None:
    assert strip_bearer(text) == token


# -- error mapping ---------------------------------------------------------------------------

INTERNAL = (
    "Internal Server Error. Session ID: 5c1e0f7a-9d4b-4c47-a3c2-1b2d3e4f5a6b. "
    "Please contact hpc@sjtu.edu.cn with this ID."
)


@responses.activate
def test_500_is_internal_error_with_session_id_and_support(api: HpcApi) -> None:
    responses.get(f"{BASE}/user", status=500, body=INTERNAL)
    with pytest.raises(RemoteError) as caught:
        api.get_user("hpcrobot")
    error = caught.value
    assert error.type == "internal_error"
    assert error.exit_code == 5
    assert error.details["session_id"] == "5c1e0f7a-9d4b-4c47-a3c2-1b2d3e4f5a6b"
    assert "5c1e0f7a-9d4b-4c47-a3c2-1b2d3e4f5a6b" in error.hint
    assert "hpc@sjtu.edu.cn" in error.hint
    assert len(responses.calls) == 1  # a 500 is not a transient fault


@pytest.mark.parametrize(
    ("body", "sid"),
    [
        ("session_id=abc123XYZ", "abc123XYZ"),
        ("SessionID: 0123456789", "0123456789"),
        ("oops", None),
        ("session id: ab", None),
        ("服务器内部错误，会话ID：7f3a9c2e-11，请联系 hpc@sjtu.edu.cn", "7f3a9c2e-11"),
        ("内部错误（会话 ID 为 abcdef012345）", "abcdef012345"),
        ("会话编号: X9Y8Z7W6", "X9Y8Z7W6"),
        ('{"code": 500, "sessionId": "s-0042abcd"}', "s-0042abcd"),
        ('{"error": {"session_id": "nested-0042"}}', "nested-0042"),
        ('{"message": "Internal error, Session ID: txt-in-json-1"}', "txt-in-json-1"),
        ('{"message": "\\u4f1a\\u8bddID\\uff1aescaped-777"}', "escaped-777"),
        ('{"sessionId": "x"}', None),
    ],
)
def test_session_id(body: str, sid: str | None) -> None:
    assert session_id(body) == sid


@pytest.mark.parametrize(
    "body",
    [
        "Internal Server Error. Session ID: abc-123456. Contact hpc@sjtu.edu.cn",
        "服务器内部错误，会话ID：abc-123456，请联系 hpc@sjtu.edu.cn",
        '{"code": 500, "message": "internal error", "sessionId": "abc-123456"}',
    ],
)
@responses.activate
def test_internal_error_keeps_the_session_id_in_every_form(api: HpcApi, body: str) -> None:
    responses.get(f"{BASE}/user", status=500, body=body)
    with pytest.raises(RemoteError) as caught:
        api.get_user("hpcrobot")
    assert caught.value.details["session_id"] == "abc-123456"
    assert "abc-123456" in (caught.value.hint or "")
    assert caught.value.details["body"] == body  # the site's rule: pass the body on


def test_500_without_session_id_still_names_the_support(site: SiteProfile) -> None:
    error = classify_error(500, "boom", site, "token request")
    assert error.type == "internal_error"
    assert error.details["session_id"] is None
    assert "hpc@sjtu.edu.cn" in (error.hint or "")


@responses.activate
def test_unbound_second_factor(api: HpcApi) -> None:
    responses.post(f"{BASE}/sign_cert", status=400, body="user have not set email or jAccount")
    with pytest.raises(AuthRequired) as caught:
        api.sign_cert("hpcrobot", PUB, 3600, wait=5)
    error = caught.value
    assert error.type == "second_factor_unbound"
    assert error.exit_code == 4
    assert SECURITY_DOCS in error.hint
    assert error.details["docs"] == SECURITY_DOCS


@responses.activate
def test_401_is_token_invalid(api: HpcApi) -> None:
    responses.get(f"{BASE}/user", status=401, body="token expired or invalid")
    with pytest.raises(AuthRequired) as caught:
        api.get_user("hpcrobot")
    assert caught.value.type == "token_invalid"
    assert "refresh_token" in caught.value.hint and "req_token" in caught.value.hint


@responses.activate
def test_404_is_not_found(api: HpcApi) -> None:
    responses.get(f"{BASE}/quota", status=404, body="user nobody not found")
    with pytest.raises(NotFound) as caught:
        api.get_quota("user", "nobody")
    assert caught.value.exit_code == 6
    assert "user nobody not found" in caught.value.message


@responses.activate
def test_503_on_a_read_is_retried_then_retryable(api: HpcApi, slept: list[float]) -> None:
    responses.get(f"{BASE}/quota", status=503, body="maintenance")
    with pytest.raises(RemoteError) as caught:
        api.get_quota("user", "n1")
    assert caught.value.type == "service_unavailable"
    assert caught.value.retryable is True
    assert len(responses.calls) == 4 and len(slept) == 3


@responses.activate
def test_503_on_a_write_is_not_retried(anon: HpcApi, slept: list[float]) -> None:
    responses.post(f"{BASE}/token", status=503)
    with pytest.raises(RemoteError) as caught:
        anon.request_token("hpcrobot", "pw-secret-1")
    assert caught.value.retryable is True
    assert len(responses.calls) == 1 and slept == []


@responses.activate
def test_2fa_denied_and_server_timeout(api: HpcApi) -> None:
    responses.post(f"{BASE}/sign_cert", status=403, body="two-factor authentication denied")
    responses.post(f"{BASE}/sign_cert", status=403, body="two-factor authentication timed out")
    with pytest.raises(AuthRequired) as denied:
        api.sign_cert("hpcrobot", PUB, 3600, wait=5)
    with pytest.raises(AuthRequired) as timed_out:
        api.sign_cert("hpcrobot", PUB, 3600, wait=5)
    assert denied.value.type == "2fa_denied"
    assert timed_out.value.type == "2fa_timeout"


@responses.activate
def test_client_side_wait_timeout_is_2fa_timeout(api: HpcApi) -> None:
    responses.post(f"{BASE}/sign_cert", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(AuthRequired) as caught:
        api.sign_cert("hpcrobot", PUB, 3600, wait=5)
    assert caught.value.type == "2fa_timeout"
    assert caught.value.exit_code == 4


@responses.activate
def test_wrong_password_is_a_rejection_without_the_password(anon: HpcApi) -> None:
    responses.post(f"{BASE}/token", status=401, body="invalid username or password")
    with pytest.raises(AuthRequired) as caught:
        anon.request_token("hpcrobot", "pw-wrong-secret")
    assert "pw-wrong-secret" not in str(caught.value.to_dict())


@pytest.mark.parametrize(
    ("status", "body", "cls", "error_type"),
    [
        (400, "valid_time must be positive", BadInput, "rejected"),
        (403, "token of a cannot access user b", AuthRequired, "forbidden"),
        (502, "bad gateway", RemoteError, "service_unavailable"),
        (500, "", RemoteError, "internal_error"),
    ],
)
def test_classify_error(
    site: SiteProfile, status: int, body: str, cls: type, error_type: str
) -> None:
    error = classify_error(status, body, site, "op")
    assert isinstance(error, cls)
    assert error.type == error_type


def test_error_bodies_are_redacted(site: SiteProfile) -> None:
    error = classify_error(400, "bad request password=hunter22x", site, "op")
    assert "hunter22x" not in error.message
    assert "hunter22x" not in str(error.to_dict())


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429, 500, 503])
def test_every_error_keeps_the_bounded_body(site: SiteProfile, status: int) -> None:
    body = "原因: " + "x" * 2000
    error = classify_error(status, body, site, "op").to_dict()
    assert error["status"] == status
    assert error["body"].startswith("原因: x") and len(error["body"]) == MAX_BODY_CHARS


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (403, "two-factor authentication denied", "2fa_denied"),
        (403, "用户拒绝了双因素认证请求", "2fa_denied"),
        (403, '{"code": 403, "message": "2FA request rejected by user"}', "2fa_denied"),
        (403, "two-factor authentication timed out", "2fa_timeout"),
        (403, "双因素认证等待超时", "2fa_timeout"),
        (403, '{"code": 403, "msg": "approval timeout"}', "2fa_timeout"),
        (408, "", "2fa_timeout"),
        (403, "principals must be exactly ['u']", "forbidden"),
        # the status decides first: these words do not make a 2FA outcome
        (401, "token timed out", "token_invalid"),
        (400, "request denied: bad valid_time", "rejected"),
        (500, "timed out talking to the CA", "internal_error"),
    ],
)
def test_status_first_then_wording(
    site: SiteProfile, status: int, body: str, error_type: str
) -> None:
    assert classify_error(status, body, site, "op", twofa=True).type == error_type


def test_2fa_wording_counts_only_on_calls_that_wait_for_2fa(site: SiteProfile) -> None:
    assert classify_error(403, "access denied", site, "user query").type == "forbidden"
    assert classify_error(408, "", site, "user query").type == "service_unavailable"


def test_json_error_bodies_give_their_message(site: SiteProfile) -> None:
    error = classify_error(400, '{"code": 400, "message": "valid_time too large"}', site, "op")
    assert error.message == "op: the HPC API rejected the request: valid_time too large"


def test_unbound_in_json_and_chinese(site: SiteProfile) -> None:
    for body in ('{"message": "user have not set email or jAccount"}', "用户未绑定邮箱或jAccount"):
        assert classify_error(400, body, site, "op", twofa=True).type == "second_factor_unbound"


@responses.activate
def test_invalid_json_answer(api: HpcApi) -> None:
    responses.get(f"{BASE}/user", body="<html>", content_type="text/html")
    with pytest.raises(RemoteError):
        api.get_user("hpcrobot")
    responses.post(f"{BASE}/gen_key", json=["unexpected"])
    with pytest.raises(RemoteError):
        api.gen_key("hpcrobot")


@responses.activate
def test_short_waits_get_a_short_slack(api: HpcApi) -> None:
    """`--wait-timeout 1` must not wait 31 s: the slack never exceeds the wait itself."""
    responses.patch(f"{BASE}/user", json={"name": "hpcrobot"})
    api.patch_user("hpcrobot", {"email": "new@x.org"}, wait=1)
    assert only_call().req_kwargs["timeout"][1] == 2


@pytest.mark.parametrize("status", [408, 429])
def test_busy_answers_are_retryable_remote_errors(status: int) -> None:
    site = load_site(SITE_FILE)
    error = classify_error(status, "slow down", site, "user query")
    assert isinstance(error, RemoteError) and error.retryable


@pytest.mark.parametrize("token", ["abc\rX: 1", "令牌令牌令牌", "tok\r\nen-more"])
@responses.activate
def test_a_token_that_cannot_go_in_a_header_is_a_corrupt_credential(
    site: SiteProfile, token: str
) -> None:
    with pytest.raises(AuthRequired) as caught:
        HpcApi(site, token).get_user("hpcrobot")
    assert caught.value.type == "credential_corrupt" and caught.value.exit_code == 4
    assert len(responses.calls) == 0


# -- network environment: proxies and CA bundles like the site's scripts, never .netrc ------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                 "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


@responses.activate
def test_https_proxy_and_ca_bundle_are_honoured(
    site: SiteProfile, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "campus-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    clean_env.setenv("HTTPS_PROXY", "http://proxy.campus.example:3128")
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    responses.get(f"{BASE}/quota", json={})
    HpcApi(site).get_quota("user", "u")
    sent = only_call().req_kwargs
    assert sent["proxies"]["https"] == "http://proxy.campus.example:3128"
    assert sent["verify"] == str(bundle)


@responses.activate
def test_ssl_cert_file_and_no_proxy(
    site: SiteProfile, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    clean_env.setenv("HTTPS_PROXY", "http://proxy.campus.example:3128")
    clean_env.setenv("NO_PROXY", ".sjtu.edu.cn")
    clean_env.setenv("SSL_CERT_FILE", str(bundle))
    responses.get(f"{BASE}/quota", json={})
    HpcApi(site).get_quota("user", "u")
    sent = only_call().req_kwargs
    assert not sent["proxies"].get("https")
    assert sent["verify"] == str(bundle)


def test_a_missing_ca_bundle_is_bad_input(
    site: SiteProfile, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "absent.pem"))
    with pytest.raises(BadInput) as caught:
        HpcApi(site)
    assert caught.value.type == "ca_bundle_missing"


@responses.activate
def test_netrc_is_never_read(
    site: SiteProfile, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.hpc.sjtu.edu.cn login someone password netrc-secret\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    responses.get(f"{BASE}/quota", json={})
    HpcApi(site).get_quota("user", "u")
    assert "Authorization" not in only_call().headers
    assert only_call().req_kwargs["verify"] is True
