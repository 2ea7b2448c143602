"""The real local site for benchmarks: minicluster + SJTU simulator + a workspace holding a
certificate the minicluster's sshd trusts, set up with the integration fixture's helpers."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "skills" / "sjtu-slurm" / "scripts"
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from hpcskills.core.workspace import Workspace  # noqa: E402
from hpcskills.sim.sjtu import SjtuSimulator  # noqa: E402
from hpcskills.ssh.certs import CERT_FILE, KEY_FILE, PUBLIC_KEY_FILE, fingerprint  # noqa: E402

from sitefix import exit_masters, issue_certificate, minicluster_up, trust_ca  # noqa: E402


@dataclass
class LocalSite:
    """A workspace with a certificate for the local site, and how to reach it."""

    workspace: Path
    env: dict[str, str]
    doc: dict

    def script(self, name: str, *args: str) -> dict:
        """Run a sjtu-slurm script with this workspace; its JSON document (RuntimeError when
        it fails)."""
        proc = subprocess.run(
            [sys.executable, str(SCRIPTS / name), *args, "--workspace", str(self.workspace)],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed: {proc.stdout}{proc.stderr}")
        return json.loads(proc.stdout)

    def ssh_options(self) -> list[str]:
        """Options for plain `ssh`/`scp` with the workspace's key, certificate and pins."""
        creds = self.workspace / "credentials"
        options = {
            "IdentitiesOnly": "yes",
            "IdentityFile": str(creds / KEY_FILE),
            "CertificateFile": str(creds / CERT_FILE),
            "UserKnownHostsFile": str(creds / "known_hosts"),
            "StrictHostKeyChecking": "accept-new",
            "BatchMode": "yes",
        }
        return ["-F", "/dev/null", *(f"-o{key}={value}" for key, value in options.items())]

    def login_count(self, node: str) -> int:
        """Logins of the site's user in that node's sshd log."""
        log = Path(self.doc["sshd_logs"][node]).read_text(errors="replace")
        return log.count(f"Accepted publickey for {self.doc['user']} ")

    def own_login_count(self, node: str) -> int:
        """Logins with this workspace's key only (other work may log in as the same user)."""
        mine = fingerprint((self.workspace / "credentials" / PUBLIC_KEY_FILE).read_text())
        log = Path(self.doc["sshd_logs"][node]).read_text(errors="replace")
        accepted = f"Accepted publickey for {self.doc['user']} "
        return sum(1 for line in log.splitlines() if line.startswith(accepted) and mine in line)


@contextlib.contextmanager
def local_site() -> Iterator[LocalSite]:
    """Bring the minicluster up, issue a certificate into a fresh workspace, clean up after."""
    if os.geteuid() != 0:
        raise SystemExit("the benchmark needs root (it starts the minicluster)")
    doc = minicluster_up()
    with tempfile.TemporaryDirectory(prefix="hpcskills-bench-") as tmp:
        sim = SjtuSimulator(approve_after=0, state_dir=Path(tmp) / "sim", log=None)
        sim.start()
        root = Path(tmp) / "ws"
        try:
            trust_ca(sim.ca_public_key_path)
            issue_certificate(Workspace(root), sim)
            env = {
                "HPCSKILLS_SJTU_API_URL": sim.base_url,
                "HPCSKILLS_SITE_FILE": doc["site_override"],
            }
            yield LocalSite(root, env, doc)
        finally:
            exit_masters(root, doc)
            sim.stop()
