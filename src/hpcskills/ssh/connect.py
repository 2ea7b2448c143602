"""Choose a backend and open a Remote; retry reads (never writes) on dropped connections."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.ssh.base import DEFAULT_COMMAND_TIMEOUT, CommandResult, Endpoint, Remote
from hpcskills.ssh.identity import identity_of, verify_identity
from hpcskills.ssh.openssh import OpenSshRemote, answers_code_prompts, ssh_binary

BACKEND_ENV = "HPCSKILLS_SSH_BACKEND"
BACKENDS = ("auto", "openssh", "paramiko")
READ_RETRY_DELAYS = (1.0, 3.0)


def choose_backend(
    requested: str, has_ssh: bool, needs_totp: bool, ssh_answers_codes: bool = True
) -> str:
    """'openssh' where an ssh binary exists (for TOTP: one that can ask the askpass helper
    for the code, OpenSSH >= 8.4), so one login per host serves every script run; else
    'paramiko'."""
    if requested not in BACKENDS:
        raise BadInput(f"unknown SSH backend {requested!r}", hint="one of: " + ", ".join(BACKENDS))
    usable = has_ssh and (ssh_answers_codes or not needs_totp)
    if requested != "auto":
        if requested == "openssh" and not has_ssh:
            raise BadInput("no OpenSSH client (ssh) on this machine", hint="use --backend paramiko")
        if requested == "openssh" and not usable:
            raise BadInput(
                "this OpenSSH client is older than 8.4 and cannot answer the site's one-time "
                "code prompt",
                hint="use --backend paramiko",
            )
        return requested
    return "openssh" if usable else "paramiko"


def open_remote(
    workspace: Workspace,
    endpoint: Endpoint,
    *,
    backend: str | None = None,
    report: Callable[[str], None] = lambda _line: None,
) -> Remote:
    """A Remote for the endpoint using the workspace's certificate; the certificate is
    checked (exit 4 if unusable) only when a login is needed."""
    identity = identity_of(workspace)

    def before_login() -> None:
        verify_identity(workspace)

    binary = ssh_binary()
    needs_totp = identity.totp_secret_path is not None
    chosen = choose_backend(
        backend or os.environ.get(BACKEND_ENV) or "auto",
        binary is not None,
        needs_totp,
        ssh_answers_codes=binary is not None and needs_totp and answers_code_prompts(binary),
    )
    state_dir = workspace.ensure_state_dir()
    if chosen == "openssh":
        assert binary is not None
        return OpenSshRemote(
            endpoint, identity, state_dir, report=report, binary=binary, before_login=before_login
        )
    from hpcskills.ssh.paramiko_backend import ParamikoRemote  # heavy: only when chosen

    return ParamikoRemote(endpoint, identity, state_dir, report=report, before_login=before_login)


def run_read(
    remote: Remote,
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_COMMAND_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = lambda _line: None,
) -> CommandResult:
    """Run a read-only command, retrying when the connection (not the command) failed."""
    for attempt, delay in enumerate((*READ_RETRY_DELAYS, None)):
        try:
            return remote.run(argv, timeout=timeout)
        except RemoteError as exc:
            if not exc.retryable or delay is None:
                raise
            report(f"{exc.message}; retrying ({attempt + 1}/{len(READ_RETRY_DELAYS)})")
            sleep(delay)
    raise AssertionError("unreachable")
