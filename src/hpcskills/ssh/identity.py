"""The client identity in the credentials dir: key, certificate, pinned host keys, TOTP."""

from __future__ import annotations

from datetime import datetime, timezone

from hpcskills.core.credstore import CredentialStore
from hpcskills.core.errors import AuthRequired, RemoteError
from hpcskills.core.redact import register_secret
from hpcskills.core.workspace import Workspace
from hpcskills.ssh.base import Identity
from hpcskills.ssh.certs import (
    CERT_FILE,
    KEY_FILE,
    CertInfo,
    judge,
    parse_certificate,
    public_line_of,
)

KNOWN_HOSTS_FILE = "known_hosts"
TOTP_SECRET_FILE = "totp_secret"
RENEW_HINT = "request a certificate with req_certificate.py (the user must approve 2FA)"


def stored_certificate(creds: CredentialStore) -> CertInfo | None:
    """The certificate in the credentials dir, or None when there is none."""
    text = creds.read_text(CERT_FILE)
    return None if text is None else parse_certificate(text)


def key_matches(creds: CredentialStore, info: CertInfo) -> bool:
    """Whether the stored private key is the one the certificate certifies."""
    pem = creds.read_text(KEY_FILE)
    if pem is None:
        return False
    register_secret(pem)
    try:
        return public_line_of(pem + "\n") == info.public_key
    except (ValueError, TypeError):
        return False


def identity_of(workspace: Workspace) -> Identity:
    """Where the key, certificate, pinned host keys and TOTP secret are (nothing is read)."""
    creds = workspace.credentials()
    totp = creds.path(TOTP_SECRET_FILE)
    return Identity(
        key_path=creds.path(KEY_FILE),
        cert_path=creds.path(CERT_FILE),
        known_hosts=creds.path(KNOWN_HOSTS_FILE),
        totp_secret_path=totp if totp.exists() else None,
    )


def verify_identity(workspace: Workspace, min_valid: int = 30, hint: str = RENEW_HINT) -> None:
    """Before a login: AuthRequired (exit 4) when the certificate is missing, expired, not
    yet valid, or not for the stored key. (A live shared connection needs no check.)"""
    creds = workspace.credentials()
    try:
        info = stored_certificate(creds) if creds.directory.exists() else None
    except RemoteError:
        raise AuthRequired(
            "the stored SSH certificate is damaged", type="certificate_corrupt", hint=hint
        ) from None
    if info is None:
        raise AuthRequired("no SSH certificate in the workspace", type="no_certificate", hint=hint)
    state = judge(info, datetime.now(timezone.utc), min_valid)
    if state in ("expired", "expiring"):
        raise AuthRequired(
            f"the SSH certificate expired at {info.valid_before.isoformat()}",
            type="certificate_expired",
            hint=hint,
        )
    if state == "not_yet_valid":
        raise AuthRequired(
            "the SSH certificate is not valid yet (check the clock)",
            type="certificate_not_yet_valid",
            hint=hint,
        )
    if not key_matches(creds, info):
        raise AuthRequired(
            "the SSH key does not match the certificate", type="certificate_key_mismatch", hint=hint
        )
