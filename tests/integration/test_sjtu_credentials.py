"""The sjtu-slurm credential scripts, run as subprocesses against the SJTU API simulator.

Every test gets its own simulator and a `tmp_path` workspace (HOME too points into tmp_path),
so no test touches the real home or another test's tokens.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    SSHCertificate,
    load_ssh_private_key,
    load_ssh_public_identity,
    load_ssh_public_key,
)

from hpcskills.core.workspace import Workspace
from hpcskills.sim.sjtu import (
    DEMO_USER,
    SimUser,
    SjtuSimulator,
    generate_key_pair,
    sign_user_cert,
)
from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.tokens import request_token

from scriptrun import (
    Result,
    path_without_isolated_install,
    register_secret,
    run_script,
    script_path,
)

SKILL = "sjtu-slurm"
SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / SKILL / "site.json"
USER = DEMO_USER.name
PASSWORD = DEMO_USER.password
UNBOUND = SimUser("nobind", "nobind-password-1", account="acct-demo")
SUPPORT = "hpc@sjtu.edu.cn"
SECURITY_DOCS = "https://docs.hpc.sjtu.edu.cn/accounts/security.html"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SCRIPTS = [
    "req_token.py",
    "refresh_token.py",
    "req_certificate.py",
    "cert_status.py",
    "user_info.py",
    "quota.py",
    "update_user.py",
]


# -- fixtures and helpers --------------------------------------------------------------------


class Site:
    """A running simulator, a workspace, and a way to run the skill's scripts against them."""

    def __init__(self, sim: SjtuSimulator, ws: Path, home: Path) -> None:
        self.sim = sim
        self.ws = ws
        self.env = {
            "HPCSKILLS_SJTU_API_URL": sim.base_url,
            "HPCSKILLS_SITE_FILE": "",
            "OPENCLAW_WORKSPACE": "",
            "HOME": str(home),
        }

    @property
    def creds(self) -> Path:
        return self.ws / "credentials"

    def run(
        self, name: str, *args: str, input: str | None = None, ws: Path | None = None
    ) -> Result:
        return run_script(
            SKILL, name, *args, "--workspace", str(ws or self.ws), env=self.env, input=input
        )

    def login(self, user: str = USER, password: str = PASSWORD) -> str:
        """A token for `user` in the workspace, made in-process (req_token.py has its own
        tests; this keeps the others fast)."""
        profile = load_site(SITE_FILE)
        profile = replace(profile, api=replace(profile.api, base_url=self.sim.base_url))
        request_token(Workspace(self.ws), profile, user, lambda: password)
        return self.token()

    def token(self) -> str:
        return (self.creds / "hpc_token").read_text().strip()

    def events(self, name: str) -> int:
        return self.sim.stats().get("events", {}).get(name, 0)

    def requests(self, route: str) -> int:
        return self.sim.stats().get("requests", {}).get(route, 0)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    for password in (PASSWORD, UNBOUND.password):
        register_secret(password)
    sim = SjtuSimulator(
        [DEMO_USER, UNBOUND],
        approve_after=0.05,
        twofa_timeout=20,
        log=None,
        state_dir=tmp_path / "sim",
    )
    sim.start()
    home = tmp_path / "home"
    home.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    try:
        yield Site(sim, ws, home)
    finally:
        sim.stop()


@pytest.fixture
def manual(site: Site) -> Site:
    """2FA requests wait for the test to approve or deny them."""
    site.sim.configure(approve_after=None)
    return site


