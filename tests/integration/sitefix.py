"""Helpers for tests on the real local site (minicluster + SJTU simulator certificate);
the fixtures using them are in conftest.py. Import from here, not from conftest."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from hpcskills.core.errors import HpcError
from hpcskills.core.workspace import Workspace
from hpcskills.sim.sjtu import DEMO_USER, SjtuSimulator
from hpcskills.sjtu.certificates import request_certificate
from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.tokens import request_token
from hpcskills.ssh.base import Endpoint
from hpcskills.ssh.identity import identity_of
from hpcskills.ssh.openssh import OpenSshRemote

ROOT = Path(__file__).resolve().parents[2]
SLURM_PROGRAMS = ("squeue", "sacct", "sbatch", "scancel", "scontrol", "sinfo", "seff")
MINICLUSTER = ROOT / "scripts" / "minicluster"
SITE_FILE = ROOT / "skills" / "sjtu-slurm" / "site.json"


def slurm_programs(argv) -> list[str]:
    """The Slurm programs one exec runs: argv words, or commands inside an `sh -c` script
    (the Slurm client batches several into one exec)."""
    words = {w for arg in argv for w in ([arg] if arg in SLURM_PROGRAMS else arg.split())}
    return [p for p in SLURM_PROGRAMS if p in words]


SSH_COUNTER = """#!/bin/sh
case " $* " in
  *" -M "* | *" -O "*) echo master >> {log} ;;
  *) echo exec >> {log} ;;
esac
exec {real} "$@"
"""


def write_ssh_counter(directory: Path) -> Path:
    """An `ssh` wrapper that logs each invocation (`exec` for a remote command, `master` for
    starting or asking a shared connection) and runs the real one; put `directory` first on
    PATH. Returns the log file."""
    real = shutil.which("ssh")
    assert real, "no OpenSSH client"
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "ssh-calls.log"
    wrapper = directory / "ssh"
    wrapper.write_text(SSH_COUNTER.format(log=shlex.quote(str(log)), real=shlex.quote(real)))
    wrapper.chmod(0o755)
    return log


def remote_execs(log: Path) -> int:
    """Remote commands run through the wrapper so far."""
    return log.read_text().split().count("exec") if log.exists() else 0


def require_minicluster() -> None:
    """Skip without root + HPCSKILLS_MINICLUSTER=1; fail instead in CI or when required."""
    is_root = os.geteuid() == 0
    if os.environ.get("CI") and not is_root:
        pytest.fail("CI must run the minicluster tests as root")
    if not (is_root and os.environ.get("HPCSKILLS_MINICLUSTER") == "1"):
        reason = "needs root and HPCSKILLS_MINICLUSTER=1 (scripts/test sets it as root)"
        if os.environ.get("HPCSKILLS_REQUIRE_MINICLUSTER") == "1":
            pytest.fail(reason + " (HPCSKILLS_REQUIRE_MINICLUSTER=1)")
        pytest.skip(reason)


def minicluster_up() -> dict:
    """`scripts/minicluster up` (quick when already up); its site document."""
    proc = subprocess.run(
        [str(MINICLUSTER), "up"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def trust_ca(public_key_file: Path) -> None:
    """Make the local sshd trust a simulator's CA (added beside any others already trusted)."""
    proc = subprocess.run(
        [str(MINICLUSTER), "trust-ca", str(public_key_file)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@dataclass
class Cluster:
    """A workspace with a certificate for the local site, and how scripts reach it."""

    workspace: Path
    env: dict[str, str]
    site: dict
    user: str

    @property
    def ws_args(self) -> list[str]:
        return ["--workspace", str(self.workspace)]

    def login_count(self, node: str = "login") -> int:
        """Real logins (one per authenticated connection) in that node's sshd log; on the
        totp node a login is certificate ("Partial publickey") then code ("Accepted")."""
        log = Path(self.site["sshd_logs"][node]).read_text(errors="replace")
        return log.count(f"Accepted publickey for {self.user} ") + log.count(
            f"Accepted keyboard-interactive/pam for {self.user} "
        )


def issue_certificate(workspace: Workspace, sim: SjtuSimulator, valid_time: int = 3600) -> None:
    """Token + certificate for the demo user, through the library, as the scripts do."""
    base = load_site(SITE_FILE)
    site = replace(base, api=replace(base.api, base_url=sim.base_url))
    request_token(workspace, site, DEMO_USER.name, lambda: DEMO_USER.password)
    request_certificate(
        workspace,
        site,
        DEMO_USER.name,
        valid_time=valid_time,
        wait=30,
        server_keygen=False,
        renew=True,
        no_wait=False,
        report=lambda _l: None,
    )


def exit_masters(root: Path, site: dict) -> None:
    """End a workspace's shared SSH connections to the local site's login and data nodes."""
    workspace = Workspace(root)
    with contextlib.suppress(HpcError):
        identity = identity_of(workspace)
        for node in ("login", "data"):
            endpoint = Endpoint(site[node]["host"], site[node]["port"], site["user"])
            OpenSshRemote(endpoint, identity, workspace.state_dir).exit_master()
