"""Local simulator of the Bohrium OpenAPI and tiefblue storage (facts/bohrium.md), one port.

OpenAPI under ``/openapi`` (envelope ``{"code", "data", "message"}``, HTTP 200 also for
business errors; HTTP 401 with code 2000 for a missing or unknown key), tiefblue under
``/api`` (uploads, download redirect, meta, delete), pre-signed result, log and input files
under ``/_files``. The access key is accepted the ways the platform's own clients send it
(facts/bohrium-clients.md): ``Authorization: Bearer`` (official skill, bohrium-sdk), an
``accessKey`` header (seed, bohrium-open-sdk) or an ``accessKey`` query parameter
(bohrium-sdk, DPDispatcher).

Shapes follow the platform's clients, and each one's source is recorded in
``tests/fixtures/bohrium/shapes.json``: v1/v2 as bohrium-sdk 0.15 and bohrium-open-sdk 1.0.5
send and read them, v4 (``job_group/add``, ``job/create``, ``job/add``, ``job/kill``,
``job/list``, ``job/detail/{bohrId}``) as the platform's 2026 skill sends it, group listing as
the company's ``lbg`` client reads it. No ``storeHost`` in v1 ``job/create`` and no
``bohrJobId`` in v2 ``job/add`` (only v4 answers carry them); ``storePath`` ends with ``/``;
the storage token is a JWT; ``bohrId`` is a number, ``cost`` a string, ``spendTime`` whole
seconds; ``jobFiles.*[]`` entries carry ``url``.

Jobs move with time after ``v2/job/add``: pending (0) → scheduling (3) → running (1) →
finished (2) or failed (-1), per the scenario (seconds per phase, fixed for a job when it is
submitted, so a scenario change affects only later jobs). A job whose command
contains the scenario's ``fail_marker`` fails. Failed jobs can keep ``status`` 0 with
``webStatus`` -1 for ``failed_status_lag`` seconds, as seen on the platform. Logs grow while a
job runs; ended jobs get a real ``out.zip`` behind a pre-signed ``resultUrl``.

terminate (running jobs only; pending ones answer an error) → terminating (6) → finished,
results kept; kill (any active job) → killing (7) → failed, results discarded; delete removes
the job. A group terminate terminates running jobs and stops jobs not yet running (5, no
results) — inferred, no source states it. ``v2/job/add`` answers HTTP 405 (the web firewall)
when the command holds shell syntax, and checks that the input object is a verified zip.

Demo credentials (fake): key ``DEMO_ACCESS_KEY`` (project 154); ``OTHER_ACCESS_KEY`` belongs
to another user (project 155), for permission errors.

Control namespace (loopback only, for tests, the demo and the benchmark):

- ``POST /_sim/config`` scenario fields, e.g. ``{"running": 5, "fail_marker": "exit 1"}``
- ``POST /_sim/inject`` ``{"kind": "error"|"429"|"drop"|"drop-mid-body", "method", "path",
  "count", "skip", "code", "message", "retry_after"}``; ``POST /_sim/fail`` (HTTP 500, from
  the base class)
- ``POST /_sim/jobs/<id>/advance`` ``{"to": "pending"|"scheduling"|"running"|"finished"|
  "failed", "hold": false}`` (hold: stay in that phase until advanced again)
- ``POST /_sim/seed`` ``{"count": 2000}``: finished jobs for list benchmarks
- ``GET /_sim/jobs``, ``GET /_sim/objects``, ``GET /_sim/stats``
- ``GET /_sim/requests``: the request log (method, path, query names, and which key forms
  came: ``bearer``, ``accessKey`` header, ``accessKey`` query; never a value)
- ``POST|PUT /_sim/sink``: stores a body of any size and answers its size (a plain upload, the
  benchmark's reference)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from hpcskills.bohrium import storage_param
from hpcskills.sim.httpbase import (
    HttpError,
    Request,
    Response,
    SimulatorBase,
    _RequestHandler,
    json_response,
)
from hpcskills.sim.jwt import storage_token

DEMO_ACCESS_KEY = "sim-demo-bohrium-access-key-5f2b9c1e"  # fake, for the demo and tests
OTHER_ACCESS_KEY = "sim-other-bohrium-access-key-8d4a7e20"  # fake, another user
DEMO_PROJECT = 154
OTHER_PROJECT = 155
FIRST_JOB_ID = 22153600
FIRST_GROUP_ID = 15954300
FIRST_BOHR_ID = 9800001
ALL_GROUPS = -1  # lbg's groupId for "all jobs"
INPUT_MODES = {(3, 1): "zip", (2, 4): "files"}  # (inputFileType, inputFileMethod)
JOB_TYPES = ("container", "")  # "" is bohrium-sdk's JobAddRequest default
MAX_PAGE_SIZE = 100
MAX_LOG_STEPS = 5000
REQUEST_LOG_SIZE = 10000
STREAMED_PATHS = frozenset({"/api/upload/binary", "/api/upload/multipart/upload", "/_sim/sink"})
CODE_UNAUTHORIZED = 2000
CODE_NO_SNAPSHOT = 1000
CODE_PERMISSION = 290007
CODE_NOT_FOUND = 140404
CODE_BAD_PARAM = 140400
CODE_STATE = 140409
WAF_PATTERN = re.compile(
    r";|`|\$\(|(?<!\|)\|(?!\|)|\b(?:curl|wget|eval)\b|(?:^|\s)(?:for|while|if)\s.*"
    r"\b(?:do|then)\b|\n"
)
WAF_PAGE = "<html><body><h1>405 Not Allowed</h1><p>Request blocked by WAF</p></body></html>"
STATUS_LABELS = {
    -1: "failed",
    0: "pending",
    1: "running",
    2: "finished",
    3: "scheduling",
    4: "stopping",
    5: "stopped",
    6: "terminating",
    7: "killing",
    8: "uploading",
    9: "waiting",
}
ACTIVE = frozenset({0, 1, 3, 8, 9})


@dataclass
class Scenario:
    """Seconds a job spends in each phase, and how the simulated platform behaves."""

    pending: float = 1.0
    scheduling: float = 2.0
    running: float = 10.0
    stop_delay: float = 1.0
    fail_marker: str = "exit 1"
    failed_status_lag: float = 0.0
    log_lines_per_second: float = 10.0
    result_padding_bytes: int = 0  # incompressible data.bin in out.zip (download tests)


PRESETS = {
    "instant": Scenario(0.0, 0.0, 0.0, 0.0),
    "fast": Scenario(0.2, 0.3, 1.5, 0.3),
    "default": Scenario(),
    "slow": Scenario(5.0, 10.0, 60.0, 3.0),
}


@dataclass(frozen=True)
class SimUser:
    user_id: int
    org_id: int
    nickname: str
    projects: tuple[int, ...]


USERS = {
    DEMO_ACCESS_KEY: SimUser(10001, 20001, "bohrium-demo", (DEMO_PROJECT,)),
    OTHER_ACCESS_KEY: SimUser(10002, 20002, "bohrium-other", (OTHER_PROJECT,)),
}


@dataclass
class SimJob:
    """One job as the simulated platform keeps it."""

    id: int
    owner: int
    project_id: int
    group_id: int
    name: str
    store_path: str
    token: str
    created_at: float
    added_at: float | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    outcome: str = "finished"
    stop: tuple[str, float] | None = None  # (terminate|kill|cancel, when)
    hold: int | None = None  # a status the job stays in until advanced (tests, demo)
    timing: tuple[float, float, float] | None = None  # pending, scheduling, running seconds
    bohr_id: int = 0


@dataclass
class SimGroup:
    id: int
    owner: int
    project_id: int
    name: str
    created_at: float


@dataclass
class Injection:
    """A scripted answer for the next `count` matching requests."""

    kind: str
    method: str
    path: str
    count: int
    code: int = 148888
    message: str = "rpc error"
    retry_after: int = 1
    skip: int = 0  # let this many matching requests through first


# -- pure model ------------------------------------------------------------------------------


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def phases(job: SimJob, sc: Scenario) -> tuple[float, float, float]:
    """Seconds pending, scheduling and running: fixed when the job was submitted."""
    return job.timing or (sc.pending, sc.scheduling, sc.running)


def end_of_run(job: SimJob, sc: Scenario) -> float | None:
    """When the job ended (or will end) on its own, ignoring stops."""
    if job.added_at is None:
        return None
    return job.added_at + sum(phases(job, sc))


def job_status(job: SimJob, now: float, sc: Scenario) -> tuple[int, int, float | None]:
    """(status, webStatus, end time) of a job at `now`."""
    if job.added_at is None:
        return 8, 8, None
    if job.hold is not None and job.stop is None:
        return job.hold, job.hold, None
    if job.stop is not None:
        action, at = job.stop
        if now - at < sc.stop_delay:
            code = {"terminate": 6, "kill": 7}.get(action, 4)
            return code, code, None
        final = {"terminate": 2, "kill": -1}.get(action, 5)
        return final, final, at + sc.stop_delay
    elapsed = now - job.added_at
    pending, scheduling, _running = phases(job, sc)
    if elapsed < pending:
        return 0, 0, None
    if elapsed < pending + scheduling:
        return 3, 3, None
    end = end_of_run(job, sc) or now
    if now < end:
        return 1, 1, None
    if job.outcome == "failed":
        lagging = now - end < sc.failed_status_lag
        return (0 if lagging else -1), -1, end
    return 2, 2, end


def run_seconds(job: SimJob, now: float, sc: Scenario) -> float:
    """How long the job has been running (its log grows with it)."""
    if job.added_at is None:
        return 0.0
    pending, scheduling, running = phases(job, sc)
    start = job.added_at + pending + scheduling
    stop = min(now, start + running)
    if job.stop is not None:
        stop = min(stop, job.stop[1])
    return max(0.0, stop - start)


def log_text(job: SimJob, now: float, sc: Scenario) -> str:
    """STDOUTERR of a job at `now`: one line per step while it runs."""
    seconds = run_seconds(job, now, sc)
    if seconds <= 0 and job_status(job, now, sc)[0] in (0, 3, 8, 9):
        return ""
    lines = [
        f"[sim] job {job.id} started in /home/input_lbg-{job.owner}-{job.id}",
        f"[sim] command: {job.spec.get('cmd', '')}",
    ]
    steps = min(int(seconds * sc.log_lines_per_second), MAX_LOG_STEPS)
    lines += [f"step {i + 1}: energy={-100.0 - (i % 97) * 0.01:.4f} eV" for i in range(steps)]
    status = job_status(job, now, sc)[0]
    if job.stop is not None and status in (2, -1, 5):
        lines.append(f"[sim] {job.stop[0]}d by the user")
    elif status == 2:
        lines.append("[sim] finished: exit code 0")
    elif status in (-1, 0) and job.outcome == "failed" and seconds >= phases(job, sc)[2]:
        lines.append("Error: the command exited with code 1")
    return "\n".join(lines) + "\n"


def size_text(size: int) -> str:
    """`sizeH` of a file entry: 1.5 KB style."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def waf_blocks(command: str) -> bool:
    """Whether the simulated web firewall refuses a request carrying this command."""
    return bool(WAF_PATTERN.search(command))