@pytest.fixture
def background() -> Iterator[Callable[..., Future[Result]]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield lambda fn, *args, **kwargs: pool.submit(fn, *args, **kwargs)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load_cert(path: Path) -> SSHCertificate:
    cert = load_ssh_public_identity(path.read_bytes().strip())
    assert isinstance(cert, SSHCertificate)
    return cert


def openssh(key: Any) -> str:
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def wait_for_status(site: Site, wanted: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = site.run("cert_status.py").data
        if data["status"] == wanted or time.monotonic() > deadline:
            assert data["status"] == wanted, data
            return data
        time.sleep(0.2)


def outputs(result: Result) -> str:
    return result.stdout + result.stderr


# -- req_token -------------------------------------------------------------------------------


def test_req_token_from_a_textfile(site: Site, tmp_path: Path) -> None:
    textfile = tmp_path / "upload" / "pw.txt"
    textfile.parent.mkdir()
    textfile.write_text(PASSWORD + "\n")
    result = site.run("req_token.py", USER, "--textfile", str(textfile))
    assert result.returncode == 0, result.describe()
    assert result.data["status"] == "issued" and result.data["user"] == USER
    assert not textfile.exists()

    token_file = site.creds / "hpc_token"
    assert result.data["token_file"] == str(token_file)
    assert mode(site.creds) == 0o700 and mode(token_file) == 0o600
    token = site.token()
    assert not token.lower().startswith("bearer")
    assert site.sim.tokens.user_for(token) == USER
    assert token not in outputs(result) and PASSWORD not in outputs(result)
    profile_file = site.ws / ".hpcskills" / "sjtu.json"
    profile = json.loads(profile_file.read_text())
    assert profile == {"schema": 1, "record": {"username": USER}}  # a versioned state record
    assert mode(profile_file) == 0o600


def test_req_token_from_stdin_and_username_remembered(site: Site) -> None:
    site.login()
    assert site.run("user_info.py").data["user"]["name"] == USER  # no username needed


def test_textfile_removed_when_the_password_is_wrong(site: Site, tmp_path: Path) -> None:
    wrong = "wrong-password-123"
    register_secret(wrong)
    textfile = tmp_path / "pw.txt"
    textfile.write_text(wrong)
    result = site.run("req_token.py", USER, "--textfile", str(textfile))
    assert result.returncode == 4
    assert result.error["type"] == "login_failed"
    assert "refresh_token" not in result.error["hint"]
    assert not textfile.exists()
    assert not (site.creds / "hpc_token").exists()
    assert wrong not in outputs(result)


def test_textfile_removed_on_an_internal_error(site: Site, tmp_path: Path) -> None:
    site.sim.inject_failure("POST", "/token")
    textfile = tmp_path / "pw.txt"
    textfile.write_text(PASSWORD)
    result = site.run("req_token.py", USER, "--textfile", str(textfile))
    assert result.returncode == 5
    assert result.error["type"] == "internal_error"
    assert UUID.match(result.error["session_id"])
    assert SUPPORT in result.error["hint"]
    assert not textfile.exists()
    assert site.events("tokens_issued") == 0


def test_textfile_kept_when_the_username_is_invalid(site: Site, tmp_path: Path) -> None:
    """Exit 2 means nothing changed, the password file included (it was never read)."""
    textfile = tmp_path / "pw.txt"
    textfile.write_text(PASSWORD)
    result = site.run("req_token.py", "a;b", "--textfile", str(textfile))
    assert result.returncode == 2
    assert result.error["type"] == "invalid_username"
    assert textfile.read_text() == PASSWORD
    assert site.requests("POST /token") == 0


def test_positional_password_is_refused_and_not_used(site: Site) -> None:
    result = site.run("req_token.py", USER, PASSWORD)
    assert result.returncode == 2
    assert result.error["type"] == "secret_on_argv"
    assert "--textfile" in result.error["hint"] and "--password-stdin" in result.error["hint"]
    assert PASSWORD not in outputs(result)
    assert site.requests("POST /token") == 0
    assert not (site.creds / "hpc_token").exists()


@pytest.mark.parametrize("sources", ["both", "neither"])
def test_exactly_one_password_source(site: Site, tmp_path: Path, sources: str) -> None:
    textfile = tmp_path / "pw.txt"
    textfile.write_text(PASSWORD)
    args = ["--textfile", str(textfile), "--password-stdin"] if sources == "both" else []
    result = site.run("req_token.py", USER, *args, input=PASSWORD)
    assert result.returncode == 2
    assert result.error["type"] == "password_source"
    assert site.requests("POST /token") == 0


# -- refresh_token ---------------------------------------------------------------------------


def test_refresh_replaces_the_token(site: Site) -> None:
    old = site.login()
    result = site.run("refresh_token.py")
    assert result.returncode == 0, result.describe()
    assert result.data["status"] == "refreshed"
    new = site.token()
    assert new != old
    assert site.sim.tokens.user_for(old) is None
    assert site.sim.tokens.user_for(new) == USER
    assert mode(site.creds / "hpc_token") == 0o600


def test_refresh_without_a_token(site: Site) -> None:
    result = site.run("refresh_token.py")
    assert result.returncode == 4
    assert result.error["type"] == "no_token"
    assert "req_token" in result.error["hint"]
    assert site.requests("PATCH /token") == 0


def test_refresh_of_an_expired_token(site: Site) -> None:
    old = site.login()
    assert site.sim.expire_tokens() == 1
    result = site.run("refresh_token.py")
    assert result.returncode == 4
    assert result.error["type"] == "token_expired"
    assert "req_token" in result.error["hint"]
    assert site.token() == old  # nothing overwritten


def test_refresh_internal_error_names_session_and_support(site: Site) -> None:
    old = site.login()
    site.sim.inject_failure("PATCH", "/token")
    result = site.run("refresh_token.py")
    assert result.returncode == 5
    error = result.error
    assert error["type"] == "internal_error"
    assert UUID.match(error["session_id"])
    assert error["session_id"] in error["hint"] and SUPPORT in error["hint"]
    assert site.token() == old
    assert site.sim.tokens.user_for(old) == USER


def test_an_empty_token_file_is_corrupt_not_missing(site: Site) -> None:
    site.creds.mkdir(mode=0o700)
    (site.creds / "hpc_token").write_text("\n")
    result = site.run("refresh_token.py")
    assert result.returncode == 4
    assert result.error["type"] == "credential_corrupt"


# -- a refresh interrupted before its rename (audit 2026-12-04, section 3) ---------------------

SLOW_TOKEN_FSYNC = """
import os, time
_fsync = os.fsync
def _slow_fsync(fd):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if "/.hpc_token." in target and target.endswith(".tmp"):
        time.sleep(60)  # the window between the site's rotation and the rename, held open
    return _fsync(fd)
os.fsync = _slow_fsync
"""


def leftovers(site: Site) -> list[Path]:
    return sorted(site.creds.glob(".hpc_token.*.tmp"))


def assert_recovered(site: Site, dead: str, live: str) -> None:
    assert site.sim.tokens.user_for(dead) is None and site.sim.tokens.user_for(live) == USER
    result = site.run("user_info.py")
    assert result.returncode == 0, result.describe()
    assert site.token() == live
    assert mode(site.creds / "hpc_token") == 0o600
    assert leftovers(site) == []


def test_a_refresh_killed_before_the_rename_does_not_lock_the_user_out(site: Site) -> None:
    """Deterministic: the temp file exactly as atomic_write leaves it when killed."""
    dead = site.login()
    live = site.sim.tokens.refresh(dead)
    assert live is not None
    stranded = site.creds / ".hpc_token.x7Gq2pLm.tmp"
    stranded.write_text(live + "\n")
    stranded.chmod(0o600)
    assert_recovered(site, dead, live)
    refreshed = site.run("refresh_token.py")
    assert refreshed.returncode == 0, refreshed.describe()
    assert site.sim.tokens.user_for(site.token()) == USER


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the fd")
def test_a_refresh_sigkilled_before_the_rename_does_not_lock_the_user_out(
    site: Site, tmp_path: Path
) -> None:
    """A real SIGKILL of refresh_token.py while its fsync of the new token is held."""
    dead = site.login()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_TOKEN_FSYNC)
    pythonpath = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, str(script_path(SKILL, "refresh_token.py")), "--workspace",
         str(site.ws)],
        env={**os.environ, **site.env, "PYTHONPATH": pythonpath},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(p.read_text().strip() for p in leftovers(site)):
            assert proc.poll() is None and time.monotonic() < deadline, "no temp file appeared"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert site.token() == dead  # the lockout the audit measured, until the next use
    (stranded,) = leftovers(site)
    assert_recovered(site, dead, stranded.read_text().strip())


