"""The OpenSSH backend: one ControlMaster per host, shared by every script run.

The first call starts a background master (`ssh -M -N -f`, ControlPersist) that logs in
once; later calls, from any process, run over its socket without a new login. Host keys
are pinned in `credentials/known_hosts` (`StrictHostKeyChecking=accept-new`): a first
contact is recorded and reported, a changed key is refused.

Sites that ask for a one-time code after the certificate (keyboard-interactive): when the
workspace holds `credentials/totp_secret`, the master starts with the askpass helper
(hpcskills.ssh.askpass, forced by SSH_ASKPASS_REQUIRE; OpenSSH >= 8.4), which answers the
code prompt and nothing else, once per login; every later call shares that one login.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hpcskills.core.credstore import open_private
from hpcskills.core.errors import AuthRequired, HpcError, RemoteError
from hpcskills.ssh.askpass import REFUSAL_NOTE, askpass_env
from hpcskills.ssh.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    CommandResult,
    Endpoint,
    Identity,
    Remote,
    command_line,
    feed_in_background,
)
from hpcskills.ssh.certs import fingerprint
from hpcskills.ssh.hostkeys import changed_key_error, pinned_keys
from hpcskills.ssh.totp import TOTP_STEP_SECONDS, code_refused, last_used_file

DEFAULT_PERSIST_SECONDS = 600
SSH_EXIT_CONNECTION = 255
FORCED_ASKPASS_SINCE = (8, 4)  # SSH_ASKPASS_REQUIRE=force
# sun_path holds 104 bytes on some systems (108 on Linux); the master binds at
# ControlPath + "." + 16 random chars while it starts.
_SOCKET_PATH_BUDGET = 104
_SOCKET_NAME_CHARS = 24
_SOCKET_NAME_LENGTH = 1 + _SOCKET_NAME_CHARS + 17


def ssh_binary() -> str | None:
    """The OpenSSH client, if this machine has one."""
    return shutil.which("ssh")


def ssh_version(binary: str) -> tuple[int, int] | None:
    """(major, minor) of an OpenSSH client, from `ssh -V`; None when it does not say."""
    try:
        proc = subprocess.run(
            [binary, "-V"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", proc.stderr + proc.stdout)
    return (int(found.group(1)), int(found.group(2))) if found else None


def answers_code_prompts(binary: str) -> bool:
    """Whether this ssh can be made to ask the askpass helper for a one-time code."""
    version = ssh_version(binary)
    return version is not None and version >= FORCED_ASKPASS_SINCE


def control_dir(state_dir: Path) -> Path:
    """A private dir for control sockets, short enough for a unix socket path."""
    preferred = state_dir / "ssh"
    if len(str(preferred)) + _SOCKET_NAME_LENGTH < _SOCKET_PATH_BUDGET:
        chosen = preferred
    else:
        digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12]
        chosen = Path(tempfile.gettempdir()) / f"hpcskills-ssh-{os.getuid()}-{digest}"
    chosen.mkdir(parents=True, exist_ok=True, mode=0o700)
    chosen.chmod(0o700)
    return chosen


def socket_name(endpoint: Endpoint) -> str:
    """The control socket's file name for an endpoint (stable, short, no user text)."""
    key = f"{endpoint.user}@{endpoint.host}:{endpoint.port}".encode()
    return hashlib.sha256(key).hexdigest()[:_SOCKET_NAME_CHARS]


