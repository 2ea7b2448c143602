"""SSH key pairs and OpenSSH user certificates: generate, parse, judge (pure functions)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

from hpcskills.core.errors import RemoteError

KEY_FILE = "id_ed25519"
PUBLIC_KEY_FILE = "id_ed25519.pub"
CERT_FILE = "id_ed25519-cert.pub"


@dataclass(frozen=True)
class KeyPair:
    """An OpenSSH private key (PEM) and its public key line."""

    private_pem: str
    public_line: str


def generate_ed25519(comment: str) -> KeyPair:
    """A fresh Ed25519 key pair, made on this machine."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return KeyPair(private_pem, f"{public.decode()} {comment}")


def public_line_of(private_pem: str) -> str:
    """The `type base64` public key of an OpenSSH private key."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def fingerprint(public_line: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line."""
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class CertInfo:
    """What an OpenSSH user certificate says."""

    key_id: str
    serial: int
    principals: list[str]
    valid_after: datetime
    valid_before: datetime
    public_key: str
    ca_fingerprint: str

    def remaining_seconds(self, now: datetime) -> int:
        return max(0, int((self.valid_before - now).total_seconds()))


def _utc(stamp: int) -> datetime:
    return datetime.fromtimestamp(min(stamp, 253402300799), timezone.utc)


def parse_certificate(text: str) -> CertInfo:
    """Parse an OpenSSH certificate line; RemoteError when it is not one."""
    from cryptography.hazmat.primitives import serialization  # only where a cert is read

    try:
        cert = serialization.load_ssh_public_identity(text.strip().encode())
    except (ValueError, IndexError, TypeError):
        raise RemoteError(
            "the certificate is not a valid OpenSSH certificate", type="certificate_invalid"
        ) from None
    if not isinstance(cert, serialization.SSHCertificate):
        raise RemoteError(
            "expected an OpenSSH certificate, got a plain public key", type="certificate_invalid"
        )
    public = (
        cert.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    ca = (
        cert.signature_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return CertInfo(
        key_id=cert.key_id.decode(errors="replace"),
        serial=cert.serial,
        principals=[p.decode(errors="replace") for p in cert.valid_principals],
        valid_after=_utc(cert.valid_after),
        valid_before=_utc(cert.valid_before),
        public_key=public,
        ca_fingerprint=fingerprint(ca),
    )


def judge(info: CertInfo, now: datetime, min_valid: int) -> str:
    """'valid', 'expiring' (less than min_valid left), 'expired' or 'not_yet_valid'."""
    if now < info.valid_after:
        return "not_yet_valid"
    remaining = info.remaining_seconds(now)
    if remaining == 0:
        return "expired"
    return "valid" if remaining >= min_valid else "expiring"