# -- req_certificate (blocking) --------------------------------------------------------------


def test_certificate_issued_and_verified(site: Site) -> None:
    site.login()
    before = time.time()
    result = site.run("req_certificate.py", "--valid-time", "900")
    after = time.time()
    assert result.returncode == 0, result.describe()
    data = result.data
    assert data["status"] == "issued" and data["key_source"] == "local"
    assert "approve" in result.stderr  # the person is told what we wait for

    key_file, pub_file = site.creds / "id_ed25519", site.creds / "id_ed25519.pub"
    cert_file = site.creds / "id_ed25519-cert.pub"
    assert data["certificate_file"] == str(cert_file) and data["key_file"] == str(key_file)
    assert mode(key_file) == 0o600 and mode(cert_file) == 0o600 and mode(site.creds) == 0o700

    cert = load_cert(cert_file)
    cert.verify_cert_signature()
    assert openssh(cert.signature_key()) == " ".join(site.sim.ca_public_key.split()[:2])
    assert cert.valid_principals == [USER.encode()]
    assert before + 900 - 1 <= cert.valid_before <= after + 900 + 1
    assert cert.valid_after <= before
    private = load_ssh_private_key(key_file.read_bytes(), password=None)
    assert openssh(cert.public_key()) == openssh(private.public_key())
    assert pub_file.read_text().split()[:2] == openssh(private.public_key()).split()

    assert data["principals"] == [USER]
    assert abs(data["remaining_seconds"] - 900) <= 5
    assert data["state"] == "valid"
    # only the public key travelled: the server never generated or saw a private key
    assert site.events("keys_generated") == 0
    assert site.requests("POST /gen_key") == 0
    assert site.events("twofa_approved") == 1


