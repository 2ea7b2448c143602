"""The paramiko backend: for machines without OpenSSH (or, for TOTP sites, with one older
than 8.4, which cannot be made to ask the pack for the code).

One connection per process (TCP_NODELAY set: ~40 ms less per round trip). Public-key auth
with the certificate; when the server then asks for keyboard-interactive (a second
factor), verification-code prompts are answered from `credentials/totp_secret`, never
reusing a code already spent.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

import paramiko

from hpcskills.core.errors import AuthRequired, RemoteError
from hpcskills.core.redact import register_secret
from hpcskills.ssh.base import (
    DEFAULT_COMMAND_TIMEOUT,
    CommandResult,
    Remote,
    command_line,
    feed_in_background,
)
from hpcskills.ssh.hostkeys import changed_key_error, pin, pinned_keys
from hpcskills.ssh.totp import answer_prompts, code_refused, last_used_file, totp_code

_CHUNK = 256 * 1024


# paramiko logs failures of its transport thread (with tracebacks) through `logging`; with no
# handler, Python would print them to stderr. Errors reach the caller as exceptions instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class _ChannelStdin:
    """Write + close (= EOF) on a channel's stdin, for feed_in_background."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel

    def write(self, data: bytes) -> None:
        self.channel.sendall(data)

    def close(self) -> None:
        self.channel.shutdown_write()


class ParamikoRemote(Remote):
    """Commands over one paramiko transport."""

    _transport: paramiko.Transport | None = None  # set by connect(), once per object

    def _check_host_key(self, transport: paramiko.Transport) -> None:
        offered = transport.get_remote_server_key()
        line = f"{offered.get_name()} {offered.get_base64()}"
        pinned = pinned_keys(self.identity.known_hosts, self.endpoint)
        if not pinned:
            self.first_contact_fingerprint = pin(self.identity.known_hosts, self.endpoint, line)
            self.report(
                f"first contact with {self.endpoint.label}: pinned its host key "
                f"{self.first_contact_fingerprint} in {self.identity.known_hosts}"
            )
        elif line not in pinned:
            transport.close()
            raise changed_key_error(
                self.endpoint, self.identity.known_hosts, f"SHA256:{offered.fingerprint[7:]}"
            )

    def _authenticate(self, transport: paramiko.Transport) -> None:
        key = paramiko.PKey.from_path(self.identity.key_path)
        key.load_certificate(str(self.identity.cert_path))
        user = self.endpoint.user
        try:
            remaining = transport.auth_publickey(user, key)
        except paramiko.AuthenticationException as exc:
            transport.close()
            raise AuthRequired(
                f"{self.endpoint.label} refused the login: {exc}",
                type="ssh_auth_failed",
                hint="request a fresh certificate with req_certificate.py",
            ) from None
        if remaining and "keyboard-interactive" in remaining:
            try:
                transport.auth_interactive(user, self._interactive)
            except paramiko.AuthenticationException:
                transport.close()
                raise code_refused(self.endpoint) from None
            except AuthRequired:
                transport.close()
                raise

    def _interactive(self, _title: str, _instructions: str, prompts: list) -> list[str]:
        secret_path = self.identity.totp_secret_path
        if secret_path is None:
            raise AuthRequired(
                f"{self.endpoint.label} asks for a one-time code and no totp_secret is stored",
                type="totp_required",
                hint="store the TOTP secret in credentials/totp_secret (0600)",
            )
        secret = secret_path.read_text().strip()
        register_secret(secret)
        last_used = last_used_file(self.state_dir)
        return answer_prompts(prompts, lambda: totp_code(secret, last_used))

    def connect(self) -> paramiko.Transport:
        """Log in (once per object)."""
        if self._transport is not None and self._transport.is_active():
            return self._transport
        self.before_login()
        try:
            sock = socket.create_connection(
                (self.endpoint.host, self.endpoint.port), timeout=self.connect_timeout
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = paramiko.Transport(sock)
            transport.banner_timeout = self.connect_timeout
            transport.start_client(timeout=self.connect_timeout)
        except (OSError, paramiko.SSHException) as exc:
            raise RemoteError(
                f"cannot reach {self.endpoint.label} ({self.endpoint.host}:"
                f"{self.endpoint.port}): {exc}",
                type="connection_failed",
                retryable=True,
            ) from None
        self._check_host_key(transport)
        self._authenticate(transport)
        transport.set_keepalive(15)
        self.logins += 1
        self._transport = transport
        return transport

    def _channel(self, argv: Sequence[str], timeout: float) -> paramiko.Channel:
        try:
            channel = self.connect().open_session(timeout=self.connect_timeout)
            channel.settimeout(timeout)
            channel.exec_command(command_line(argv))
        except paramiko.SSHException as exc:
            raise RemoteError(
                f"lost the connection to {self.endpoint.label}: {exc}",
                type="connection_failed",
                retryable=True,
            ) from None
        return channel

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> CommandResult:
        channel = self._channel(argv, timeout)
        try:
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
            while True:
                while channel.recv_ready():
                    out += channel.recv(_CHUNK)
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(_CHUNK)
                if (
                    channel.exit_status_ready()
                    and channel.eof_received
                    and not (channel.recv_ready() or channel.recv_stderr_ready())
                ):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                select.select([channel], [], [], min(remaining, 1.0))
            status = channel.recv_exit_status()
        except TimeoutError:
            raise self.timed_out(argv, timeout) from None
        finally:
            channel.close()
        return CommandResult(
            tuple(argv), status, out.decode(errors="replace"), err.decode(errors="replace")
        )

    @contextmanager
    def _stream(
        self, argv: Sequence[str], timeout: float, into_remote: bool, feed: bytes | None = None
    ) -> Iterator[BinaryIO]:
        channel = self._channel(argv, timeout)
        try:
            if into_remote:
                stream = channel.makefile_stdin("wb", _CHUNK)
                yield stream  # type: ignore[misc]
                stream.close()
                channel.shutdown_write()
            else:
                if feed is not None:
                    feed_in_background(_ChannelStdin(channel), feed)
                else:
                    channel.shutdown_write()
                yield channel.makefile("rb", _CHUNK)  # type: ignore[misc]
            status = channel.recv_exit_status()
            stderr = channel.makefile_stderr("rb").read().decode(errors="replace")
        finally:
            channel.close()
        CommandResult(tuple(argv), status, "", stderr).check(f"{argv[0]} on {self.endpoint.label}")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
