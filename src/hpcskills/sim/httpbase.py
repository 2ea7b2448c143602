"""Stdlib HTTP plumbing shared by the local platform simulators.

A simulator subclasses `SimulatorBase` and registers routes on its `Router`. The base class
serves them from a threaded HTTP server bound to 127.0.0.1 only, counts requests and
responses per route, injects HTTP 500 answers on demand and owns the ``/_sim/...`` control
namespace (stats and failure injection here; subclasses add their own control routes). Every
request that may change state (any method but GET, outside ``/_sim/``) is also kept in order,
so a test can tell that a command changed nothing on the platform.

Request logging is one line per request on the given stream (stderr by default): method,
path without query string, status and duration. Bodies and headers (so ``Authorization``)
are never logged.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from re import Pattern
from re import compile as compile_regex
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

LOOPBACK = "127.0.0.1"
CONTROL_PREFIX = "/_sim/"
MAX_BODY_BYTES = 16 * 1024 * 1024
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


class HttpError(Exception):
    """Raised by handlers to answer with `status` and a plain-text reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON; an empty body reads as ``{}``."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, "request body is not valid JSON") from exc

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, else a 400."""
        data = self.json()
        if not isinstance(data, dict):
            raise HttpError(400, "request body must be a JSON object")
        return data

    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        scheme, _, token = self.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


@dataclass(frozen=True)
class Response:
    """Status, body and content type of an answer."""

    status: int
    body: bytes = b""
    content_type: str = TEXT


def text_response(text: str, status: int = 200) -> Response:
    """A plain-text response."""
    return Response(status, text.encode(), TEXT)


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON response."""
    return Response(status, json.dumps(data).encode(), JSON)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """A handler for one method and a full-match path regex; `name` labels its counters."""

    method: str
    pattern: Pattern[str]
    handler: Handler
    name: str


class Router:
    """Routes requests by method and regex path (named groups become `Request.params`)."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        """Register `handler` for `method` on paths fully matching `pattern`."""
        label = name or f"{method.upper()} {pattern}"
        self._routes.append(Route(method.upper(), compile_regex(pattern), handler, label))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for a request and its path parameters; 404 or 405 when none fits."""
        path_matched = False
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            if route.method == method.upper():
                return route, match.groupdict()
        if path_matched:
            raise HttpError(405, f"method {method} not allowed on {path}")
        raise HttpError(404, f"no such endpoint: {path}")


@dataclass
class FaultRule:
    """Answer the next `remaining` requests matching method (``*`` = any) and path with 500."""

    method: str
    path: str
    remaining: int