def test_a_valid_certificate_is_reused_unless_renew(site: Site) -> None:
    site.login()
    first = site.run("req_certificate.py", "--valid-time", "600")
    assert first.returncode == 0, first.describe()
    serial = load_cert(site.creds / "id_ed25519-cert.pub").serial
    assert site.events("cert_requests") == 1

    again = site.run("req_certificate.py", "--valid-time", "600")
    assert again.returncode == 0, again.describe()
    assert again.data["reused"] is True and again.data["status"] == "valid"
    assert site.events("cert_requests") == 1  # no second 2FA
    assert load_cert(site.creds / "id_ed25519-cert.pub").serial == serial

    longer = site.run("req_certificate.py", "--valid-time", "7200")  # asks for more than held
    assert longer.data["status"] == "issued"
    assert site.events("cert_requests") == 2

    renewed = site.run("req_certificate.py", "--valid-time", "7200", "--renew")
    assert renewed.data["status"] == "issued"
    assert site.events("cert_requests") == 3
    assert load_cert(site.creds / "id_ed25519-cert.pub").serial != serial


def test_denied_2fa(manual: Site, background: Callable[..., Future[Result]]) -> None:
    site = manual
    site.login()
    future = background(site.run, "req_certificate.py")
    pending = site.sim.wait_for_2fa(1, timeout=15)
    assert [p["kind"] for p in pending] == ["sign_cert"]
    assert site.sim.deny_2fa(pending[0]["id"])
    result = future.result(timeout=30)
    assert result.returncode == 4
    assert result.error["type"] == "2fa_denied"
    assert not (site.creds / "id_ed25519-cert.pub").exists()
    assert not (site.creds / "id_ed25519").exists()


def test_2fa_timeout(manual: Site) -> None:
    """Nobody approves: the server gives up after its 2FA timeout. (The client's own deadline,
    --wait-timeout plus a 30 s slack, is covered by the unit tests with a mocked timeout.)"""
    site = manual
    site.login()
    site.sim.configure(twofa_timeout=1)
    started = time.monotonic()
    result = site.run("req_certificate.py", "--wait-timeout", "1")
    assert time.monotonic() - started < 15
    assert result.returncode == 4
    assert result.error["type"] == "2fa_timeout"
    assert not (site.creds / "id_ed25519-cert.pub").exists()


