"""Certificate + TOTP logins on the minicluster's totp node (port 2224): both backends answer
the code prompt; with OpenSSH one login serves many script runs; a wrong secret is exit 4
without a traceback or the secret in any output; a spent code is refused by the server.

The server (pam_google_authenticator, DISALLOW_REUSE) remembers every time step it has
accepted, from any workspace; each test's fresh workspace is therefore told the last step the
server has seen, as a user's single workspace would know it, so it never sends a spent code.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import paramiko
import pyotp
import pytest

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.site import deep_merge
from hpcskills.ssh.askpass import WRAPPER_NAME
from hpcskills.ssh.base import Endpoint
from hpcskills.ssh.connect import open_remote
from hpcskills.ssh.identity import TOTP_SECRET_FILE, identity_of
from hpcskills.ssh.openssh import OpenSshRemote
from hpcskills.ssh.totp import last_used_file, spent_step

from scriptrun import register_secret, run_script
from sitefix import Cluster

SKILL = "sjtu-slurm"


def totp_endpoint(cluster: Cluster) -> Endpoint:
    node = cluster.site["totp"]
    return Endpoint(node["host"], node["port"], cluster.user, "totp")


def server_spent_step(cluster: Cluster) -> int:
    """The latest time step the totp node accepted (its DISALLOW_REUSE record)."""
    text = Path(cluster.site["totp"]["pam_secret_file"]).read_text()
    steps = [
        int(word)
        for line in text.splitlines()
        if line.startswith('" DISALLOW_REUSE')
        for word in line.split()[2:]
    ]
    return max(steps, default=-1)


def site_secret(cluster: Cluster) -> str:
    secret = Path(cluster.site["totp"]["secret_file"]).read_text().strip()
    register_secret(secret)
    return secret


def store_secret(cluster: Cluster, secret: str) -> Workspace:
    """credentials/totp_secret (0600) in the cluster's workspace."""
    workspace = Workspace(cluster.workspace)
    path = workspace.credentials().write_text(TOTP_SECRET_FILE, secret + "\n")
    assert path.stat().st_mode & 0o777 == 0o600
    return workspace


def store_site_secret(cluster: Cluster) -> Workspace:
    """The site's secret, and the server's last accepted step as this workspace's last."""
    workspace = store_secret(cluster, site_secret(cluster))
    last_used_file(workspace.ensure_state_dir()).write_text(str(server_spent_step(cluster)))
    return workspace


def totp_site_file(cluster: Cluster, tmp_path: Path) -> Path:
    """The minicluster's site overlay with the pilogin entry node moved to the totp node."""
    base = json.loads(Path(cluster.env["HPCSKILLS_SITE_FILE"]).read_text())
    port = cluster.site["totp"]["port"]
    overlay = tmp_path / "site-totp.json"
    overlay.write_text(json.dumps(deep_merge(base, {"entry_nodes": {"pilogin": {"port": port}}})))
    return overlay


def remote_hostname(cluster: Cluster, site_file: Path, backend: str):
    env = {**cluster.env, "HPCSKILLS_SITE_FILE": str(site_file), "HPCSKILLS_SSH_BACKEND": backend}
    return run_script(SKILL, "remote_exec.py", *cluster.ws_args, "--", "hostname", env=env)


def raw_login(cluster: Cluster, code: str) -> tuple[list[str], list[str], bool]:
    """Certificate then `code` with plain paramiko: (methods left after the certificate,
    prompts seen, whether the login was accepted)."""
    identity = identity_of(Workspace(cluster.workspace))
    node = cluster.site["totp"]
    transport = paramiko.Transport(socket.create_connection((node["host"], node["port"]), 10))
    prompts: list[str] = []

    def answer(_title: str, _instructions: str, asked: list) -> list[str]:
        prompts.extend(text for text, _echo in asked)
        return [code for _ in asked]

    try:
        transport.start_client(timeout=10)
        key = paramiko.PKey.from_path(identity.key_path)
        key.load_certificate(str(identity.cert_path))
        remaining = transport.auth_publickey(cluster.user, key)
        try:
            transport.auth_interactive(cluster.user, answer)
        except paramiko.AuthenticationException:
            return remaining, prompts, False
        return remaining, prompts, transport.is_authenticated()
    finally:
        transport.close()


def test_paramiko_answers_the_code_and_the_server_refuses_it_twice(cluster: Cluster) -> None:
    workspace = store_site_secret(cluster)
    before = cluster.login_count("totp")
    with open_remote(workspace, totp_endpoint(cluster), backend="paramiko") as remote:
        assert remote.run(["hostname"], timeout=30).ok
        assert remote.logins == 1
    assert cluster.login_count("totp") - before == 1

    spent = spent_step(last_used_file(workspace.state_dir))
    assert server_spent_step(cluster) == spent
    code = pyotp.TOTP(site_secret(cluster)).at(spent * 30)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for answer in (code, wrong):  # the spent code (same 30 s step) and a wrong one
        remaining, prompts, accepted = raw_login(cluster, answer)
        assert remaining == ["keyboard-interactive"]  # the certificate alone is not enough
        assert prompts == ["Verification code: "]
        assert not accepted
    assert cluster.login_count("totp") - before == 1


def test_openssh_keeps_one_totp_login_for_many_script_runs(
    cluster: Cluster, tmp_path: Path
) -> None:
    workspace = store_site_secret(cluster)
    site_file = totp_site_file(cluster, tmp_path)
    before = cluster.login_count("totp")
    try:
        for _ in range(5):
            result = remote_hostname(cluster, site_file, "auto")  # auto picks OpenSSH
            assert result.data["exit_status"] == 0 and result.data["stdout"].strip()
        assert cluster.login_count("totp") - before == 1
        assert server_spent_step(cluster) == spent_step(last_used_file(workspace.state_dir))

        wrapper = workspace.state_dir / WRAPPER_NAME  # what ssh ran as SSH_ASKPASS
        assert wrapper.stat().st_mode & 0o777 == 0o700
        refused = subprocess.run(
            [str(wrapper), f"({cluster.user}@127.0.0.1) Password: "],
            env={"PATH": os.environ.get("PATH", "")},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert refused.returncode == 1 and refused.stdout == ""
    finally:
        identity = identity_of(workspace)
        OpenSshRemote(totp_endpoint(cluster), identity, workspace.state_dir).exit_master()


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
def test_a_wrong_totp_secret_is_an_auth_error(
    cluster: Cluster, tmp_path: Path, backend: str
) -> None:
    wrong = pyotp.random_base32()
    register_secret(wrong)
    store_secret(cluster, wrong)
    before = cluster.login_count("totp")
    result = remote_hostname(cluster, totp_site_file(cluster, tmp_path), backend)
    assert result.returncode == 4, result.describe()
    assert result.error["type"] == "ssh_auth_failed"
    assert "one-time code" in result.error["message"]
    assert "Traceback" not in result.stderr and wrong not in result.stdout + result.stderr
    assert cluster.login_count("totp") == before