class FaultInjector:
    """Thread-safe queue of fault rules, consumed by matching requests."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, method: str, path: str, count: int = 1) -> None:
        """Make the next `count` requests to `method path` fail."""
        with self._lock:
            self._rules.append(FaultRule(method.upper(), path, count))

    def take(self, method: str, path: str) -> bool:
        """Whether this request must fail (consumes one count of the first matching rule)."""
        with self._lock:
            for rule in self._rules:
                if rule.path == path and rule.method in ("*", method.upper()):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return True
        return False


class Counters:
    """Thread-safe integer counters grouped by name (``requests``, ``responses``, ``events``)."""

    def __init__(self) -> None:
        self._groups: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def inc(self, group: str, key: str, by: int = 1) -> None:
        """Add `by` to counter `key` of `group`."""
        with self._lock:
            counts = self._groups.setdefault(group, {})
            counts[key] = counts.get(key, 0) + by

    def get(self, group: str, key: str) -> int:
        """Current value of one counter (0 when never incremented)."""
        with self._lock:
            return self._groups.get(group, {}).get(key, 0)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of all counters."""
        with self._lock:
            return {group: dict(counts) for group, counts in self._groups.items()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: SimulatorBase


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are dropped after this
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        try:
            request = Request(
                method=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self._read_body(),
            )
        except HttpError as exc:
            self.close_connection = True
            response = text_response(exc.message, exc.status)
        else:
            response = self.server.app.handle(request)
        self._write(response)
        elapsed = time.monotonic() - started
        self.server.app.log(f"{self.command} {split.path} {response.status} {elapsed:.3f}s")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HttpError(411, "chunked request bodies are not supported; send Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise HttpError(400, "bad Content-Length") from exc
        if length < 0 or length > MAX_BODY_BYTES:
            raise HttpError(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. during a 2FA hold)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: `_serve` logs its own line, without the query string."""

    def log_message(self, format: str, *args: Any) -> None:
        self.server.app.log(f"http: {format % args}"[:200])


class SimulatorBase:
    """A routed, counted, fault-injectable HTTP simulator on 127.0.0.1.

    Subclasses register their routes on ``self.router`` and may override `internal_error`
    (the body of injected and unexpected 500s) and `on_stop`.
    """

    name = "sim"

    def __init__(self, *, port: int = 0, log: TextIO | None = sys.stderr) -> None:
        self.router = Router()
        self.counters = Counters()
        self.faults = FaultInjector()
        self._port = port
        self._log = log
        self._log_lock = threading.Lock()
        self._writes: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.router.add("GET", r"/_sim/stats", self._control_stats)
        self.router.add("POST", r"/_sim/fail", self._control_fail)

    # -- serving ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{self.name} simulator is not running")
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> str:
        """Serve in a background thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} simulator already running")
        server = _Server((LOOPBACK, self._port), _RequestHandler)
        server.app = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-sim",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Release held requests and stop serving; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.on_stop()
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def on_stop(self) -> None:
        """Hook run before the server stops (e.g. to release held requests)."""

    def run_until_signal(self, announce: Callable[[str], None]) -> None:
        """Start, call `announce(base_url)`, serve until SIGTERM/SIGINT, then stop."""
        stopping = threading.Event()
        handled = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in handled}
        try:
            announce(self.start())
            while not stopping.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> SimulatorBase:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self, line: str) -> None:
        """Write one log line (never pass bodies or headers here)."""
        if self._log is None:
            return
        with self._log_lock:
            print(f"[{self.name}-sim] {line}", file=self._log, flush=True)

    # -- dispatch --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request: route, count, inject faults, turn errors into responses."""
        try:
            route, params = self.router.resolve(request.method, request.path)
        except HttpError as exc:
            return self.error_response(exc)
        counted = not request.path.startswith(CONTROL_PREFIX)
        if counted:
            self.counters.inc("requests", route.name)
        if counted and request.method.upper() != "GET":
            with self._log_lock:
                self._writes.append(f"{request.method.upper()} {request.path}")
        if counted and self.faults.take(request.method, request.path):
            self.counters.inc("events", "injected_failures")
            response = self.internal_error()
        else:
            response = self._call(route, replace(request, params=params))
        if counted:
            self.counters.inc("responses", f"{route.name} {response.status}")
        return response

    def _call(self, route: Route, request: Request) -> Response:
        try:
            return route.handler(request)
        except HttpError as exc:
            return self.error_response(exc)
        except Exception:
            self.log(f"handler {route.name} crashed:\n{traceback.format_exc()}")
            return self.internal_error()

    def error_response(self, error: HttpError) -> Response:
        """The answer to a request a handler refused (plain text by default)."""
        return text_response(error.message, error.status)

    def internal_error(self) -> Response:
        """The answer to an injected or unexpected failure."""
        return text_response(HTTPStatus.INTERNAL_SERVER_ERROR.phrase, 500)

    # -- control API -----------------------------------------------------------------------

    def inject_failure(self, method: str, path: str, count: int = 1) -> None:
        """Answer the next `count` requests to `method path` (``*`` = any method) with 500."""
        self.faults.add(method, path, count)

    def state_changing_requests(self) -> list[str]:
        """``METHOD path`` of every request so far that was not a GET, oldest first."""
        with self._log_lock:
            return list(self._writes)

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters: ``requests`` and ``responses`` per route, plus ``events``."""
        return self.counters.snapshot()

    def _control_stats(self, request: Request) -> Response:
        return json_response(self.stats())

    def _control_fail(self, request: Request) -> Response:
        body = request.json_object()
        method, path, count = body.get("method", "*"), body.get("path"), body.get("count", 1)
        if not isinstance(path, str) or not path.startswith("/"):
            raise HttpError(400, "path must be an absolute request path such as /token")
        positive = isinstance(count, int) and not isinstance(count, bool) and count >= 1
        if not isinstance(method, str) or not positive:
            raise HttpError(400, "method must be a string and count a positive integer")
        self.inject_failure(method, path, count)
        return json_response({"method": method.upper(), "path": path, "count": count})