def test_unbound_second_factor(site: Site) -> None:
    site.login(UNBOUND.name, UNBOUND.password)
    result = site.run("req_certificate.py")  # the remembered user is the unbound one
    assert result.returncode == 4
    assert result.error["type"] == "second_factor_unbound"
    assert SECURITY_DOCS in result.error["hint"]
    assert site.events("certs_issued") == 0
    assert not (site.creds / "id_ed25519-cert.pub").exists()


def test_certificate_without_a_token(site: Site) -> None:
    result = site.run("req_certificate.py", USER)
    assert result.returncode == 4
    assert result.error["type"] == "no_token"
    assert not site.creds.exists() or not any(site.creds.iterdir())  # no key made in vain


def test_server_keygen(site: Site) -> None:
    site.login()
    result = site.run("req_certificate.py", "--server-keygen")
    assert result.returncode == 0, result.describe()
    assert result.data["key_source"] == "server"
    assert site.events("keys_generated") == 1
    key_file = site.creds / "id_ed25519"
    assert mode(key_file) == 0o600
    cert = load_cert(site.creds / "id_ed25519-cert.pub")
    cert.verify_cert_signature()
    private = load_ssh_private_key(key_file.read_bytes(), password=None)
    assert openssh(cert.public_key()) == openssh(private.public_key())
    assert cert.valid_before - cert.valid_after == 3600 + 30  # site default, plus sim skew


# -- req_certificate --no-wait + cert_status -------------------------------------------------


def test_no_wait_pending_then_issued(manual: Site) -> None:
    site = manual
    site.login()
    started = time.monotonic()
    result = site.run("req_certificate.py", "--no-wait", "--valid-time", "1200")
    assert time.monotonic() - started < 10
    assert result.returncode == 0, result.describe()
    data = result.data
    assert data["status"] == "pending" and data["user"] == USER
    assert data["poll"] == "cert_status.py"

    pending = site.sim.wait_for_2fa(1, timeout=15)
    assert len(pending) == 1
    status = site.run("cert_status.py").data
    assert status["status"] == "pending" and status["usable"] is False

    joined = site.run("req_certificate.py", "--no-wait")
    assert joined.data["status"] == "pending" and joined.data["joined"] is True
    assert joined.data["request_id"] == data["request_id"]
    time.sleep(0.3)
    assert len(site.sim.pending_2fa()) == 1  # no second 2FA
    assert site.events("cert_requests") == 1

    assert site.sim.approve_2fa(pending[0]["id"])
    status = wait_for_status(site, "valid")
    assert status["usable"] is True and status["key_matches"] is True
    assert status["last_request"]["status"] == "issued"
    assert status["principals"] == [USER]
    assert abs(status["remaining_seconds"] - 1200) <= 10
    cert = load_cert(site.creds / "id_ed25519-cert.pub")
    cert.verify_cert_signature()
    assert mode(site.creds / "id_ed25519") == 0o600
    assert not (site.creds / "id_ed25519.pending").exists()
    assert site.events("keys_generated") == 0


def test_no_wait_denied(manual: Site) -> None:
    site = manual
    site.login()
    assert site.run("req_certificate.py", "--no-wait").data["status"] == "pending"
    pending = site.sim.wait_for_2fa(1, timeout=15)
    assert site.sim.deny_2fa(pending[0]["id"])
    status = wait_for_status(site, "denied")
    assert status["usable"] is False
    assert status["last_request"]["error"]["type"] == "2fa_denied"
    assert not (site.creds / "id_ed25519-cert.pub").exists()
    assert not (site.creds / "id_ed25519.pending").exists()


def test_cert_status_missing(site: Site) -> None:
    result = site.run("cert_status.py")
    assert result.returncode == 0
    assert result.data["exists"] is False
    assert result.data["status"] == "missing" and result.data["usable"] is False
    assert "req_certificate" in result.data["hint"]


