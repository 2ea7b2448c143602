"""SSH keys and certificates: generate, parse, judge, fingerprint (pure functions)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_ssh_private_key, load_ssh_public_key

from hpcskills.core.errors import RemoteError
from hpcskills.sim.sjtu import ca_public_line, sign_user_cert
from hpcskills.ssh.certs import (
    CertInfo,
    fingerprint,
    generate_ed25519,
    judge,
    parse_certificate,
    public_line_of,
)

NOW = 1_700_000_000
CA = Ed25519PrivateKey.generate()


def utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, timezone.utc)


def make_cert(user: str = "hpcrobot", valid_time: int = 3600, now: int = NOW,
              serial: int = 7) -> tuple[str, str]:
    key = generate_ed25519("c")
    public = load_ssh_public_key(key.public_line.encode())
    return sign_user_cert(CA, public, user, serial, valid_time, now), key.public_line


def test_generated_key_pair_is_ed25519_and_consistent() -> None:
    key = generate_ed25519("hpc-skills:hpcrobot")
    assert key.private_pem.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert isinstance(load_ssh_private_key(key.private_pem.encode(), None), Ed25519PrivateKey)
    kind, blob, comment = key.public_line.split()
    assert (kind, comment) == ("ssh-ed25519", "hpc-skills:hpcrobot")
    assert public_line_of(key.private_pem) == f"{kind} {blob}"
    assert generate_ed25519("x").public_line != key.public_line


def test_parse_certificate() -> None:
    cert, public_line = make_cert(valid_time=7200)
    info = parse_certificate(cert + "\n")
    assert info.principals == ["hpcrobot"]
    assert info.serial == 7
    assert info.key_id == "hpc-sim:hpcrobot:7"
    assert info.valid_after == utc(NOW - 30)
    assert info.valid_before == utc(NOW + 7200)
    assert info.public_key == " ".join(public_line.split()[:2])
    assert info.ca_fingerprint == fingerprint(ca_public_line(CA))


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "ssh-ed25519-cert-v01@openssh.com AAAAnotbase64!!",
     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMlR0ZcRnv3V0YBa1JuwsVjBjyBlXmTZ5vl8rIFqk5rP x"],
)
def test_not_a_certificate(text: str) -> None:
    with pytest.raises(RemoteError) as caught:
        parse_certificate(text)
    assert caught.value.type == "certificate_invalid"


def info_valid(after: float, before: float) -> CertInfo:
    return CertInfo("id", 1, ["u"], utc(after), utc(before), "ssh-ed25519 AAAA", "SHA256:x")


@pytest.mark.parametrize(
    ("now", "min_valid", "state"),
    [
        (NOW - 1, 0, "not_yet_valid"),
        (NOW, 0, "valid"),
        (NOW, 3600, "valid"),
        (NOW, 3601, "expiring"),
        (NOW + 3000, 600, "valid"),
        (NOW + 3001, 600, "expiring"),
        (NOW + 3600, 0, "expired"),
        (NOW + 99999, 0, "expired"),
    ],
)
def test_judge(now: int, min_valid: int, state: str) -> None:
    assert judge(info_valid(NOW, NOW + 3600), utc(now), min_valid) == state


def test_remaining_seconds_never_negative() -> None:
    info = info_valid(NOW, NOW + 100)
    assert info.remaining_seconds(utc(NOW + 40)) == 60
    assert info.remaining_seconds(utc(NOW + 400)) == 0
    assert info.remaining_seconds(utc(NOW) + timedelta(seconds=99.5)) == 0


def test_fingerprint_format() -> None:
    line = generate_ed25519("c").public_line
    fp = fingerprint(line)
    assert fp.startswith("SHA256:") and not fp.endswith("=")
    assert len(fp) == len("SHA256:") + 43


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    line = generate_ed25519("c").public_line
    path = tmp_path / "k.pub"
    path.write_text(line + "\n")
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert out.split()[1] == fingerprint(line)


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_parse_agrees_with_ssh_keygen(tmp_path: Path) -> None:
    cert, _ = make_cert(user="hpcrobot", valid_time=600)
    path = tmp_path / "id_ed25519-cert.pub"
    path.write_text(cert + "\n")
    out = subprocess.run(["ssh-keygen", "-L", "-f", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert "Type: ssh-ed25519-cert-v01@openssh.com user certificate" in out
    assert fingerprint(ca_public_line(CA)) in out
    assert "Principals: \n                hpcrobot" in out


@pytest.mark.parametrize("text", ["garbage\n", "ssh-ed25519-cert-v01@openssh.com AAAA\n", "\x00"])
def test_cert_status_reports_a_corrupt_certificate_and_exits_0(tmp_path: Path, text: str) -> None:
    """The script 'exits 0 whenever it could look': a corrupt file is reported in data."""
    from hpcskills.core.workspace import Workspace
    from hpcskills.ssh.certs import CERT_FILE

    from scriptrun import run_script

    workspace = Workspace(tmp_path / "ws")
    workspace.credentials().write_text(CERT_FILE, text)
    result = run_script("sjtu-slurm", "cert_status.py", "--workspace", str(workspace.root))
    assert result.returncode == 0, result.describe()
    data = result.data
    assert data["status"] == "corrupt" and data["usable"] is False and data["exists"] is True
    assert "req_certificate.py" in data["hint"]


def test_a_corrupt_certificate_means_a_new_one_is_needed(tmp_path: Path) -> None:
    from hpcskills.core.errors import AuthRequired
    from hpcskills.core.workspace import Workspace
    from hpcskills.sjtu.certificates import _reusable
    from hpcskills.ssh.certs import CERT_FILE
    from hpcskills.ssh.identity import verify_identity

    workspace = Workspace(tmp_path / "ws")
    workspace.credentials().write_text(CERT_FILE, "garbage\n")
    assert _reusable(workspace.credentials(), "alice", 3600) is None  # replaced, not exit 5
    with pytest.raises(AuthRequired) as caught:
        verify_identity(workspace)
    assert caught.value.type == "certificate_corrupt"
