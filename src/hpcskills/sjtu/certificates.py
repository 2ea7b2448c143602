"""Request, store and report the SSH certificate (the 2FA-guarded part of the credentials)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from hpcskills.core.credstore import CredentialStore
from hpcskills.core.errors import HpcError, RemoteError
from hpcskills.core.processes import process_alive
from hpcskills.core.progress import call_with_progress
from hpcskills.core.redact import register_secret
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.site import SiteProfile, parse_site
from hpcskills.sjtu.tokens import load_token, usable_token
from hpcskills.ssh.certs import (
    CERT_FILE,
    KEY_FILE,
    PUBLIC_KEY_FILE,
    CertInfo,
    KeyPair,
    generate_ed25519,
    judge,
    parse_certificate,
    public_line_of,
)
from hpcskills.ssh.identity import key_matches, stored_certificate

REQUEST_FILE = "cert_request.json"
REQUEST_LOG = "cert_request.log"
PENDING_KEY_FILE = "id_ed25519.pending"
REUSE_SLACK_SECONDS = 60  # a certificate issued a moment ago for the same time is reused
TWOFA_NOTICE = "waiting for the user to approve two-factor authentication (JWB app or email)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def describe(info: CertInfo, now: datetime, min_valid: int = 0) -> dict[str, Any]:
    """The JSON view of a certificate."""
    return {
        "principals": info.principals,
        "key_id": info.key_id,
        "serial": info.serial,
        "valid_from": info.valid_after.isoformat(),
        "valid_to": info.valid_before.isoformat(),
        "remaining_seconds": info.remaining_seconds(now),
        "state": judge(info, now, min_valid),
        "ca_fingerprint": info.ca_fingerprint,
    }


def store(creds: CredentialStore, key: KeyPair, certificate: str, user: str) -> CertInfo:
    """Check the certificate against the key and user, then write all three files."""
    info = parse_certificate(certificate)
    if info.public_key != " ".join(key.public_line.split()[:2]):
        raise RemoteError("the signed certificate is for another key", type="certificate_invalid")
    if user not in info.principals:
        raise RemoteError(
            f"the certificate does not name {user} as a principal", type="certificate_invalid"
        )
    creds.write_text(KEY_FILE, key.private_pem)
    creds.write_text(PUBLIC_KEY_FILE, key.public_line + "\n")
    creds.write_text(CERT_FILE, certificate.strip() + "\n")
    return info


def obtain(
    workspace: Workspace,
    site: SiteProfile,
    user: str,
    valid_time: int,
    wait: float,
    key: KeyPair | None,
    report: Callable[[str], None],
) -> CertInfo:
    """Sign a public key (ours, or the server's with key=None), waiting for 2FA; store it."""
    api = HpcApi(site, usable_token(workspace, site))
    if key is None:
        private_pem, public_line = api.gen_key(user)
        key = KeyPair(private_pem.strip() + "\n", public_line.strip())
    report(TWOFA_NOTICE)
    certificate = call_with_progress(
        lambda: api.sign_cert(user, key.public_line, valid_time, wait), report, TWOFA_NOTICE
    )
    return store(workspace.credentials(), key, certificate, user)


def _reusable(creds: CredentialStore, user: str, valid_time: int) -> CertInfo | None:
    try:
        info = stored_certificate(creds)
    except RemoteError:  # a corrupt certificate is replaced like a missing one
        return None
    if info is None or user not in info.principals or not key_matches(creds, info):
        return None
    wanted = max(1, valid_time - REUSE_SLACK_SECONDS)
    return info if judge(info, _now(), wanted) == "valid" else None


def _request_record(workspace: Workspace) -> dict[str, Any] | None:
    record = workspace.state().read(REQUEST_FILE)
    return record if isinstance(record, dict) else None


def _alive(pid: Any) -> bool:
    return isinstance(pid, int) and process_alive(pid)


def pending_request(workspace: Workspace) -> dict[str, Any] | None:
    """The background request still waiting for 2FA, if any (a dead worker is marked failed)."""
    record = _request_record(workspace)
    if not record or record.get("status") != "pending":
        return None
    if _alive(record.get("pid")):
        return record
    record.update(
        status="failed", error={"type": "worker_died", "message": "the background request stopped"}
    )
    workspace.state().write(REQUEST_FILE, record)
    return None


def request_certificate(
    workspace: Workspace,
    site: SiteProfile,
    user: str,
    *,
    valid_time: int,
    wait: float,
    server_keygen: bool,
    renew: bool,
    no_wait: bool,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """Reuse a good certificate, join a pending request, or ask for a new one."""
    creds = workspace.credentials()
    current = None if renew else _reusable(creds, user, valid_time)
    if current is not None:
        return {
            "status": "valid",
            "reused": True,
            "user": user,
            "certificate_file": str(creds.path(CERT_FILE)),
            **describe(current, _now()),
        }
    pending = pending_request(workspace)
    if pending is not None:
        return {**_pending_view(workspace, pending), "joined": True}
    load_token(workspace)  # fail fast, before any key is made
    key = None if server_keygen else generate_ed25519(f"hpc-skills:{user}")
    if no_wait:
        return start_background(workspace, site, user, valid_time, wait, key)
    info = obtain(workspace, site, user, valid_time, wait, key, report)
    return _issued_view(creds, user, info, server_keygen)


def _issued_view(
    creds: CredentialStore, user: str, info: CertInfo, server_keygen: bool
) -> dict[str, Any]:
    return {
        "status": "issued",
        "user": user,
        "key_source": "server" if server_keygen else "local",
        "key_file": str(creds.path(KEY_FILE)),
        "certificate_file": str(creds.path(CERT_FILE)),
        **describe(info, _now()),
    }


def _pending_view(workspace: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "pending",
        "request_id": record["id"],
        "user": record["user"],
        "started_at": record["started_at"],
        "poll": "cert_status.py",
        "log": str(workspace.state_dir / REQUEST_LOG),
        "message": "the user must approve the two-factor request (JWB app or email); "
        "poll cert_status.py until the status is issued, denied or failed",
    }


def start_background(
    workspace: Workspace,
    site: SiteProfile,
    user: str,
    valid_time: int,
    wait: float,
    key: KeyPair | None,
) -> dict[str, Any]:
    """Hand the request to a detached worker and return at once."""
    state = workspace.state()
    if key is not None:
        workspace.credentials().write_text(PENDING_KEY_FILE, key.private_pem)
    else:
        workspace.credentials().remove(PENDING_KEY_FILE)
    record: dict[str, Any] = {
        "id": secrets.token_hex(8),
        "status": "pending",
        "user": user,
        "valid_time": valid_time,
        "wait": wait,
        "server_keygen": key is None,
        "started_at": _now().isoformat(),
        "pid": None,
        "site": site.to_document(),
    }
    state.write(REQUEST_FILE, record)
    log_path = workspace.state_dir / REQUEST_LOG
    with open(log_path, "ab") as log_file:
        os.chmod(log_path, 0o600)
        worker = subprocess.Popen(
            [sys.executable, "-m", "hpcskills.sjtu.cert_worker", str(workspace.root), record["id"]],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            close_fds=True,
        )
    record["pid"] = worker.pid
    current = _request_record(workspace)
    if current and current.get("id") == record["id"] and current.get("status") == "pending":
        state.write(REQUEST_FILE, {**current, "pid": worker.pid})
    return _pending_view(workspace, record)


def run_background_request(
    workspace: Workspace, request_id: str, report: Callable[[str], None]
) -> None:
    """The worker's job: obtain the certificate and record the outcome."""
    record = _request_record(workspace)
    if not record or record.get("id") != request_id:
        report("no such pending request")
        return
    site = parse_site(record["site"])
    record["pid"] = os.getpid()
    workspace.state().write(REQUEST_FILE, record)
    creds = workspace.credentials()
    key = None
    if not record.get("server_keygen"):
        pem = creds.read_text(PENDING_KEY_FILE)
        if pem is None:
            _finish(workspace, record, "failed", HpcError("the pending key is missing"))
            return
        register_secret(pem)
        key = KeyPair(pem + "\n", public_line_of(pem + "\n") + f" hpc-skills:{record['user']}")
    try:
        info = obtain(
            workspace,
            site,
            record["user"],
            int(record["valid_time"]),
            float(record["wait"]),
            key,
            report,
        )
    except HpcError as exc:
        status = "denied" if exc.type == "2fa_denied" else "failed"
        _finish(workspace, record, status, exc)
        return
    finally:
        creds.remove(PENDING_KEY_FILE)
    record.update(
        status="issued", finished_at=_now().isoformat(), valid_to=info.valid_before.isoformat()
    )
    workspace.state().write(REQUEST_FILE, record)


def _finish(workspace: Workspace, record: dict[str, Any], status: str, exc: HpcError) -> None:
    record.update(status=status, finished_at=_now().isoformat(), error=exc.to_dict())
    workspace.state().write(REQUEST_FILE, record)


def certificate_status(workspace: Workspace, min_valid: int) -> dict[str, Any]:
    """The stored certificate and the last background request, judged against min_valid."""
    creds = workspace.credentials()
    now = _now()
    pending = pending_request(workspace)
    record = _request_record(workspace)
    try:
        info = stored_certificate(creds) if creds.directory.exists() else None
    except RemoteError as exc:  # the file is there but not a certificate
        info, corrupt = None, exc.message
    else:
        corrupt = None
    result: dict[str, Any] = {"exists": info is not None or corrupt is not None,
                              "min_valid": min_valid}
    if corrupt is not None:
        result.update(state="corrupt", problem=corrupt,
                      certificate_file=str(creds.path(CERT_FILE)))
    if info is not None:
        result.update(
            describe(info, now, min_valid),
            key_matches=key_matches(creds, info),
            certificate_file=str(creds.path(CERT_FILE)),
        )
    cert_state = result.get("state", "missing")
    if cert_state == "valid" and not result.get("key_matches"):
        cert_state = "key_mismatch"
    if pending is not None:
        status = "pending"
    elif record and record.get("status") in ("denied", "failed") and cert_state != "valid":
        status = record["status"]
    else:
        status = cert_state
    result["status"] = status
    result["usable"] = cert_state == "valid"
    if record:
        result["last_request"] = {
            k: record.get(k) for k in ("id", "status", "user", "started_at", "finished_at", "error")
        }
    result["hint"] = _status_hint(status)
    return result


def _status_hint(status: str) -> str:
    return {
        "valid": "the certificate can be used",
        "pending": "the user has not yet approved two-factor authentication; poll again",
        "denied": "the user denied the two-factor request; ask before trying again",
        "corrupt": "the stored certificate file is damaged: request a new one with "
        "req_certificate.py (the user must approve 2FA)",
    }.get(status, "request a certificate with req_certificate.py (the user must approve 2FA)")