def test_cert_status_valid_and_expiring(site: Site) -> None:
    site.login()
    assert site.run("req_certificate.py", "--valid-time", "600").returncode == 0
    valid = site.run("cert_status.py", "--min-valid", "300").data
    assert (valid["status"], valid["usable"], valid["exists"]) == ("valid", True, True)
    assert valid["principals"] == [USER]
    valid_to = datetime.fromisoformat(valid["valid_to"])
    assert abs((valid_to - datetime.now(timezone.utc)).total_seconds() - 600) <= 10

    expiring = site.run("cert_status.py", "--min-valid", "3600").data
    assert expiring["status"] == "expiring" and expiring["usable"] is False
    assert expiring["min_valid"] == 3600


def test_cert_status_expired(site: Site) -> None:
    private, public = generate_key_pair()
    register_secret(private)
    past = int(time.time()) - 7200
    cert = sign_user_cert(site.sim.ca, load_ssh_public_key(public.encode()), USER, 99, 600, past)
    site.creds.mkdir(mode=0o700)
    for name, text in (
        ("id_ed25519", private),
        ("id_ed25519.pub", public),
        ("id_ed25519-cert.pub", cert),
    ):
        (site.creds / name).write_text(text.strip() + "\n")
        (site.creds / name).chmod(0o600)
    data = site.run("cert_status.py").data
    assert data["exists"] is True and data["key_matches"] is True
    assert data["status"] == "expired" and data["usable"] is False
    assert data["remaining_seconds"] == 0


# -- user_info, quota ------------------------------------------------------------------------


def test_user_info(site: Site) -> None:
    site.login()
    data = site.run("user_info.py").data
    assert data["account"] == "acct-demo"
    assert data["user"]["name"] == USER
    assert data["user"]["home"] == f"%H/home/acct-demo/{USER}"
    assert data["homes"] == {
        "pi": f"/lustre/home/acct-demo/{USER}",
        "kp": f"/lustre/home/acct-demo/{USER}",
        "sy": f"/dssg/home/acct-demo/{USER}",
    }
    assert data["user"]["email"] == DEMO_USER.email
    on_sy = site.run("user_info.py", "--node-group", "sy").data
    assert on_sy["home"] == f"/dssg/home/acct-demo/{USER}"
    unknown = site.run("user_info.py", "--node-group", "xx")
    assert unknown.returncode == 2 and "pi, kp, sy" in unknown.error["hint"]
    human = site.run("user_info.py", "--name", USER, "--human")
    assert human.returncode == 0 and "account: acct-demo" in human.stdout


def test_user_info_needs_a_token(site: Site) -> None:
    result = site.run("user_info.py", "--name", USER)
    assert result.returncode == 4 and result.error["type"] == "no_token"


def test_quota_both_user_and_account(site: Site) -> None:
    site.login()
    both = site.run("quota.py").data
    assert both["user"]["name"] == USER
    assert both["account"]["name"] == "acct-demo"  # derived from the home path
    assert both["user"]["quota"]["quota_type"] == "user"
    assert both["account"]["quota"]["quota_type"] == "account"
    assert {q["storage"] for q in both["user"]["quota"]["quotas"]} == {"lustre", "dssg"}

    user_only = site.run("quota.py", "--type", "user").data
    assert set(user_only) == {"user"}
    account_only = site.run("quota.py", "--type", "account").data
    assert set(account_only) == {"account"}
    assert account_only["account"]["name"] == "acct-demo"


def test_quota_of_a_named_account_needs_no_token(site: Site) -> None:
    data = site.run("quota.py", "--type", "account", "--account", "acct-demo").data
    assert data["account"]["quota"]["name"] == "acct-demo"
    unknown = site.run("quota.py", "--type", "user", "--name", "nobody")
    assert unknown.returncode == 6
    assert unknown.error["type"] == "not_found"


# -- update_user (two-phase, then 2FA) -------------------------------------------------------