def socket_accepts(path: Path) -> bool:
    """Whether a master listens on the control socket (a connect, no ssh process)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2)
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def base_options(
    identity: Identity, control_path: Path, connect_timeout: float, answer_codes: bool = False
) -> list[str]:
    """Options that make ssh use only our key, certificate and pinned host keys; with
    answer_codes, also keyboard-interactive (one try: the askpass helper gives the code)."""
    if answer_codes:
        prompting = {
            "BatchMode": "no",
            "KbdInteractiveAuthentication": "yes",
            "PreferredAuthentications": "publickey,keyboard-interactive",
            "NumberOfPasswordPrompts": "1",
        }
    else:
        prompting = {"BatchMode": "yes"}
    options = {
        **prompting,
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "IdentityFile": str(identity.key_path),
        "CertificateFile": str(identity.cert_path),
        "UserKnownHostsFile": str(identity.known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "StrictHostKeyChecking": "accept-new",
        "HashKnownHosts": "no",
        "UpdateHostKeys": "no",
        "ControlPath": str(control_path),
        "ConnectTimeout": str(int(connect_timeout)),
        "ServerAliveInterval": "15",
        "ServerAliveCountMax": "3",
        "Ciphers": "^aes128-gcm@openssh.com",
        "LogLevel": "ERROR",
    }
    args = ["-F", "/dev/null"]
    for key, value in options.items():
        args += ["-o", f"{key}={value}"]
    return args


def classify_failure(stderr: str, endpoint: Endpoint, known_hosts: Path) -> HpcError:
    """The typed error for an ssh client failure (exit 255), from its stderr."""
    text = stderr.strip()
    lowered = text.lower()
    if "remote host identification has changed" in lowered or (
        "host key verification failed" in lowered
    ):
        return changed_key_error(endpoint, known_hosts, text)
    if REFUSAL_NOTE in text:
        return AuthRequired(
            f"{endpoint.label} asked for something other than a one-time code: {text[-300:]}",
            type="unsupported_prompt",
            hint="only certificate + TOTP logins are supported",
        )
    if "permission denied (keyboard-interactive)" in lowered:
        return code_refused(endpoint)
    if "permission denied" in lowered or "too many authentication failures" in lowered:
        return AuthRequired(
            f"{endpoint.label} refused the SSH certificate: {text[-300:]}",
            type="ssh_auth_failed",
            hint="request a fresh certificate with req_certificate.py (the user must "
            "approve 2FA); if it persists the account may be banned for an hour (fail2ban)",
        )
    return RemoteError(
        f"cannot reach {endpoint.label} ({endpoint.host}:{endpoint.port}): {text[-300:]}",
        type="connection_failed",
        hint="check the network (some entry nodes need a campus IP) and try again",
        retryable=True,
    )


class OpenSshRemote(Remote):
    """Commands over a persistent OpenSSH ControlMaster connection."""

    def __init__(
        self,
        endpoint: Endpoint,
        identity: Identity,
        state_dir: Path,
        *,
        persist: int = DEFAULT_PERSIST_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        report: Callable[[str], None] = lambda _line: None,
        binary: str = "ssh",
        before_login: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(
            endpoint,
            identity,
            state_dir,
            connect_timeout=connect_timeout,
            report=report,
            before_login=before_login,
        )
        self.persist = persist
        self.binary = binary
        self.control_path = control_dir(state_dir) / socket_name(endpoint)
        self._master_checked = False

    def _args(self, *extra: str, answer_codes: bool = False) -> list[str]:
        options = base_options(self.identity, self.control_path, self.connect_timeout, answer_codes)
        target = ["-p", str(self.endpoint.port), "-l", self.endpoint.user]
        return [self.binary, *options, *extra, *target, "--", self.endpoint.host]

    def _master_alive(self) -> bool:
        return socket_accepts(self.control_path)

    def ensure_master(self) -> None:
        """Reuse the host's master connection, or log in once and leave one running."""
        if self._master_checked:
            return
        if not self._master_alive():
            with open(open_private(self.control_path.with_suffix(".lock")), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not self._master_alive():  # another process may have started it
                    self._start_master()
        self._master_checked = True

    def _start_master(self) -> None:
        self.before_login()
        first_contact = not pinned_keys(self.identity.known_hosts, self.endpoint)
        secret_file = self.identity.totp_secret_path
        env, timeout = None, self.connect_timeout + 30
        if secret_file is not None:
            env = askpass_env(self.state_dir, secret_file, last_used_file(self.state_dir))
            timeout += TOTP_STEP_SECONDS  # the helper may wait for a fresh code
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.run(
                    self._args(
                        "-M",
                        "-N",
                        "-f",
                        "-o",
                        "ControlMaster=yes",
                        "-o",
                        f"ControlPersist={self.persist}",
                        answer_codes=secret_file is not None,
                    ),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                raise RemoteError(
                    f"login to {self.endpoint.label} timed out", type="timeout", retryable=True
                ) from None
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        if proc.returncode != 0:
            raise classify_failure(stderr, self.endpoint, self.identity.known_hosts)
        self.logins += 1
        if self.identity.known_hosts.exists():
            self.identity.known_hosts.chmod(0o600)
        if first_contact:
            keys = pinned_keys(self.identity.known_hosts, self.endpoint)
            if keys:
                self.first_contact_fingerprint = fingerprint(keys[0])
                self.report(
                    f"first contact with {self.endpoint.label}: pinned its host key "
                    f"{self.first_contact_fingerprint} in {self.identity.known_hosts}"
                )

    def _command(self, argv: Sequence[str]) -> list[str]:
        self.ensure_master()
        return [*self._args("-o", "ControlMaster=no"), command_line(argv)]

    def _failed(self, returncode: int, stderr: str) -> HpcError | None:
        if returncode != SSH_EXIT_CONNECTION:
            return None
        return classify_failure(stderr, self.endpoint, self.identity.known_hosts)

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> CommandResult:
        try:
            proc = subprocess.run(
                self._command(argv),
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise self.timed_out(argv, timeout) from None
        stderr = proc.stderr.decode(errors="replace")
        error = self._failed(proc.returncode, stderr)
        if error is not None:
            raise error
        return CommandResult(
            tuple(argv), proc.returncode, proc.stdout.decode(errors="replace"), stderr
        )

    @contextmanager
    def _stream(
        self, argv: Sequence[str], timeout: float, into_remote: bool, feed: bytes | None = None
    ) -> Iterator[BinaryIO]:
        with tempfile.TemporaryFile() as errors:
            proc = subprocess.Popen(
                self._command(argv),
                stdin=subprocess.PIPE if into_remote or feed is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if not into_remote else subprocess.DEVNULL,
                stderr=errors,
            )
            pipe = proc.stdin if into_remote else proc.stdout
            assert pipe is not None
            if feed is not None and proc.stdin is not None:
                feed_in_background(proc.stdin, feed)
            try:
                yield pipe
                pipe.close()
                returncode = proc.wait(timeout=timeout)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        error = self._failed(returncode, stderr)
        if error is not None:
            raise error
        CommandResult(tuple(argv), returncode, "", stderr).check(
            f"{argv[0]} on {self.endpoint.label}"
        )

    def close(self) -> None:
        """Nothing to do: the master stays for the next script run (ControlPersist)."""

    def exit_master(self) -> bool:
        """End the shared connection now (e.g. at the end of a session)."""
        proc = subprocess.run(
            self._args("-O", "exit"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=self.connect_timeout,
        )
        return proc.returncode == 0
