"""HTTP with the pack's rules: timeouts always, TLS verified, retries only for reads.

A connection that drops after the request went out is transient for a read (retried) and
an unknown outcome for a write (never re-sent). Header values are checked before sending:
a credential with a line break or a character HTTP cannot carry is refused, never shown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import requests
from urllib3.exceptions import ProtocolError

from hpcskills import __version__
from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.redact import redact
from hpcskills.core.urls import check_base_url

DEFAULT_TIMEOUT = (10.0, 60.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
USER_AGENT = f"hpc-skills/{__version__}"
OUTCOME_UNKNOWN_HINT = (
    "run the same command again: it looks at what the first call did before doing anything"
)


def _sendable(char: str) -> bool:
    """Printable ASCII or printable Latin-1: what an HTTP header value can carry."""
    code = ord(char)
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF


def check_header_value(
    value: str, header: str, *, what: str = "a credential", hint: str | None = None
) -> str:
    """`value` when an HTTP header can carry it; else AuthRequired `credential_corrupt`.

    The message names the header and the credential, never any part of the value.
    """
    if all(_sendable(char) for char in value):
        return value
    raise AuthRequired(
        f"{what} (sent in the {header} header) holds a line break, a control character or "
        "a non-Latin-1 character, so it cannot be sent",
        type="credential_corrupt",
        hint=hint or "store the credential again, copied without line breaks or other text",
    )


CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def environment_proxies(url: str) -> dict[str, str]:
    """The proxies `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` name for `url`, unless `NO_PROXY`
    exempts it (what Python's own HTTP client does)."""
    return dict(requests.utils.get_environ_proxies(url))


def environment_ca_bundle() -> str | bool:
    """The CA bundle `REQUESTS_CA_BUNDLE` or `SSL_CERT_FILE` names, else True (the default)."""
    for variable in CA_BUNDLE_VARIABLES:
        path = os.environ.get(variable)
        if path:
            if not os.path.exists(path):
                raise BadInput(
                    f"${variable} names {path}, which does not exist",
                    type="ca_bundle_missing",
                    hint=f"point ${variable} at a PEM file of CA certificates, or unset it",
                )
            return path
    return True


def backoff_delays(retries: int, base: float = 0.5, cap: float = 8.0) -> list[float]:
    """Delays before each retry: base doubling up to cap."""
    return [min(cap, base * 2**attempt) for attempt in range(retries)]


class HttpSession:
    """A requests.Session bound to one base URL with the pack's safety rules."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        service: str = "service",
        sleep: Callable[[float], None] = time.sleep,
        environment: bool = False,
    ) -> None:
        """`environment`: use the proxy and CA bundle variables (never `.netrc`)."""
        self.base_url = check_base_url(base_url)
        self.timeout = timeout
        self.retries = retries
        self.service = service
        self._sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.trust_env = False  # no proxy or netrc surprises carrying our secrets
        self.verify: str | bool = True
        if environment:
            self.session.proxies.update(environment_proxies(self.base_url))
            self.verify = environment_ca_bundle()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        timeout: tuple[float, float] | None = None,
        retry: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; retry transient faults only when the call is a read.

        Returns the response for any HTTP status; raises RemoteError when no response came.
        """
        method = method.upper()
        retry = method in IDEMPOTENT_METHODS if retry is None else retry
        delays = backoff_delays(self.retries) if retry else []
        url = self.url(path)
        for header, value in {**self.session.headers, **(kwargs.get("headers") or {})}.items():
            check_header_value(str(value), str(header))
        for attempt in range(len(delays) + 1):
            try:
                response = self.session.request(
                    method, url, timeout=timeout or self.timeout, verify=self.verify, **kwargs
                )
            except requests.Timeout as exc:
                error = RemoteError(
                    f"{self.service} did not answer in time ({method} {path})",
                    type="timeout",
                    retryable=True,
                )
                cause: Exception = exc
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                error = (
                    self._dropped(method, path, retry) if _sent(exc) else self._unreachable(exc)
                )
                cause = exc
            else:
                if response.status_code not in RETRYABLE_STATUS or attempt == len(delays):
                    return response
                self._sleep(_retry_after(response, delays[attempt]))
                continue
            if attempt == len(delays):
                raise error from cause
            self._sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _unreachable(self, exc: Exception) -> RemoteError:
        return RemoteError(
            f"cannot connect to {self.service} at {self.base_url}: "
            f"{redact(_short_reason(exc))}",
            type="connection_failed",
            hint="check the network and the API URL",
            retryable=True,
        )

    def _dropped(self, method: str, path: str, retry: bool) -> RemoteError:
        """The connection dropped after the request went out."""
        if retry:
            return RemoteError(
                f"the connection to {self.service} dropped in the middle of the answer "
                f"({method} {path})",
                type="connection_dropped",
                retryable=True,
            )
        return RemoteError(
            f"outcome unknown: the connection to {self.service} dropped after {method} {path} "
            "was sent, so it may have taken effect",
            type="outcome_unknown",
            hint=OUTCOME_UNKNOWN_HINT,
            retryable=True,
        )


def _sent(exc: Exception) -> bool:
    """Whether the request had gone out when the connection failed: the body broke off,
    or the connection was aborted (a urllib3 ProtocolError) rather than never opened."""
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, ProtocolError)


def _retry_after(response: requests.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.isdigit() else default


def _short_reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200]