def test_update_user_plan_then_confirm(site: Site) -> None:
    site.login()
    plan = site.run("update_user.py", "--email", "new@example.org")
    assert plan.returncode == 3
    error = plan.error
    assert error["type"] == "confirmation_required"
    assert error["plan"]["changes"] == {"email": "new@example.org"}
    assert error["plan"]["user"] == USER
    token = error["confirm"]
    assert site.sim.users[USER].email == DEMO_USER.email  # nothing changed
    assert site.requests("PATCH /user") == 0

    done = site.run("update_user.py", "--email", "new@example.org", "--confirm", token)
    assert done.returncode == 0, done.describe()
    assert done.data == {"status": "updated", "user": USER, "changed": ["email"]}
    assert site.sim.users[USER].email == "new@example.org"
    assert site.events("twofa_approved") == 1


def test_update_user_refuses_a_changed_or_tampered_plan(site: Site) -> None:
    site.login()
    token = site.run("update_user.py", "--email", "a@example.org").error["confirm"]

    changed = site.run("update_user.py", "--email", "b@example.org", "--confirm", token)
    assert changed.returncode == 3
    assert changed.error["type"] == "confirmation_mismatch"
    assert changed.error["plan"]["changes"] == {"email": "b@example.org"}

    other_action = site.run("update_user.py", "--jaccount", "a", "--confirm", token)
    assert other_action.returncode == 3

    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    bad = site.run("update_user.py", "--email", "a@example.org", "--confirm", tampered)
    assert bad.returncode == 3
    assert bad.error["type"] == "confirmation_mismatch"

    other_ws = site.ws.parent / "other-ws"
    other_ws.mkdir()
    foreign = site.run(
        "update_user.py",
        "--name",
        USER,
        "--email",
        "a@example.org",
        "--confirm",
        token,
        ws=other_ws,
    )
    assert foreign.returncode == 3

    assert site.requests("PATCH /user") == 0
    assert site.sim.users[USER].email == DEMO_USER.email


def test_update_password_from_stdin(site: Site) -> None:
    site.login()
    new_password = "brand-new-Passw0rd"
    register_secret(new_password)
    plan = site.run("update_user.py", "--new-password-stdin", input=new_password + "\n")
    assert plan.returncode == 3
    assert plan.error["plan"]["changes"] == {"password": "***"}
    assert site.sim.users[USER].password == PASSWORD

    done = site.run(
        "update_user.py",
        "--new-password-stdin",
        "--confirm",
        plan.error["confirm"],
        input=new_password + "\n",
    )
    assert done.returncode == 0, done.describe()
    assert site.sim.users[USER].password == new_password
    for result in (plan, done):
        assert new_password not in outputs(result)


def test_a_password_plan_cannot_confirm_another_password(site: Site, tmp_path: Path) -> None:
    """Audit 2026-12-04, section 4: the plan call left its file on disk, and its token
    confirmed a different password given on stdin."""
    site.login()
    planned, other = "Plan-Pass-111", "Other-Pass-99"
    for password in (planned, other):
        register_secret(password)
    first = tmp_path / "p1.txt"
    first.write_text(planned + "\n")
    plan = site.run("update_user.py", "--new-password-textfile", str(first))
    assert plan.returncode == 3, plan.describe()
    assert not first.exists()  # deleted at plan time: the user uploads it again to confirm
    token = plan.error["confirm"]

    swapped = site.run("update_user.py", "--new-password-stdin", "--confirm", token,
                       input=other + "\n")
    assert swapped.returncode == 3, swapped.describe()
    assert swapped.error["type"] == "confirmation_mismatch"
    assert site.requests("PATCH /user") == 0
    assert site.sim.users[USER].password == PASSWORD

    again = tmp_path / "p1-again.txt"
    again.write_text(planned + "\n")
    done = site.run("update_user.py", "--new-password-textfile", str(again), "--confirm", token)
    assert done.returncode == 0, done.describe()
    assert not again.exists()
    assert site.sim.users[USER].password == planned
    for result in (plan, swapped, done):
        assert planned not in outputs(result) and other not in outputs(result)
        assert "*** password" not in outputs(result)