def make_result_zip(job: SimJob, now: float, sc: Scenario) -> bytes:
    """out.zip of an ended job: its log, a summary, the declared outputs, optional padding."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("log", log_text(job, now, sc))
        summary = {"job_id": job.id, "name": job.name, "status": job_status(job, now, sc)[0]}
        archive.writestr("result.json", json.dumps(summary))
        for name in job.spec.get("outFiles") or []:
            clean = name.strip("/")
            path = f"{clean}/README" if name.endswith("/") else clean
            if clean and ".." not in clean.split("/") and path not in archive.namelist():
                archive.writestr(path, f"output {name} of job {job.id}\n")
        if sc.result_padding_bytes:
            archive.writestr(
                "data.bin", os.urandom(sc.result_padding_bytes), compress_type=zipfile.ZIP_STORED
            )
    return buffer.getvalue()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a ``bytes=START-[END]`` header; None when absent/invalid."""
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", header.strip())
    if not match:
        return None
    start = int(match.group(1))
    end = int(match.group(2)) + 1 if match.group(2) else size
    return start, min(end, size)


# -- HTTP plumbing the base does not offer ----------------------------------------------------


@dataclass(frozen=True)
class SimResponse(Response):
    """A response with extra headers, or one cut short: `send_bytes` of the body, then close
    (-1: the whole body; 0 with `drop`: nothing at all, not even the status line)."""

    headers: tuple[tuple[str, str], ...] = ()
    send_bytes: int = -1
    drop: bool = False


@dataclass(frozen=True)
class SpooledBody:
    """A request body streamed to a temp file, with its size and CRC-32."""

    path: Path
    size: int
    crc: int


_spooled = threading.local()


def take_spooled_body() -> SpooledBody | None:
    """This request's streamed body (the route handler owns the file now)."""
    body = getattr(_spooled, "body", None)
    _spooled.body = None
    return body


class _StreamingHandler(_RequestHandler):
    """Streams upload bodies to disk (any size); writes SimResponse headers and drops."""

    def _read_body(self) -> bytes:
        leftover = take_spooled_body()
        if leftover is not None:
            leftover.path.unlink(missing_ok=True)
        path = self.path.split("?", 1)[0]
        if path not in STREAMED_PATHS:
            return super()._read_body()
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise HttpError(411, "chunked request bodies are not supported; send Content-Length")
        try:
            remaining = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise HttpError(400, "bad Content-Length") from exc
        app: BohriumSimulator = self.server.app  # type: ignore[assignment]
        fd, name = tempfile.mkstemp(dir=app.spool_dir, suffix=".body")
        size, crc = 0, 0
        with os.fdopen(fd, "wb") as handle:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                handle.write(chunk)
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                remaining -= len(chunk)
        _spooled.body = SpooledBody(Path(name), size, crc)
        return b""

    def _write(self, response: Response) -> None:
        if not isinstance(response, SimResponse):
            super()._write(response)
            return
        self.close_connection = self.close_connection or response.drop
        if response.drop and response.send_bytes == 0:
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            body = (
                response.body if response.send_bytes < 0 else response.body[: response.send_bytes]
            )
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def ok(data: Any = None) -> Response:
    return json_response(
        {"code": 0, "data": data if data is not None else {}, "message": "success"}
    )


