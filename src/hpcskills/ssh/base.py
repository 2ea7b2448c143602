"""What every backend offers: run a command, stream to or from one, close."""

from __future__ import annotations

import abc
import shlex
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hpcskills.core.errors import RemoteError

DEFAULT_COMMAND_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Endpoint:
    """A login or data node: where to connect and as whom."""

    host: str
    port: int
    user: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.host

    @property
    def known_hosts_name(self) -> str:
        """The host's name in known_hosts: `host`, or `[host]:port` off port 22."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


@dataclass(frozen=True)
class Identity:
    """The key, its certificate and the pinned host keys, all in the credentials dir."""

    key_path: Path
    cert_path: Path
    known_hosts: Path
    totp_secret_path: Path | None = None


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one remote command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self, what: str) -> CommandResult:
        """Self if the command succeeded, else RemoteError with its stderr."""
        if not self.ok:
            reason = (self.stderr.strip() or self.stdout.strip())[-500:]
            raise RemoteError(
                f"{what} failed (exit {self.returncode}): {reason}",
                type="remote_command_failed",
                exit_status=self.returncode,
            )
        return self


def command_line(argv: Sequence[str]) -> str:
    """The remote shell command for an argv: every word quoted with shlex.quote."""
    if not argv:
        raise ValueError("empty remote command")
    return " ".join(shlex.quote(str(word)) for word in argv)


def feed_in_background(sink: BinaryIO, data: bytes) -> threading.Thread:
    """Write `data` to `sink` and close it from a thread (no pipe deadlock with stdout)."""

    def feed() -> None:
        try:
            sink.write(data)
            sink.close()
        except (OSError, ValueError):
            pass  # the remote command ended early; its exit status tells why

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    return thread


class Remote(abc.ABC):
    """An authenticated connection to one endpoint."""

    logins: int = 0  # new authentications this object made (0 when one was reused)

    def __init__(
        self,
        endpoint: Endpoint,
        identity: Identity,
        state_dir: Path,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        report: Callable[[str], None] = lambda _line: None,
        before_login: Callable[[], None] = lambda: None,
    ) -> None:
        self.endpoint = endpoint
        self.identity = identity
        self.state_dir = state_dir
        self.connect_timeout = connect_timeout
        self.report = report
        self.before_login = before_login  # checks the certificate before a real login
        self.first_contact_fingerprint: str | None = None

    @abc.abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> CommandResult:
        """Run argv on the remote host (quoted), return its exit code and output."""

    @abc.abstractmethod
    def _stream(
        self, argv: Sequence[str], timeout: float, into_remote: bool, feed: bytes | None
    ) -> AbstractContextManager[BinaryIO]:
        """The remote command's stdin (into_remote) or stdout, checked when the block ends."""

    @contextmanager
    def writer(self, argv: Sequence[str], *, timeout: float) -> Iterator[BinaryIO]:
        """A stream into the remote command's stdin; raises RemoteError if it fails."""
        with self._stream(argv, timeout, True, None) as pipe:
            yield pipe

    @contextmanager
    def reader(
        self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
    ) -> Iterator[BinaryIO]:
        """A stream of the remote command's stdout (fed `stdin`); RemoteError if it fails."""
        with self._stream(argv, timeout, False, stdin) as pipe:
            yield pipe

    def timed_out(self, argv: Sequence[str], timeout: float) -> RemoteError:
        """The error for a command that outran its timeout (a read may be retried)."""
        return RemoteError(
            f"{argv[0]} on {self.endpoint.label} did not finish within {timeout:.0f} s",
            type="timeout",
            retryable=True,
        )

    @abc.abstractmethod
    def close(self) -> None:
        """Release this process's hold on the connection (a shared master may persist)."""

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