def test_update_user_bad_input_leaves_the_password_file(site: Site, tmp_path: Path) -> None:
    """Exit 2 changes nothing, the password file included (as req_token.py)."""
    site.login()
    password_file = tmp_path / "p.txt"
    password_file.write_text("Some-Pass-4242\n")
    register_secret("Some-Pass-4242")
    result = site.run("update_user.py", "--new-password-textfile", str(password_file),
                      "--email", "not-an-email")
    assert result.returncode == 2 and result.error["type"] == "invalid_email"
    assert password_file.exists()


def test_update_user_denied(manual: Site, background: Callable[..., Future[Result]]) -> None:
    site = manual
    site.login()
    token = site.run("update_user.py", "--contact-method", "jwb").error["confirm"]
    future = background(site.run, "update_user.py", "--contact-method", "jwb", "--confirm", token)
    pending = site.sim.wait_for_2fa(1, timeout=15)
    assert pending[0]["kind"] == "patch_user"
    site.sim.deny_2fa(pending[0]["id"])
    result = future.result(timeout=30)
    assert result.returncode == 4 and result.error["type"] == "2fa_denied"
    assert site.sim.users[USER].contact_method == "email"


# -- contract: --help, bad input, package missing --------------------------------------------


def test_every_script_has_help() -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda name: run_script(SKILL, name, "--help"), SCRIPTS))
    for result in results:
        assert result.returncode == 0, result.describe()
        assert "Usage:" in result.stdout and "--workspace" in result.stdout
        assert result.stderr == ""


BAD_INPUT = {
    "req_token.py": [
        (["a;b", "--password-stdin"], "invalid_username"),
        ([], "usage_error"),
        ([USER, "--textfile", "/nonexistent/pw"], "textfile_missing"),
    ],
    "refresh_token.py": [(["--bogus"], "usage_error")],
    "req_certificate.py": [
        ([USER, "--valid-time", "10"], "usage_error"),
        ([USER, "--valid-time", "soon"], "usage_error"),
        ([USER, "--wait-timeout", "0"], "usage_error"),
        (["a;b"], "invalid_username"),
        ([], "username_required"),
    ],
    "cert_status.py": [(["--min-valid", "-1"], "usage_error")],
    "user_info.py": [(["--name", "a;b"], "invalid_username"), ([], "username_required")],
    "quota.py": [
        (["--name", USER, "--type", "disk"], "usage_error"),
        (["--name", "$(id)"], "invalid_username"),
    ],
    "update_user.py": [
        (["--name", USER], "bad_input"),
        (["--name", USER, "--email", "not-an-email"], "invalid_email"),
        (["--name", USER, "--contact-method", "fax"], "bad_input"),
        (
            ["--name", USER, "--new-password-stdin", "--new-password-textfile", "/tmp/x"],
            "password_source",
        ),
    ],
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_input_is_exit_2_json(site: Site, name: str) -> None:
    cases = BAD_INPUT[name]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(
                lambda args: site.run(name, *args, input=PASSWORD + "\n"), [a for a, _ in cases]
            )
        )
    for result, (_, error_type) in zip(results, cases, strict=True):
        assert result.returncode == 2, result.describe()
        assert result.error["type"] == error_type, result.describe()
        assert result.error["retryable"] is False
    assert site.sim.stats().get("requests", {}) == {}  # nothing reached the API


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python without hpc-skills (a fresh venv without pip)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import hpcskills"], capture_output=True)
    assert probe.returncode != 0
    return str(python)


@pytest.mark.parametrize("name", SCRIPTS)
def test_package_missing_is_one_json_error(
    bare_python: str, tmp_path: Path, name: str
) -> None:
    result = run_script(SKILL, name, "--workspace", str(tmp_path), python=bare_python,
                        env={"PATH": path_without_isolated_install()})
    assert result.returncode == 1
    error = result.error
    assert error["type"] == "package_missing"
    assert "pip install hpc-skills" in error["hint"]
    assert bare_python in error["hint"]