def fail(code: int, message: str, status: int = 200) -> Response:
    return json_response(
        {"code": code, "data": None, "message": message, "error": {"code": code, "msg": message}},
        status,
    )


class Answer(Exception):
    """Raised inside handlers to answer with a business-error envelope (HTTP `status`)."""

    def __init__(self, code: int, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# -- the simulator ---------------------------------------------------------------------------


class BohriumSimulator(SimulatorBase):
    """OpenAPI + tiefblue + pre-signed files on one loopback port."""

    name = "bohrium"

    def __init__(
        self,
        *,
        port: int = 0,
        scenario: Scenario | None = None,
        state_dir: Path | str | None = None,
        log: TextIO | None = sys.stderr,
    ) -> None:
        super().__init__(port=port, log=log)
        self.scenario = replace(scenario or PRESETS["default"])
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="hpcsim-bohrium-")
            state_dir = self._temp.name
        self.state_dir = Path(state_dir)
        self.objects_dir = self.state_dir / "objects"
        self.spool_dir = self.state_dir / "spool"
        for path in (
            self.objects_dir,
            self.spool_dir,
            self.state_dir / "parts",
            self.state_dir / "results",
        ):
            path.mkdir(parents=True, exist_ok=True)
        self.users = dict(USERS)
        self.jobs: dict[int, SimJob] = {}
        self.groups: dict[int, SimGroup] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self.injections: list[Injection] = []
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.url_secret = secrets.token_bytes(16)
        self.clock = time.time
        self._lock = threading.RLock()
        self._next_job = FIRST_JOB_ID
        self._next_group = FIRST_GROUP_ID
        self._next_bohr = FIRST_BOHR_ID
        self._routes()

    def start(self) -> str:
        url = super().start()
        assert self._server is not None
        self._server.RequestHandlerClass = _StreamingHandler
        return url

    def on_stop(self) -> None:
        if self._temp is not None:
            self._temp.cleanup()

    def _routes(self) -> None:
        add = self.router.add
        job = r"/openapi/v1/job/(?P<id>\d+)"
        add("POST", r"/openapi/v1/job/create", self._create, "job/create")
        add("POST", r"/openapi/v2/job/add", self._add, "job/add")
        add("GET", r"/openapi/v1/job/list", self._list, "job/list")
        add("POST", r"/openapi/v4/job_group/add", self._group_add, "v4/job_group/add")
        add("POST", r"/openapi/v4/job/create", self._create_v4, "v4/job/create")
        add("POST", r"/openapi/v4/job/add", self._add_v4, "v4/job/add")
        add("POST", r"/openapi/v4/job/kill/(?P<id>\d+)", self._kill, "v4/job/kill")
        add("GET", r"/openapi/v4/job/list", self._list, "v4/job/list")
        add("GET", r"/openapi/v4/job/detail/(?P<bohr>\d+)", self._detail_v4, "v4/job/detail")
        add("GET", r"/openapi/v1/ak/user", self._user_info, "ak/user")
        add("GET", job, self._detail, "job/detail")
        add("GET", job + "/log", self._job_log, "job/log")
        add("POST", r"/openapi/v1/job/terminate/(?P<id>\d+)", self._terminate, "job/terminate")
        add("POST", r"/openapi/v1/job/kill/(?P<id>\d+)", self._kill, "job/kill")
        add("POST", r"/openapi/v1/job/del/(?P<id>\d+)", self._delete, "job/del")
        add("POST", job + "/modify", self._rename, "job/modify")
        add("GET", r"/openapi/v1/job/view/conf/(?P<id>\d+)", self._view_conf, "job/view/conf")
        add("GET", job + "/snapshot", self._snapshot, "job/snapshot")
        add("GET", r"/openapi/v1/ak/get", self._whoami, "ak/get")
        add("POST", r"/openapi/v1/job_group/add", self._group_add, "job_group/add")
        add("GET", r"/openapi/v1/job/groups", self._group_list, "job/groups")
        add(
            "POST",
            r"/openapi/v1/job/terminate/group/(?P<gid>\d+)",
            self._group_terminate,
            "group/terminate",
        )
        add("POST", r"/openapi/v1/job/group/del/(?P<gid>\d+)", self._group_delete, "group/del")
        add(
            "POST", r"/openapi/v1/job_group/(?P<gid>\d+)/modify", self._group_rename, "group/modify"
        )
        add("POST", r"/api/upload/binary", self._upload_binary, "tiefblue/binary")
        add("GET", r"/api/download/(?P<key>.+)", self._download_redirect, "tiefblue/download")
        add("GET", r"/api/meta/(?P<key>.+)", self._object_meta, "tiefblue/meta")
        add("DELETE", r"/api/delete/(?P<key>.+)", self._object_delete, "tiefblue/delete")
        add("POST", r"/api/upload/multipart/init", self._multipart_init, "tiefblue/init")
        add("POST", r"/api/upload/multipart/upload", self._multipart_part, "tiefblue/part")
        add(
            "POST", r"/api/upload/multipart/complete", self._multipart_complete, "tiefblue/complete"
        )
        add("GET", r"/_files/results/(?P<id>\d+)/out\.zip", self._result_file, "files/result")
        add("GET", r"/_files/logs/(?P<id>\d+)", self._log_file, "files/log")
        add("GET", r"/_files/objects/(?P<key>.+)", self._object_file, "files/object")
        add("POST", r"/_sim/config", self._control_config)
        add("POST", r"/_sim/inject", self._control_inject)
        add("POST", r"/_sim/jobs/(?P<id>\d+)/advance", self._control_advance)
        add("POST", r"/_sim/seed", self._control_seed)
        add("GET", r"/_sim/jobs", self._control_jobs)
        add("GET", r"/_sim/objects", self._control_objects)
        add("GET", r"/_sim/requests", lambda _r: json_response(list(self.request_log)))
        add("POST", r"/_sim/sink", self._control_sink)
        add("PUT", r"/_sim/sink", self._control_sink)

    # -- dispatch: injections and business errors -----------------------------------------

    def _take_injection(self, request: Request) -> Injection | None:
        with self._lock:
            for rule in self.injections:
                if rule.path == request.path and rule.method in ("*", request.method):
                    if rule.skip > 0:
                        rule.skip -= 1
                        return None
                    rule.count -= 1
                    if rule.count <= 0:
                        self.injections.remove(rule)
                    return rule
        return None

    def _log_request(self, request: Request) -> None:
        """What a request looked like on the wire: names only, never a key or token."""
        self.request_log.append(
            {
                "method": request.method,
                "path": request.path,
                "query": sorted(request.query),
                "key_forms": sorted(
                    form
                    for form, present in (
                        ("bearer", request.bearer_token() is not None),
                        ("accessKey header", "accesskey" in request.headers),
                        ("accessKey query", "accessKey" in request.query),
                    )
                    if present
                ),
            }
        )

    def handle(self, request: Request) -> Response:
        if not request.path.startswith("/_sim/"):
            self._log_request(request)
        rule = None if request.path.startswith("/_sim/") else self._take_injection(request)
        if rule is not None:
            self.counters.inc("events", f"injected_{rule.kind}")
            if rule.kind == "error":
                return fail(rule.code, rule.message)
            if rule.kind == "429":
                return SimResponse(
                    429,
                    b"Too Many Requests",
                    "text/plain",
                    headers=(("Retry-After", str(rule.retry_after)),),
                )
        response = super().handle(request)
        if rule is not None and rule.kind == "drop":
            return SimResponse(
                response.status, response.body, response.content_type, send_bytes=0, drop=True
            )
        if rule is not None and rule.kind == "drop-mid-body":
            headers = response.headers if isinstance(response, SimResponse) else ()
            return SimResponse(
                response.status,
                response.body,
                response.content_type,
                headers=headers,
                send_bytes=len(response.body) // 2,
                drop=True,
            )
        return response

    # -- helpers --------------------------------------------------------------------------

    def _user(self, request: Request) -> SimUser:
        key = (
            request.bearer_token()
            or request.headers.get("accesskey")
            or request.query.get("accessKey")
        )
        user = self.users.get(key or "")
        if user is None:
            raise Answer(CODE_UNAUTHORIZED, "unauthorized: access key invalid", status=401)
        return user

    def _job(self, request: Request, user: SimUser) -> SimJob:
        job = self.jobs.get(int(request.params["id"]))
        if job is None:
            raise Answer(CODE_NOT_FOUND, f"job {request.params['id']} not found")
        if job.owner != user.user_id:
            raise Answer(CODE_PERMISSION, "permission denied")
        return job

    def _group(self, request: Request, user: SimUser) -> SimGroup:
        group = self.groups.get(int(request.params["gid"]))
        if group is None:
            raise Answer(CODE_NOT_FOUND, f"job group {request.params['gid']} not found")
        if group.owner != user.user_id:
            raise Answer(CODE_PERMISSION, "permission denied")
        return group

    def _check_project(self, user: SimUser, project: Any) -> int:
        if not isinstance(project, int) or isinstance(project, bool):
            raise Answer(CODE_BAD_PARAM, "invalid param: projectId")
        if project not in user.projects:
            raise Answer(CODE_PERMISSION, "permission denied: project")
        return project

    def _sign(self, kind: str, ident: int | str) -> str:
        return hmac.new(self.url_secret, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()

    def _input_keys(self, job: SimJob) -> list[str]:
        """The stored objects a submitted job reads (a zip each, or every file under a prefix)."""
        keys = []
        for path in job.spec.get("ossPath") or []:
            if str(path).endswith("/"):
                keys += sorted(k for k in self.objects if k.startswith(str(path)))
            elif path in self.objects:
                keys.append(str(path))
        return keys

    def _file_entry(self, name: str, url: str, size: int, now: float) -> dict[str, Any]:
        return {"name": name, "url": url, "updateTime": iso(now), "size": size,
                "sizeH": size_text(size)}

    def _status(self, job: SimJob) -> tuple[int, int, float | None]:
        return job_status(job, self.clock(), self.scenario)

    def job_object(self, job: SimJob, detail: bool = True) -> dict[str, Any]:
        """The job as `GET v1/job/{id}` answers it (the list leaves out `jobFiles`)."""
        now = self.clock()
        status, web, ended = job_status(job, now, self.scenario)
        ended_ok = status in (2, -1, 5) or web == -1
        has_results = ended_ok and not (job.stop and job.stop[0] in ("kill", "cancel"))
        group = self.groups.get(job.group_id)
        spec = job.spec
        start = None if job.added_at is None else job.added_at + sum(phases(job, self.scenario)[:2])
        spend = 0.0 if start is None else max(0.0, (ended or now) - start)
        result_url = (
            f"{self.base_url}/_files/results/{job.id}/out.zip?sig={self._sign('result', job.id)}"
            if has_results
            else ""
        )
        record = {
            "id": job.id,
            "bohrId": job.bohr_id,
            "projectId": job.project_id,
            "jobGroupId": job.group_id,
            "jobGroupName": group.name if group else None,
            "status": status,
            "webStatus": web,
            "jobName": job.name,
            "cmd": spec.get("cmd"),
            "imageName": spec.get("imageName"),
            "machineType": spec.get("scassType"),
            "spendTime": int(spend),
            "cost": f"{spend * 0.001:.4f}",
            "createTime": iso(job.created_at),
            "updateTime": iso(now),
            "endTime": iso(ended),
            "exitCode": None if not ended_ok else (0 if status == 2 else 1),
            "resultUrl": result_url,
            "errorInfo": "the command exited with code 1"
            if (web == -1 and job.outcome == "failed" and job.stop is None)
            else "",
            "workPath": f"/home/input_lbg-{job.owner}-{job.id}",
            "maxRunTime": spec.get("maxRunTime"),
        }
        if detail:
            log_url = f"{self.base_url}/_files/logs/{job.id}?sig={self._sign('log', job.id)}"
            log_size = len(log_text(job, now, self.scenario).encode())
            record["jobFiles"] = {
                "logFiles": [self._file_entry("STDOUTERR", log_url, log_size, now)],
                "inputFiles": [
                    self._file_entry(
                        key.rsplit("/", 1)[-1],
                        f"{self.base_url}/_files/objects/{key}?sig={self._sign('object', key)}",
                        self.objects[key]["size"],
                        now,
                    )
                    for key in self._input_keys(job)
                ],
                # the result archive, which holds the declared outputs (dpdispatcher reads [0])
                "outFiles": [
                    self._file_entry("out.zip", result_url, self._result_zip(job).stat().st_size,
                                     now)
                ]
                if result_url
                else [],
            }
        return record

    def _visible(self, user: SimUser) -> list[SimJob]:
        return sorted(
            (j for j in self.jobs.values() if j.owner == user.user_id and j.added_at is not None),
            key=lambda j: -j.id,
        )

    def _new_group(self, user: SimUser, project: int, name: str) -> SimGroup:
        group = SimGroup(self._next_group, user.user_id, project, name, self.clock())
        self._next_group += 1
        self.groups[group.id] = group
        return group

    # -- OpenAPI: jobs --------------------------------------------------------------------

    def _api(self, request: Request, action: Any) -> Response:
        try:
            with self._lock:
                return ok(action(self._user(request)))
        except Answer as answer:
            return fail(answer.code, answer.message, answer.status)

    def _new_job(self, user: SimUser, body: dict[str, Any], group_key: str) -> SimJob:
        """A created (not yet submitted) job; `group_key` names the group field of the body."""
        project = self._check_project(user, body.get("projectId"))
        name = str(body.get("name") or "job")
        group_id = body.get(group_key) or 0
        if group_id:
            group = self.groups.get(int(group_id))
            if group is None or group.owner != user.user_id:
                raise Answer(CODE_NOT_FOUND, f"job group {group_id} not found")
        else:
            group = self._new_group(user, project, name)
        job_id, bohr_id = self._next_job, self._next_bohr
        self._next_job += 1
        self._next_bohr += 1
        store_path = f"jobs/{user.user_id}/{job_id}/"
        claims = {"appKey": "bohrium", "tag": f"job-{job_id}", "path": store_path,
                  "iat": int(self.clock()), "exp": int(self.clock()) + 86400}
        job = SimJob(
            job_id,
            user.user_id,
            project,
            group.id,
            name,
            store_path,
            storage_token(self.url_secret, claims),
            self.clock(),
            bohr_id=bohr_id,
        )
        self.jobs[job_id] = job
        return job

    def _create(self, request: Request) -> Response:
        """`v1/job/create` as bohrium-sdk and bohrium-open-sdk send it."""
        body = request.json_object()

        def create(user: SimUser) -> dict[str, Any]:
            job = self._new_job(user, body, "bohrGroupId")
            return {
                "jobId": job.id,
                "jobGroupId": job.group_id,
                "storePath": job.store_path,
                "token": job.token,
            }

        return self._api(request, create)

    def _create_v4(self, request: Request) -> Response:
        """`v4/job/create {name, BohrGroupId, projectId}` (the official skill's spelling)."""
        body = request.json_object()

        def create(user: SimUser) -> dict[str, Any]:
            if "bohrGroupId" in body:
                raise Answer(CODE_BAD_PARAM, "invalid param: v4 takes BohrGroupId")
            job = self._new_job(user, body, "BohrGroupId")
            return {
                "jobId": job.id,
                "jobGroupId": job.group_id,
                "storeHost": self.base_url,
                "storePath": job.store_path,
                "token": job.token,
            }

        return self._api(request, create)

    def _submit(self, user: SimUser, body: dict[str, Any], command: str) -> SimJob:
        """Check a `job/add` body against the created job and its stored input; submit it."""
        job = self.jobs.get(body.get("jobId") or -1)
        if job is None or job.owner != user.user_id:
            raise Answer(CODE_NOT_FOUND, f"job {body.get('jobId')} not found")
        if job.added_at is not None:
            raise Answer(CODE_STATE, "job already submitted")
        self._check_project(user, body.get("projectId"))
        if body.get("jobType", "") not in JOB_TYPES:
            raise Answer(CODE_BAD_PARAM, "invalid param: jobType must be container")
        image = str(body.get("imageName") or body.get("imageAddress") or "")
        if "/" not in image.split(":")[0]:
            raise Answer(CODE_BAD_PARAM, f"image {image!r} not found: use the full address")
        if not command or not body.get("scassType"):
            raise Answer(CODE_BAD_PARAM, "invalid param: cmd and scassType are required")
        mode = INPUT_MODES.get((body.get("inputFileType"), body.get("inputFileMethod")))
        if mode is None:
            raise Answer(CODE_BAD_PARAM, "invalid param: inputFileType/inputFileMethod")
        paths = body.get("ossPath")
        if not isinstance(paths, list) or not paths:
            raise Answer(CODE_BAD_PARAM, "invalid param: ossPath must be a list")
        for key in paths:
            self._check_input(job, str(key), mode)
        job.spec = {**body, "imageName": image}
        job.name = str(body.get("jobName") or job.name)
        job.added_at = self.clock()
        job.timing = phases(job, self.scenario)
        marker = self.scenario.fail_marker
        job.outcome = "failed" if marker and marker in command else "finished"
        self.counters.inc("events", "jobs_submitted")
        return job

    def _check_input(self, job: SimJob, key: str, mode: str) -> None:
        """A zip object (3/1), or a prefix holding uploaded files (2/4), of this job."""
        if not key.startswith(job.store_path):
            raise Answer(CODE_NOT_FOUND, f"input file {key} not found")
        if mode == "files":
            prefix = key if key.endswith("/") else key + "/"
            if not any(k.startswith(prefix) for k in self.objects):
                raise Answer(CODE_NOT_FOUND, f"no input files under {key}")
            return
        stored = self.objects.get(key)
        if not stored:
            raise Answer(CODE_NOT_FOUND, f"input file {key} not found")
        if not stored["verified"]:
            raise Answer(CODE_BAD_PARAM, f"input file {key} is not a valid zip")

    def _waf(self, command: str) -> Response | None:
        if waf_blocks(command):
            self.counters.inc("events", "waf_blocked")
            return Response(405, WAF_PAGE.encode(), "text/html")
        return None

    def _add(self, request: Request) -> Response:
        """`v2/job/add`; answers `{jobId, jobGroupId}` (what lbg reads)."""
        body = request.json_object()
        command = str(body.get("cmd") or "")

        def add(user: SimUser) -> dict[str, Any]:
            job = self._submit(user, body, command)
            return {"jobId": job.id, "jobGroupId": job.group_id}

        return self._waf(command) or self._api(request, add)

    def _add_v4(self, request: Request) -> Response:
        """`v4/job/add`; answers `{jobId, bohrJobId, jobGroupId}` (the official skill)."""
        body = request.json_object()
        command = str(body.get("cmd") or "")

        def add(user: SimUser) -> dict[str, Any]:
            job = self._submit(user, body, command)
            return {"jobId": job.id, "bohrJobId": job.bohr_id, "jobGroupId": job.group_id}

        return self._waf(command) or self._api(request, add)

    def _list(self, request: Request) -> Response:
        query = request.query

        def listing(user: SimUser) -> dict[str, Any]:
            try:
                page = max(1, int(query.get("page") or 1))
                size = min(MAX_PAGE_SIZE, max(1, int(query.get("pageSize") or 10)))
                status = int(query["status"]) if query.get("status") else None
                group = int(query["groupId"]) if query.get("groupId") else None
                group = None if group == ALL_GROUPS else group
                project = int(query["projectId"]) if query.get("projectId") else None
            except ValueError:
                raise Answer(CODE_BAD_PARAM, "invalid param") from None
            if project is not None:
                self._check_project(user, project)
            jobs = [
                j
                for j in self._visible(user)
                if (group is None or j.group_id == group)
                and (project is None or j.project_id == project)
            ]
            if status is not None:
                jobs = [j for j in jobs if self._status(j)[0] == status]
            total = len(jobs)
            items = [
                self.job_object(j, detail=False) for j in jobs[(page - 1) * size : page * size]
            ]
            return {
                "items": items,
                "total": total,
                "page": page,
                "pageSize": size,
                "totalPage": max(1, -(-total // size)),
            }

        return self._api(request, listing)

    def _detail(self, request: Request) -> Response:
        return self._api(request, lambda user: self.job_object(self._job(request, user)))

    def _detail_v4(self, request: Request) -> Response:
        """`v4/job/detail/{bohrId}`: the job object plus `logFiles` at the top."""

        def detail(user: SimUser) -> dict[str, Any]:
            bohr_id = int(request.params["bohr"])
            job = next((j for j in self.jobs.values() if j.bohr_id == bohr_id), None)
            if job is None:
                raise Answer(CODE_NOT_FOUND, f"job {bohr_id} not found")
            if job.owner != user.user_id:
                raise Answer(CODE_PERMISSION, "permission denied")
            record = self.job_object(job)
            return {**record, "logFiles": record["jobFiles"]["logFiles"]}

        return self._api(request, detail)

    def _job_log(self, request: Request) -> Response:
        def read(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            text = log_text(job, self.clock(), self.scenario).encode()
            try:
                page = int(request.query.get("page") or -1)
                size = max(1, int(request.query.get("pageSize") or 8192))
            except ValueError:
                raise Answer(CODE_BAD_PARAM, "invalid param") from None
            chunk = text[-size:] if page < 0 else text[(page - 1) * size : page * size]
            return {
                "log": chunk.decode(errors="replace"),
                "page": page,
                "pageSize": size,
                "total": len(text),
            }

        return self._api(request, read)

    def _stop(self, request: Request, action: str) -> Response:
        def stop(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            status = self._status(job)[0]
            web = self._status(job)[1]
            if status in (2, -1, 5) or web == -1:
                raise Answer(CODE_STATE, f"job is already {STATUS_LABELS[status]}")
            if status in (4, 6, 7):
                raise Answer(CODE_STATE, f"job is {STATUS_LABELS[status]}")
            if action == "terminate" and status != 1:
                raise Answer(CODE_STATE, f"job status {STATUS_LABELS[status]} can not terminate")
            job.stop = (action, self.clock())
            self.counters.inc("events", f"jobs_{action}")
            return {}

        return self._api(request, stop)

    def _terminate(self, request: Request) -> Response:
        return self._stop(request, "terminate")

    def _kill(self, request: Request) -> Response:
        return self._stop(request, "kill")

    def _delete(self, request: Request) -> Response:
        def delete(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            del self.jobs[job.id]
            self.counters.inc("events", "jobs_delete")
            return {}

        return self._api(request, delete)

    def _rename(self, request: Request) -> Response:
        body = request.json_object()

        def rename(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise Answer(CODE_BAD_PARAM, "invalid param: name")
            job.name = name
            return {}

        return self._api(request, rename)

    def _view_conf(self, request: Request) -> Response:
        def conf(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            status = self._status(job)[0]
            return {
                "state": STATUS_LABELS.get(status, "unknown"),
                "baseDir": f"/home/input_lbg-{job.owner}-{job.id}",
                "tempDir": f"/share/tmp/lbg-{job.id}",
                "token": secrets.token_urlsafe(18),
                "host": self.base_url,
                "expires": iso(self.clock() + 3600),
            }

        return self._api(request, conf)

    def _snapshot(self, request: Request) -> Response:
        def snapshot(user: SimUser) -> dict[str, Any]:
            job = self._job(request, user)
            status = self._status(job)[0]
            if status in (2, -1, 5):
                raise Answer(CODE_NO_SNAPSHOT, "no snapshot: the job has finished")
            size = len(log_text(job, self.clock(), self.scenario))
            return {"time": iso(self.clock()), "files": [{"name": "STDOUTERR", "size": size}]}

        return self._api(request, snapshot)

    def _user_info(self, request: Request) -> Response:
        """`v1/ak/user` (bohrium-open-sdk `user.get_info`; fields inferred)."""
        return self._api(
            request,
            lambda user: {
                "userId": user.user_id,
                "orgId": user.org_id,
                "nickname": user.nickname,
                "projectIds": list(user.projects),
            },
        )

    def _whoami(self, request: Request) -> Response:
        return self._api(
            request,
            lambda user: {
                "user_id": user.user_id,
                "orgId": user.org_id,
                "nickname": user.nickname,
            },
        )

    # -- OpenAPI: groups ------------------------------------------------------------------

    def _group_add(self, request: Request) -> Response:
        body = request.json_object()

        def add(user: SimUser) -> dict[str, Any]:
            project = self._check_project(user, body.get("projectId"))
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise Answer(CODE_BAD_PARAM, "invalid param: name")
            return {"groupId": self._new_group(user, project, name).id}

        return self._api(request, add)

    def _group_list(self, request: Request) -> Response:
        """`v1/job/groups` as lbg calls it: 1-based pages (0 reads as 1), `program_id`,
        items `{id, jobName, status: [pending, running, finished, failed], spendTime}`."""
        query = request.query

        def listing(user: SimUser) -> dict[str, Any]:
            try:
                page = max(1, int(query.get("page") or 1))
                size = min(MAX_PAGE_SIZE, max(1, int(query.get("pageSize") or 10)))
                project = int(query["program_id"]) if query.get("program_id") else None
            except ValueError:
                raise Answer(CODE_BAD_PARAM, "invalid param") from None
            if "projectId" in query:
                raise Answer(CODE_BAD_PARAM, "invalid param: projectId (use program_id)")
            if project is not None:
                self._check_project(user, project)
            start, end = query.get("startTime"), query.get("endTime")
            search = (query.get("searchKey") or "").lower()
            newest_first = query.get("reverse", "1") != "0"
            groups = []
            for group in sorted(self.groups.values(), key=lambda g: g.id, reverse=newest_first):
                day = (iso(group.created_at) or "")[:10]
                if (
                    group.owner != user.user_id
                    or (project is not None and group.project_id != project)
                    or (start and day < start)
                    or (end and day > end)
                    or (search and search not in group.name.lower())
                ):
                    continue
                groups.append(self._group_item(group))
            return {
                "items": groups[(page - 1) * size : page * size],
                "total": len(groups),
                "pageSize": size,
            }

        return self._api(request, listing)

    def _group_item(self, group: SimGroup) -> dict[str, Any]:
        members = [j for j in self.jobs.values() if j.group_id == group.id and j.added_at]
        codes = [self._status(j)[0] for j in members]
        counts = [
            sum(c in (0, 3, 8, 9) for c in codes),
            sum(c in (1, 4, 6, 7) for c in codes),
            sum(c in (2, 5) for c in codes),
            sum(c == -1 for c in codes),
        ]
        spend = sum(int(self.job_object(j, detail=False)["spendTime"]) for j in members)
        return {
            "id": group.id,
            "jobName": group.name,
            "projectId": group.project_id,
            "createTime": iso(group.created_at),
            "status": counts,
            "spendTime": spend,
        }

    def _group_terminate(self, request: Request) -> Response:
        def terminate(user: SimUser) -> dict[str, Any]:
            group = self._group(request, user)
            now = self.clock()
            for job in self.jobs.values():
                if job.group_id != group.id or job.added_at is None or job.stop:
                    continue
                status = self._status(job)[0]
                if status == 1:
                    job.stop = ("terminate", now)
                elif status in ACTIVE:
                    job.stop = ("cancel", now)
            return {}

        return self._api(request, terminate)

    def _group_delete(self, request: Request) -> Response:
        def delete(user: SimUser) -> dict[str, Any]:
            group = self._group(request, user)
            for job_id in [j.id for j in self.jobs.values() if j.group_id == group.id]:
                del self.jobs[job_id]
            del self.groups[group.id]
            return {}

        return self._api(request, delete)

    def _group_rename(self, request: Request) -> Response:
        body = request.json_object()

        def rename(user: SimUser) -> dict[str, Any]:
            group = self._group(request, user)
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise Answer(CODE_BAD_PARAM, "invalid param: name")
            group.name = name
            return {}

        return self._api(request, rename)

    # -- tiefblue -------------------------------------------------------------------------

    def _storage_job(self, request: Request, path: str) -> SimJob:
        token = request.bearer_token()
        with self._lock:
            for job in self.jobs.values():
                if token and hmac.compare_digest(job.token, token):
                    if not path.startswith(job.store_path):
                        raise HttpError(403, "path outside the token's storage prefix")
                    return job
        raise HttpError(401, "storage token invalid")

    def _param(self, request: Request) -> dict[str, Any]:
        try:
            return storage_param.decode(request.headers.get("x-storage-param", ""))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None

    def _store(self, key: str, sources: list[Path]) -> dict[str, Any]:
        """Keep an object as its piece files in order (parts are never copied together)."""
        folder = self.objects_dir / hashlib.sha256(key.encode()).hexdigest()
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        pieces = []
        for index, source in enumerate(sources):
            pieces.append(folder / f"{index:05d}")
            os.replace(source, pieces[-1])
        verified = verify_zip(pieces)
        record = {
            "size": sum(p.stat().st_size for p in pieces),
            "verified": verified,
            "pieces": pieces,
        }
        with self._lock:
            self.objects[key] = record
        self.counters.inc("events", "objects_stored" if verified else "objects_not_zip")
        return record

    def _upload_binary(self, request: Request) -> Response:
        body = take_spooled_body()
        param = self._param(request)
        key = str(param.get("path") or "")
        self._storage_job(request, key)
        if body is None:
            raise HttpError(400, "no body")
        record = self._store(key, [body.path])
        return ok({"path": key, "size": record["size"]})

    def _stored(self, request: Request) -> tuple[str, dict[str, Any]]:
        key = request.params["key"]
        self._storage_job(request, key)
        record = self.objects.get(key)
        if record is None:
            raise HttpError(404, "no such object")
        return key, record

    def _download_redirect(self, request: Request) -> Response:
        """`/api/download/{key}`: a redirect to a pre-signed URL (bohrium-open-sdk reads it)."""
        key, _ = self._stored(request)
        url = f"{self.base_url}/_files/objects/{key}?sig={self._sign('object', key)}"
        return SimResponse(302, b"", "text/plain", headers=(("Location", url),))

    def _object_meta(self, request: Request) -> Response:
        key, record = self._stored(request)
        return ok({"path": key, "size": record["size"], "sizeH": size_text(record["size"])})

    def _object_delete(self, request: Request) -> Response:
        key, record = self._stored(request)
        with self._lock:
            del self.objects[key]
        shutil.rmtree(record["pieces"][0].parent, ignore_errors=True)
        return ok({"path": key})

    def _object_file(self, request: Request) -> Response:
        key = request.params["key"]
        if not hmac.compare_digest(request.query.get("sig", ""), self._sign("object", key)):
            raise HttpError(403, "signature does not match")
        record = self.objects.get(key)
        if record is None:
            raise HttpError(404, "no such object")
        with Concatenated(record["pieces"]) as stream:
            data = stream.read()
        return self._serve_bytes(request, data, "application/octet-stream")

    def _multipart_init(self, request: Request) -> Response:
        key = str(request.json_object().get("path") or "")
        self._storage_job(request, key)
        initial = uuid.uuid4().hex
        (self.state_dir / "parts" / initial).mkdir()
        with self._lock:
            self.uploads[initial] = {"path": key, "parts": {}}
        return ok({"initialKey": initial})

    def _multipart_part(self, request: Request) -> Response:
        body = take_spooled_body()
        param = self._param(request)
        initial, number = str(param.get("initialKey") or ""), param.get("number")
        upload = self.uploads.get(initial)
        if upload is None or body is None:
            raise HttpError(404, "no such multipart upload")
        self._storage_job(request, upload["path"])
        if not isinstance(number, int) or not 1 <= number <= 10000:
            raise HttpError(400, "part number must be 1..10000")
        if param.get("partSize") not in (None, body.size):
            raise HttpError(400, "partSize does not match the body")
        os.replace(body.path, self.state_dir / "parts" / initial / f"{number:05d}")
        receipt = f"{number}:{body.size}:{body.crc:08x}"
        with self._lock:
            upload["parts"][number] = receipt
        return ok({"partString": receipt})

    def _multipart_complete(self, request: Request) -> Response:
        body = request.json_object()
        initial = str(body.get("initialKey") or "")
        upload = self.uploads.get(initial)
        if upload is None or body.get("path") != upload["path"]:
            raise HttpError(404, "no such multipart upload")
        self._storage_job(request, upload["path"])
        parts = upload["parts"]
        receipts = body.get("partString")
        expected = [parts[n] for n in sorted(parts)]
        if receipts != expected or sorted(parts) != list(range(1, len(parts) + 1)):
            return fail(CODE_BAD_PARAM, "part list does not match the uploaded parts")
        folder = self.state_dir / "parts" / initial
        record = self._store(upload["path"], [folder / f"{n:05d}" for n in sorted(parts)])
        shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            del self.uploads[initial]
        self.counters.inc("events", "multipart_completed")
        return ok({"path": upload["path"], "size": record["size"], "parts": len(parts)})

    # -- pre-signed files -----------------------------------------------------------------

    def _serve_bytes(self, request: Request, data: bytes, content_type: str) -> Response:
        wanted = parse_range(request.headers.get("range", ""), len(data))
        if wanted is None:
            return SimResponse(200, data, content_type, headers=(("Accept-Ranges", "bytes"),))
        start, end = wanted
        if start >= len(data):
            return SimResponse(
                416, b"", content_type, headers=(("Content-Range", f"bytes */{len(data)}"),)
            )
        return SimResponse(
            206,
            data[start:end],
            content_type,
            headers=(("Content-Range", f"bytes {start}-{end - 1}/{len(data)}"),),
        )

    def _signed_job(self, request: Request, kind: str) -> SimJob:
        job_id = int(request.params["id"])
        if not hmac.compare_digest(request.query.get("sig", ""), self._sign(kind, job_id)):
            raise HttpError(403, "signature does not match")
        job = self.jobs.get(job_id)
        if job is None:
            raise HttpError(404, "no such object")
        return job

    def _result_zip(self, job: SimJob) -> Path:
        """out.zip of an ended job, made once."""
        path = self.state_dir / "results" / f"{job.id}.zip"
        with self._lock:
            if not path.exists():
                path.write_bytes(make_result_zip(job, self.clock(), self.scenario))
        return path

    def _result_file(self, request: Request) -> Response:
        job = self._signed_job(request, "result")
        if not self.job_object(job, detail=False)["resultUrl"]:
            raise HttpError(404, "no result")
        return self._serve_bytes(request, self._result_zip(job).read_bytes(), "application/zip")

    def _log_file(self, request: Request) -> Response:
        job = self._signed_job(request, "log")
        text = log_text(job, self.clock(), self.scenario).encode()
        return self._serve_bytes(request, text, "text/plain; charset=utf-8")

    # -- control --------------------------------------------------------------------------

    def configure(self, **changes: Any) -> Scenario:
        """Change scenario fields at run time."""
        known = {f.name for f in fields(Scenario)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        with self._lock:
            self.scenario = replace(self.scenario, **changes)
        return self.scenario

    def inject(self, kind: str, method: str, path: str, count: int = 1, **extra: Any) -> None:
        """Answer the next `count` matching requests with a scripted fault."""
        if kind not in ("error", "429", "drop", "drop-mid-body"):
            raise ValueError(f"unknown injection kind {kind!r}")
        with self._lock:
            self.injections.append(Injection(kind, method.upper(), path, count, **extra))

    def advance(self, job_id: int, to: str, hold: bool = False) -> None:
        """Move a submitted job to the start of a phase (or to its end); `hold` keeps it in
        that phase (pending, scheduling or running) until advanced again."""
        with self._lock:
            job = self.jobs[job_id]
            now = self.clock()
            pending, scheduling, running = phases(job, self.scenario)
            offsets = {
                "pending": 0.0,
                "scheduling": pending,
                "running": pending + scheduling,
                "finished": pending + scheduling + running + 0.001,
                "failed": pending + scheduling + running + 0.001,
            }
            if to not in offsets:
                raise ValueError(f"unknown phase {to!r}")
            job.added_at = now - offsets[to] - (0.001 if to != "pending" else 0.0)
            job.outcome = "failed" if to == "failed" else job.outcome
            if to == "finished":
                job.outcome = "finished"
            job.stop = None
            job.hold = {"pending": 0, "scheduling": 3, "running": 1}.get(to) if hold else None

    def seed(self, count: int, user_key: str = DEMO_ACCESS_KEY) -> list[int]:
        """`count` finished jobs (no input), for list benchmarks."""
        user = self.users[user_key]
        ids = []
        with self._lock:
            group = self._new_group(user, user.projects[0], "seeded")
            past = self.clock() - 86400
            for index in range(count):
                job = SimJob(
                    self._next_job,
                    user.user_id,
                    user.projects[0],
                    group.id,
                    f"seeded-{index}",
                    f"jobs/{user.user_id}/{self._next_job}/",
                    secrets.token_urlsafe(8),
                    past,
                    added_at=past,
                    bohr_id=self._next_bohr,
                    spec={
                        "cmd": "true",
                        "imageName": "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
                        "scassType": "c2_m4_cpu",
                    },
                )
                self.jobs[job.id] = job
                ids.append(job.id)
                self._next_job += 1
                self._next_bohr += 1
        return ids

    def _control_config(self, request: Request) -> Response:
        try:
            scenario = self.configure(**request.json_object())
        except (TypeError, ValueError) as exc:
            raise HttpError(400, str(exc)) from None
        return json_response(asdict(scenario))

    def _control_inject(self, request: Request) -> Response:
        body = request.json_object()
        try:
            self.inject(
                str(body.pop("kind", "")),
                str(body.pop("method", "*")),
                str(body.pop("path", "")),
                int(body.pop("count", 1)),
                **body,
            )
        except (TypeError, ValueError) as exc:
            raise HttpError(400, str(exc)) from None
        return json_response({"injected": True})

    def _control_advance(self, request: Request) -> Response:
        try:
            body = request.json_object()
            self.advance(int(request.params["id"]), str(body.get("to")), bool(body.get("hold")))
        except KeyError:
            raise HttpError(404, "no such job") from None
        except ValueError as exc:
            raise HttpError(400, str(exc)) from None
        return json_response({"advanced": True})

    def _control_seed(self, request: Request) -> Response:
        count = request.json_object().get("count", 100)
        if not isinstance(count, int) or not 0 < count <= 100_000:
            raise HttpError(400, "count must be 1..100000")
        ids = self.seed(count)
        return json_response({"seeded": len(ids), "first": ids[0], "last": ids[-1]})

    def _control_jobs(self, request: Request) -> Response:
        with self._lock:
            jobs = [
                {
                    "id": j.id,
                    "name": j.name,
                    "status": self._status(j)[0],
                    "submitted": j.added_at is not None,
                    "group_id": j.group_id,
                }
                for j in sorted(self.jobs.values(), key=lambda j: j.id)
            ]
        return json_response(jobs)

    def _control_objects(self, request: Request) -> Response:
        with self._lock:
            return json_response(
                {k: {"size": v["size"], "verified": v["verified"]} for k, v in self.objects.items()}
            )

    def _control_sink(self, request: Request) -> Response:
        body = take_spooled_body()
        if body is not None:
            os.replace(body.path, self.objects_dir / "sink")
        return json_response({"size": body.size if body else 0})


class Concatenated(io.RawIOBase):
    """Several files read as one seekable stream (an object kept as its upload parts)."""

    def __init__(self, pieces: Sequence[Path]) -> None:
        super().__init__()
        self._handles = [open(p, "rb") for p in pieces]  # noqa: SIM115 - closed in close()
        self._starts = [0]
        for handle in self._handles:
            self._starts.append(self._starts[-1] + os.fstat(handle.fileno()).st_size)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._starts[-1]}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        for index, handle in enumerate(self._handles):
            start, end = self._starts[index], self._starts[index + 1]
            if start <= self._position < end:
                handle.seek(self._position - start)
                count = handle.readinto(memoryview(buffer)[: end - self._position])
                self._position += count or 0
                return count or 0
        return 0

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        super().close()


def verify_zip(pieces: Sequence[Path]) -> bool:
    """Whether the pieces, in order, form a zip whose every member matches its CRC."""
    try:
        with (
            io.BufferedReader(Concatenated(pieces), 1024 * 1024) as stream,
            zipfile.ZipFile(stream) as archive,
        ):
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m hpcskills.sim bohrium``."""
    parser = argparse.ArgumentParser(
        prog="python -m hpcskills.sim bohrium",
        description="Serve a local Bohrium OpenAPI + tiefblue simulator on 127.0.0.1 "
        "(fake credentials only).",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--scenario",
        choices=sorted(PRESETS),
        default="default",
        help="how fast jobs move through their phases",
    )
    parser.add_argument("--running", type=float, help="seconds a job runs (overrides scenario)")
    parser.add_argument("--fail-marker", help="a command containing this text fails")
    parser.add_argument("--state-dir", type=Path, help="where uploads and results are kept")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; stdout: the base URL line, then a JSON line."""
    args = build_parser().parse_args(argv)
    scenario = replace(PRESETS[args.scenario])
    if args.running is not None:
        scenario.running = args.running
    if args.fail_marker is not None:
        scenario.fail_marker = args.fail_marker
    simulator = BohriumSimulator(port=args.port, scenario=scenario, state_dir=args.state_dir)

    def announce(base_url: str) -> None:
        print(base_url, flush=True)
        print(json.dumps({"projects": [DEMO_PROJECT], "scenario": asdict(scenario)}), flush=True)

    simulator.run_until_signal(announce)
    return 0
