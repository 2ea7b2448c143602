"""The SJTU HPC API simulator, exercised over HTTP with plain `requests`."""

from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    SSHCertificate,
    SSHCertificateType,
    load_ssh_private_key,
    load_ssh_public_identity,
    load_ssh_public_key,
)

from hpcskills.sim.__main__ import main as sim_main
from hpcskills.sim.sjtu import (
    DEMO_USER,
    SjtuSimulator,
    parse_approve_after,
    parse_user_spec,
    quota_report,
)

TIMEOUT = 5
UNBOUND = parse_user_spec("nobind:nobind-password", bound=False)
OTHER = parse_user_spec("other:other-password")
SESSION_ID = re.compile(
    r"^Internal Server Error\. Session ID: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-"
    r"[0-9a-f]{12}\. Please contact hpc@sjtu\.edu\.cn with this ID\.$"
)

MakeSim = Callable[..., SjtuSimulator]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    """Start simulators (demo, unbound and other user; instant 2FA) and stop them after."""
    started: list[SjtuSimulator] = []

    def make(**kwargs: Any) -> SjtuSimulator:
        options: dict[str, Any] = {
            "users": [DEMO_USER, UNBOUND, OTHER],
            "approve_after": 0,
            "twofa_timeout": 3,
            "log": None,
        }
        options.update(kwargs)
        sim = SjtuSimulator(**options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: MakeSim) -> SjtuSimulator:
    return make_sim()


def get_token(sim: SjtuSimulator, user: str = "hpcdemo", password: str = DEMO_USER.password) -> str:
    body = {"domain": "pi", "operator": user, "password": password}
    response = requests.post(f"{sim.base_url}/token", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.text.startswith("Bearer ")
    return response.text.removeprefix("Bearer ")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def public_line(key: Any) -> str:
    return key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def sign_cert(sim: SjtuSimulator, token: str, **overrides: Any) -> requests.Response:
    body = {
        "domain": "pi",
        "hpc_user": "hpcdemo",
        "principals": ["hpcdemo"],
        "public_key": public_line(Ed25519PrivateKey.generate()),
        "valid_time": 3600,
    }
    body.update(overrides)
    return requests.post(
        f"{sim.base_url}/sign_cert", json=body, headers=auth(token), timeout=TIMEOUT
    )


def in_background(call: Callable[[], requests.Response]) -> Callable[[], requests.Response]:
    """Run `call` in a thread; the returned function joins it and gives the response."""
    result: list[requests.Response] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()

    def join() -> requests.Response:
        thread.join(TIMEOUT)
        assert result, "request did not finish"
        return result[0]

    return join


# -- tokens ----------------------------------------------------------------------------------


def test_token_is_issued_and_refresh_invalidates_the_old_one(sim: SjtuSimulator) -> None:
    old = get_token(sim)
    refreshed = requests.patch(f"{sim.base_url}/token", json={}, headers=auth(old), timeout=5)
    assert refreshed.status_code == 200
    new = refreshed.text.removeprefix("Bearer ")
    assert new and new != old

    again = requests.patch(f"{sim.base_url}/token", json={}, headers=auth(old), timeout=5)
    assert again.status_code == 401
    assert again.text == "token expired or invalid"
    user_url = f"{sim.base_url}/user?name=hpcdemo&domain=pi"
    assert requests.get(user_url, headers=auth(new), timeout=5).status_code == 200
    assert requests.get(user_url, headers=auth(old), timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"domain": "pi", "operator": "hpcdemo", "password": "wrong"}, 401),
        ({"domain": "pi", "operator": "nobody", "password": "hpcdemo-password"}, 401),
        ({"domain": "sy", "operator": "hpcdemo", "password": "hpcdemo-password"}, 400),
        ({"operator": "hpcdemo", "password": "hpcdemo-password"}, 400),
        ({"domain": "pi", "operator": "hpcdemo"}, 400),
    ],
)
def test_token_rejections(sim: SjtuSimulator, body: dict[str, str], status: int) -> None:
    response = requests.post(f"{sim.base_url}/token", json=body, timeout=TIMEOUT)
    assert response.status_code == status
    assert response.text


