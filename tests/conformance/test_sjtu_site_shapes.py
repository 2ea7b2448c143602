"""The SJTU simulator judged by the site's own request shapes, and the pack's client judged
by the same shapes through a recording proxy (facts/sjtu.md, "On the wire")."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    SSHCertificate,
    load_ssh_public_identity,
)

from hpcskills.core.errors import AuthRequired, HpcError, RemoteError
from hpcskills.sim.sjtu import DEMO_USER, ERROR_STYLES, SjtuSimulator
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.site import SiteProfile, parse_site

from recording_proxy import RecordingProxy
from sjtu_site_client import SITE_SHAPES, SiteError, SiteScripts, shape_problems

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"
USER, PASSWORD = DEMO_USER.name, DEMO_USER.password
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                   "no_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture
def sim() -> Iterator[SjtuSimulator]:
    with SjtuSimulator([DEMO_USER], approve_after=0, twofa_timeout=5, log=None) as simulator:
        yield simulator  # type: ignore[misc]


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """Every client in the test reaches the simulator through the recording proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with RecordingProxy() as recording:
        monkeypatch.setenv("HTTP_PROXY", recording.url)
        yield recording


@pytest.fixture
def site(sim: SjtuSimulator) -> SiteProfile:
    document = json.loads(SITE_FILE.read_text())
    return parse_site({**document, "api": {**document["api"], "base_url": sim.base_url}})


def problems_of(proxy: RecordingProxy) -> list[str]:
    found = []
    for request in proxy.requests:
        found += shape_problems(request.method, request.path, request.headers, request.json(),
                                request.query)
    return found


def cert_key(cert: str) -> bytes:
    loaded = load_ssh_public_identity(cert.strip().encode())
    assert isinstance(loaded, SSHCertificate)
    return loaded.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)


def test_the_site_scripts_work_against_the_simulator(
    sim: SjtuSimulator, proxy: RecordingProxy
) -> None:
    scripts = SiteScripts(sim.base_url)
    first = scripts.token(USER, PASSWORD)
    token = scripts.refresh(first)
    with pytest.raises(SiteError) as refused:
        scripts.refresh(first)  # the old token stopped working
    assert refused.value.status == 401
    private_key, public_key = scripts.gen_key(token, USER)
    assert "OPENSSH PRIVATE KEY" in private_key and public_key.startswith("ssh-ed25519 ")
    cert = scripts.sign_cert(token, USER, public_key)
    assert cert_key(cert) == public_key.encode()
    assert scripts.user(token, USER)["home"] == f"%H/home/acct-demo/{USER}"
    assert scripts.quota("user", USER)["name"] == USER
    assert scripts.quota("account", "acct-demo")["name"] == "acct-demo"
    assert len(proxy.requests) == 8
    assert problems_of(proxy) == []  # the judge agrees with itself
    assert {(r.method, r.path) for r in proxy.requests} == set(SITE_SHAPES)


def test_the_pack_sends_the_site_scripts_shapes_through_a_proxy(
    site: SiteProfile, proxy: RecordingProxy
) -> None:
    """One full session of the pack's client, recorded by a proxy it found in HTTP_PROXY."""
    api = HpcApi(site)
    api.request_token(USER, PASSWORD)
    api.refresh_token()
    api.gen_key(USER)
    key = Ed25519PrivateKey.generate().public_key()
    local_public = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    cert = api.sign_cert(USER, f"{local_public} hpc-skills:{USER}", 3600, wait=10)
    assert cert_key(cert) == local_public.encode()
    assert api.get_user(USER)["home"].startswith("%H/")
    api.get_quota("user", USER)
    api.get_quota("account", "acct-demo")
    assert [(r.method, r.path) for r in proxy.requests] == [
        ("POST", "/token"), ("PATCH", "/token"), ("POST", "/gen_key"), ("POST", "/sign_cert"),
        ("GET", "/user"), ("GET", "/quota"), ("GET", "/quota"),
    ]
    assert problems_of(proxy) == []
    assert all(r.status == 200 for r in proxy.requests)


def test_credentials_pass_between_the_site_scripts_and_the_pack(
    site: SiteProfile, sim: SjtuSimulator
) -> None:
    scripts = SiteScripts(sim.base_url)
    api = HpcApi(site, scripts.token(USER, PASSWORD))
    theirs_refreshed_by_us = api.refresh_token()
    ours_refreshed_by_them = scripts.refresh(theirs_refreshed_by_us)
    assert HpcApi(site, ours_refreshed_by_them).get_user(USER)["name"] == USER


@pytest.mark.parametrize("style", ERROR_STYLES)
def test_the_pack_reads_every_error_form(sim: SjtuSimulator, site: SiteProfile,
                                         style: str) -> None:
    sim.configure(error_style=style, approve_after=None, twofa_timeout=0.3)
    api = HpcApi(site)
    api.request_token(USER, PASSWORD)

    sim.inject_failure("GET", "/user")
    with pytest.raises(RemoteError) as internal:
        api.get_user(USER)
    assert internal.value.type == "internal_error"
    assert re.fullmatch(UUID, internal.value.details["session_id"])
    assert internal.value.details["session_id"] in (internal.value.hint or "")

    public = Ed25519PrivateKey.generate().public_key().public_bytes(
        Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    with pytest.raises(AuthRequired) as timed_out:
        api.sign_cert(USER, public, 3600, wait=10)
    assert timed_out.value.type == "2fa_timeout"

    sim.configure(twofa_timeout=10)
    outcome: list[HpcError] = []

    def request() -> None:
        try:
            api.sign_cert(USER, public, 3600, wait=10)
        except HpcError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=request)
    worker.start()
    (pending,) = sim.wait_for_2fa()
    sim.deny_2fa(pending["id"])
    worker.join(10)
    assert [e.type for e in outcome] == ["2fa_denied"]

    sim.expire_tokens()
    with pytest.raises(AuthRequired) as expired:
        api.refresh_token()
    assert expired.value.type == "token_invalid"
    assert expired.value.details["body"]  # kept, whatever its language