def test_tokens_expire_after_ttl_and_on_demand(make_sim: MakeSim) -> None:
    sim = make_sim(token_ttl=0.3)
    token = get_token(sim)
    time.sleep(0.4)
    response = requests.patch(f"{sim.base_url}/token", json={}, headers=auth(token), timeout=5)
    assert (response.status_code, response.text) == (401, "token expired or invalid")

    other = make_sim()
    token = get_token(other)
    expired = requests.post(f"{other.base_url}/_sim/expire-tokens", timeout=TIMEOUT)
    assert expired.json() == {"expired": 1}
    response = requests.get(
        f"{other.base_url}/user?name=hpcdemo&domain=pi", headers=auth(token), timeout=TIMEOUT
    )
    assert response.status_code == 401


def test_missing_bearer_token_is_401(sim: SjtuSimulator) -> None:
    response = requests.get(f"{sim.base_url}/user?name=hpcdemo&domain=pi", timeout=TIMEOUT)
    assert response.status_code == 401


# -- certificates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        Ed25519PrivateKey.generate(),
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["ed25519", "ecdsa", "rsa"],
)
def test_sign_cert_issues_a_certificate_signed_by_the_ca(sim: SjtuSimulator, key: Any) -> None:
    token = get_token(sim)
    before = int(time.time())
    response = sign_cert(sim, token, public_key=public_line(key), valid_time=7200)
    after = int(time.time())
    assert response.status_code == 200, response.text
    assert len(response.text.strip().splitlines()) == 1

    cert = load_ssh_public_identity(response.text.strip().encode())
    assert isinstance(cert, SSHCertificate)
    cert.verify_cert_signature()
    ca_key = load_ssh_public_key(sim.ca_public_key.encode())
    assert cert.signature_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH
    ) == ca_key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    assert cert.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() == (
        public_line(key)
    )
    assert cert.type == SSHCertificateType.USER
    assert cert.valid_principals == [b"hpcdemo"]
    assert cert.key_id == f"hpc-sim:hpcdemo:{cert.serial}".encode()
    assert before - 30 <= cert.valid_after <= after - 30
    assert cert.valid_before - cert.valid_after == 7200 + 30
    assert set(cert.extensions) == {
        b"permit-X11-forwarding",
        b"permit-agent-forwarding",
        b"permit-port-forwarding",
        b"permit-pty",
        b"permit-user-rc",
    }
    assert cert.critical_options == {}


def test_serials_increase_and_valid_time_is_capped(make_sim: MakeSim) -> None:
    sim = make_sim(max_valid_time=600)
    token = get_token(sim)
    first = load_ssh_public_identity(sign_cert(sim, token, valid_time=10**9).text.encode())
    second = load_ssh_public_identity(sign_cert(sim, token, valid_time=None).text.encode())
    assert isinstance(first, SSHCertificate) and isinstance(second, SSHCertificate)
    assert second.serial == first.serial + 1
    assert first.valid_before - first.valid_after == 600 + 30
    assert second.valid_before - second.valid_after == 600 + 30  # default 3600 capped too
    stats = sim.stats()
    assert stats["events"]["certs_issued"] == 2
    assert stats["requests"]["POST /sign_cert"] == 2


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"principals": ["root"]}, 403),
        ({"principals": ["hpcdemo", "root"]}, 403),
        ({"hpc_user": "other", "principals": ["other"]}, 403),
        ({"public_key": "ssh-ed25519 not-base64"}, 400),
        ({"valid_time": -5}, 400),
        ({"valid_time": "long"}, 400),
        ({"domain": "sy"}, 400),
    ],
)
def test_sign_cert_rejections(sim: SjtuSimulator, overrides: dict[str, Any], status: int) -> None:
    response = sign_cert(sim, get_token(sim), **overrides)
    assert response.status_code == status
    assert sim.stats()["events"].get("certs_issued", 0) == 0


def test_gen_key_returns_an_ed25519_pair(sim: SjtuSimulator) -> None:
    token = get_token(sim)
    url = f"{sim.base_url}/gen_key"
    response = requests.post(
        url, json={"domain": "pi", "hpc_user": "hpcdemo"}, headers=auth(token), timeout=5
    )
    assert response.status_code == 200
    pair = response.json()
    private = load_ssh_private_key(pair["private_key"].encode(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    assert public_line(private) == pair["public_key"]
    forbidden = requests.post(
        url, json={"domain": "pi", "hpc_user": "other"}, headers=auth(token), timeout=5
    )
    assert forbidden.status_code == 403


# -- two-factor authentication ---------------------------------------------------------------


def test_manual_2fa_holds_until_approved_without_blocking_others(make_sim: MakeSim) -> None:
    sim = make_sim(approve_after=None)
    token = get_token(sim)
    join = in_background(lambda: sign_cert(sim, token))
    (pending,) = sim.wait_for_2fa()
    assert pending["user"] == "hpcdemo" and pending["kind"] == "sign_cert"
    assert requests.get(f"{sim.base_url}/_sim/2fa", timeout=TIMEOUT).json() == [pending]

    quota = requests.get(
        f"{sim.base_url}/quota?quota_type=user&name=hpcdemo", timeout=TIMEOUT
    )  # served while the certificate request is held
    assert quota.status_code == 200

    approved = requests.post(f"{sim.base_url}/_sim/2fa/{pending['id']}/approve", timeout=5)
    assert approved.json() == {"id": pending["id"], "decision": "approved"}
    assert join().status_code == 200
    assert sim.pending_2fa() == []
    again = requests.post(f"{sim.base_url}/_sim/2fa/{pending['id']}/approve", timeout=5)
    assert again.status_code == 404


def test_denied_2fa_is_403(make_sim: MakeSim) -> None:
    sim = make_sim(approve_after=None)
    token = get_token(sim)
    join = in_background(lambda: sign_cert(sim, token))
    (pending,) = sim.wait_for_2fa()
    denied = requests.post(f"{sim.base_url}/_sim/2fa/{pending['id']}/deny", timeout=TIMEOUT)
    assert denied.json() == {"id": pending["id"], "decision": "denied"}
    response = join()
    assert (response.status_code, response.text) == (403, "two-factor authentication denied")
    assert sim.stats()["events"]["twofa_denied"] == 1


def test_undecided_2fa_times_out(make_sim: MakeSim) -> None:
    sim = make_sim(approve_after=None, twofa_timeout=0.3)
    response = sign_cert(sim, get_token(sim))
    assert (response.status_code, response.text) == (403, "two-factor authentication timed out")


def test_approve_all_and_runtime_config(make_sim: MakeSim) -> None:
    sim = make_sim(approve_after=None)
    token = get_token(sim)
    joins = [in_background(lambda: sign_cert(sim, token)) for _ in range(2)]
    assert len(sim.wait_for_2fa(count=2)) == 2
    result = requests.post(f"{sim.base_url}/_sim/2fa/approve-all", timeout=TIMEOUT)
    assert result.json() == {"approved": 2}
    assert [join().status_code for join in joins] == [200, 200]

    join = in_background(lambda: sign_cert(sim, token))
    sim.wait_for_2fa()
    config = requests.post(f"{sim.base_url}/_sim/config", json={"approve_after": 0}, timeout=5)
    assert config.json() == {"approve_after": 0.0, "twofa_timeout": 3.0, "error_style": "en"}
    assert join().status_code == 200  # the held request is auto-approved under the new setting
    bad = requests.post(f"{sim.base_url}/_sim/config", json={"token_ttl": 1}, timeout=5)
    assert bad.status_code == 400


def test_stop_releases_held_requests() -> None:
    sim = SjtuSimulator(approve_after=None, log=None)
    sim.start()
    token = get_token(sim)
    join = in_background(lambda: sign_cert(sim, token))
    sim.wait_for_2fa()
    sim.stop()
    assert join().status_code == 503
    assert not sim.ca_public_key_path.exists()  # the temporary state dir is removed


def test_auto_approval_after_delay(make_sim: MakeSim) -> None:
    sim = make_sim(approve_after=0.2)
    started = time.monotonic()
    assert sign_cert(sim, get_token(sim)).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_unbound_user_cannot_pass_2fa(sim: SjtuSimulator) -> None:
    token = get_token(sim, "nobind", "nobind-password")
    cert = sign_cert(sim, token, hpc_user="nobind", principals=["nobind"])
    assert cert.status_code == 400
    assert "user have not set email or jAccount" in cert.text
    patch = requests.patch(
        f"{sim.base_url}/user",
        json={"domain": "pi", "name": "nobind", "email": "me@example.org"},
        headers=auth(token),
        timeout=TIMEOUT,
    )
    assert patch.status_code == 400
    assert "user have not set email or jAccount" in patch.text
    assert sim.pending_2fa() == []


# -- users -----------------------------------------------------------------------------------


def test_get_user_returns_posix_attributes(sim: SjtuSimulator) -> None:
    token = get_token(sim)
    response = requests.get(
        f"{sim.base_url}/user",
        params={"name": "hpcdemo", "domain": "pi"},
        headers=auth(token),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    record = response.json()
    assert record["home"] == "%H/home/acct-demo/hpcdemo"
    assert record["email"] == "hpcdemo@example.org"
    assert record["jAccount"] is None
    assert record["loginShell"] == "/bin/bash"
    assert isinstance(record["uidNumber"], int) and isinstance(record["gidNumber"], int)
    assert "password" not in record

    def status(params: dict[str, str]) -> int:
        url = f"{sim.base_url}/user"
        return requests.get(url, params=params, headers=auth(token), timeout=TIMEOUT).status_code

    assert status({"name": "other", "domain": "pi"}) == 403
    assert status({"name": "ghost", "domain": "pi"}) == 404
    assert status({"name": "hpcdemo"}) == 400


def test_patch_user_changes_allowed_fields_after_2fa(sim: SjtuSimulator) -> None:
    token = get_token(sim)
    body = {
        "domain": "pi",
        "name": "hpcdemo",
        "jAccount": "demo-jaccount",
        "contactMethod": "jwb",
        "password": "new-password",
    }
    response = requests.patch(f"{sim.base_url}/user", json=body, headers=auth(token), timeout=5)
    assert response.status_code == 200
    record = response.json()
    assert (record["jAccount"], record["contactMethod"]) == ("demo-jaccount", "jwb")
    assert "new-password" not in response.text
    assert get_token(sim, "hpcdemo", "new-password")
    assert sim.stats()["events"]["twofa_approved"] == 1


@pytest.mark.parametrize(
    "changes",
    [{"loginShell": "/bin/zsh"}, {}, {"email": "x@example.org", "uidNumber": 0}],
)
def test_patch_user_rejects_other_fields(sim: SjtuSimulator, changes: dict[str, Any]) -> None:
    body = {"domain": "pi", "name": "hpcdemo", **changes}
    response = requests.patch(
        f"{sim.base_url}/user", json=body, headers=auth(get_token(sim)), timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert response.text == "only these fields can be changed: password, email, jAccount, " + (
        "contactMethod"
    )


def test_patch_user_rejects_bad_contact_method(sim: SjtuSimulator) -> None:
    body = {"domain": "pi", "name": "hpcdemo", "contactMethod": "fax"}
    response = requests.patch(
        f"{sim.base_url}/user", json=body, headers=auth(get_token(sim)), timeout=TIMEOUT
    )
    assert response.status_code == 400


# -- quota -----------------------------------------------------------------------------------


def test_quota_needs_no_auth(sim: SjtuSimulator) -> None:
    for quota_type, name in [("account", "acct-demo"), ("user", "hpcdemo")]:
        response = requests.get(
            f"{sim.base_url}/quota", params={"quota_type": quota_type, "name": name}, timeout=5
        )
        assert response.status_code == 200
        assert response.json() == quota_report(quota_type, name)
        storages = [q["storage"] for q in response.json()["quotas"]]
        assert storages == ["lustre", "dssg"]
        for quota in response.json()["quotas"]:
            assert 0 <= quota["used_bytes"] <= quota["limit_bytes"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"quota_type": "group", "name": "acct-demo"}, 400),
        ({"quota_type": "account"}, 400),
        ({"quota_type": "account", "name": "acct-ghost"}, 404),
        ({"quota_type": "user", "name": "acct-demo"}, 404),
    ],
)
def test_quota_rejections(sim: SjtuSimulator, params: dict[str, str], status: int) -> None:
    response = requests.get(f"{sim.base_url}/quota", params=params, timeout=TIMEOUT)
    assert response.status_code == status


# -- faults, stats, control, logging ---------------------------------------------------------


def test_injected_500_carries_a_session_id(sim: SjtuSimulator) -> None:
    rule = {"method": "POST", "path": "/token", "count": 2}
    assert requests.post(f"{sim.base_url}/_sim/fail", json=rule, timeout=TIMEOUT).ok
    body = {"domain": "pi", "operator": "hpcdemo", "password": "hpcdemo-password"}
    failures = [requests.post(f"{sim.base_url}/token", json=body, timeout=5) for _ in range(2)]
    assert [f.status_code for f in failures] == [500, 500]
    assert all(SESSION_ID.match(f.text) for f in failures)
    assert failures[0].text != failures[1].text
    assert get_token(sim)
    stats = requests.get(f"{sim.base_url}/_sim/stats", timeout=TIMEOUT).json()
    assert stats["events"]["injected_failures"] == 2
    assert stats["responses"]["POST /token 500"] == 2
    assert stats["responses"]["POST /token 200"] == 1


def test_errors_in_chinese_and_json(make_sim: MakeSim) -> None:
    """The site publishes no error format: the simulator speaks all three the client handles."""
    sim = make_sim(approve_after=None, twofa_timeout=0.3, error_style="zh")
    token = get_token(sim)
    timed_out = sign_cert(sim, token)
    assert (timed_out.status_code, timed_out.text) == (403, "双因素认证等待超时")
    sim.inject_failure("GET", "/user")
    failure = requests.get(f"{sim.base_url}/user", timeout=TIMEOUT)
    assert failure.status_code == 500
    chinese = r"服务器内部错误，会话ID：[0-9a-f-]{36}，.*hpc@sjtu\.edu\.cn.*"
    assert re.fullmatch(chinese, failure.text)
    unbound_token = get_token(sim, UNBOUND.name, UNBOUND.password)
    unbound = sign_cert(sim, unbound_token, hpc_user=UNBOUND.name, principals=[UNBOUND.name])
    assert unbound.text == "user have not set email or jAccount"  # as the site documents it

    config = requests.post(f"{sim.base_url}/_sim/config", json={"error_style": "json"}, timeout=5)
    assert config.json()["error_style"] == "json"
    refused = requests.patch(
        f"{sim.base_url}/token", json={}, headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert refused.status_code == 401
    assert refused.json() == {"code": 401, "message": "token expired or invalid"}
    sim.inject_failure("GET", "/user")
    failure = requests.get(f"{sim.base_url}/user", timeout=TIMEOUT).json()
    assert re.fullmatch(r"[0-9a-f-]{36}", failure["sessionId"]) and failure["code"] == 500
    bad = requests.post(f"{sim.base_url}/_sim/config", json={"error_style": "fr"}, timeout=5)
    assert bad.status_code == 400


def test_unknown_paths_and_methods(sim: SjtuSimulator) -> None:
    assert requests.get(f"{sim.base_url}/nope", timeout=TIMEOUT).status_code == 404
    assert requests.delete(f"{sim.base_url}/token", timeout=TIMEOUT).status_code == 405
    assert requests.post(f"{sim.base_url}/token", data="{", timeout=TIMEOUT).status_code == 400


def test_ca_public_key_endpoint_and_persistence(make_sim: MakeSim, tmp_path: Path) -> None:
    first = make_sim(state_dir=tmp_path)
    key_file = tmp_path / "sjtu-ca"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    served = requests.get(f"{first.base_url}/_sim/ca.pub", timeout=TIMEOUT).text
    assert served.strip() == first.ca_public_key
    assert (tmp_path / "sjtu-ca.pub").read_text().strip() == first.ca_public_key
    second = make_sim(state_dir=tmp_path)
    assert second.ca_public_key == first.ca_public_key


def test_log_has_no_secrets() -> None:
    log = io.StringIO()
    with SjtuSimulator(log=log, approve_after=0) as sim:
        assert isinstance(sim, SjtuSimulator)
        token = get_token(sim)
        url = f"{sim.base_url}/user?name=hpcdemo&domain=pi"
        requests.get(url, headers=auth(token), timeout=TIMEOUT)
    text = log.getvalue()
    assert "POST /token 200" in text and "GET /user 200" in text
    assert "hpcdemo-password" not in text and token not in text and "name=" not in text


# -- CLI -------------------------------------------------------------------------------------


def test_cli_prints_base_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "hpcskills.sim", "sjtu", "--port", "0"]
    command += ["--approve-after", "manual", "--state-dir", str(tmp_path)]
    command += ["--user", "alice:alice-pw", "--unbound-user", "bob:bob-pw"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        info = json.loads(process.stdout.readline())
        assert info == {"ca_public_key": str(tmp_path / "sjtu-ca.pub"), "users": ["alice", "bob"]}
        assert requests.get(f"{base_url}/_sim/stats", timeout=TIMEOUT).status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0


def test_cli_rejects_unknown_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main(["nosuch"]) == 2
    assert "usage" in capsys.readouterr().err


def test_cli_argument_parsing() -> None:
    assert parse_approve_after("manual") is None
    assert parse_approve_after("-1") is None
    assert parse_approve_after("2.5") == 2.5
    user = parse_user_spec("carol:pa:ss")
    assert (user.name, user.password, user.email) == ("carol", "pa:ss", "carol@example.org")
    assert not parse_user_spec("dave:pw", bound=False).bound
    with pytest.raises(ValueError):
        parse_user_spec("no-password")
