"""Client of the Bohrium OpenAPI (`{OPENAPI_HOST}/openapi/...`): every job and group call.

Each operation speaks the version `routes` gives it (v4 where verified), falling back to the
older one when the host answers HTTP 404. Every call carries the key as `Authorization:
Bearer` and as an `accessKey` header (the platform's clients use one or the other; never the
URL form, which ends up in logs). Reads retry on timeouts, connection faults, 429 and 5xx
(core.http). Writes are sent once; only a 429 (refused before anything happened) is waited
out and re-sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from hpcskills.bohrium.config import BohriumConfig
from hpcskills.bohrium.envelope import Hinter, unwrap
from hpcskills.bohrium.routes import OPERATIONS, path_of
from hpcskills.core.errors import RemoteError
from hpcskills.core.http import HttpSession

MAX_PAGE_SIZE = 100
LOG_PAGE_BYTES = 8192
WRITE_429_RETRIES = 3
DEFAULT_TIMEOUT = (10.0, 60.0)


ALL_GROUPS = -1  # groupId meaning "every job" (lbg, v4 clients)
Request = tuple[dict[str, int], dict[str, Any] | None, dict[str, Any] | None]  # ids, query, body


def _no_hint(_text: str) -> str | None:
    return None


def _quiet(_line: str) -> None:
    return None


def decode_log(value: Any) -> str:
    """The log text whichever way it comes: plain text, or (as lbg decodes it) a JSON
    string holding `{"log": text or [lines]}` or a list of lines (pure)."""
    if isinstance(value, list):
        return "\n".join(decode_log(line) for line in value)
    if isinstance(value, dict):
        return decode_log(value.get("log", ""))
    text = "" if value is None else str(value)
    if text[:1] in ("{", "["):
        try:
            decoded = json.loads(text)
        except ValueError:
            return text
        if isinstance(decoded, dict | list):
            return decode_log(decoded)
    return text


def _retry_after(response: requests.Response, attempt: int) -> float:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.isdigit() else min(8.0, 0.5 * 2**attempt)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class BohriumApi:
    """The OpenAPI of one host with one access key."""

    def __init__(
        self,
        config: BohriumConfig,
        *,
        hint_for: Hinter = _no_hint,
        http: HttpSession | None = None,
        sleep: Callable[[float], None] = time.sleep,
        report: Callable[[str], None] = _quiet,
    ) -> None:
        self.config = config
        self.hint_for = hint_for
        self.http = http or HttpSession(
            config.api_base, timeout=DEFAULT_TIMEOUT, service="the Bohrium OpenAPI", sleep=sleep
        )
        self._sleep = sleep
        self.report = report
        self.versions = {
            op: config.api_versions.get(op, operation.default)
            for op, operation in OPERATIONS.items()
        }
        self.bohr_ids: dict[int, int] = {}  # job id → bohrId, learned from answers

    # -- plumbing --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """One API call; returns `data` of the envelope or raises the typed error."""
        key = self.config.require_key()
        headers = {"Authorization": f"Bearer {key}", "accessKey": key}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        method = method.upper()
        for attempt in range(WRITE_429_RETRIES + 1):
            response = self.http.request(
                method, path, headers=headers, params=clean or None, json=body
            )
            if method == "GET" or response.status_code != 429 or attempt == WRITE_429_RETRIES:
                break
            self._sleep(_retry_after(response, attempt))
        return unwrap(
            response.status_code, response.text, _json_or_none(response), operation, self.hint_for
        )

    def _op(
        self,
        op: str,
        method: str,
        operation: str,
        build: Callable[[str], Request],
        version: str | None = None,
    ) -> Any:
        """`op` in its version (or `version`); on HTTP 404 once more in the older version."""
        version = version or self.versions[op]
        ids, params, body = build(version)
        try:
            return self.call(
                method, path_of(op, version, **ids), operation, params=params, body=body
            )
        except RemoteError as exc:
            fallback = OPERATIONS[op].fallback
            if exc.type != "endpoint_not_found" or fallback is None or fallback == version:
                raise
        self.report(
            f"{operation}: {self.config.openapi_host} does not serve the {version} route "
            f"(HTTP 404); using {fallback} for the rest of this run"
        )
        self.versions[op] = fallback
        ids, params, body = build(fallback)
        return self.call(method, path_of(op, fallback, **ids), operation, params=params, body=body)

    def _learn(self, job: Any) -> None:
        """Remember a job's bohrId (v4 detail is addressed by it)."""
        if isinstance(job, dict):
            job_id, bohr_id = job.get("id") or job.get("jobId"), job.get("bohrId")
            if isinstance(job_id, int) and isinstance(bohr_id, int) and bohr_id:
                self.bohr_ids[job_id] = bohr_id

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, project_id: int, name: str, group_id: int | None = None) -> dict[str, Any]:
        """`job/create`: a job record plus a storage token for its input."""

        def build(version: str) -> Request:
            group_field = "BohrGroupId" if version == "v4" else "bohrGroupId"
            return {}, None, {"projectId": project_id, "name": name, group_field: group_id or 0}

        data = self._op("job_create", "POST", "create job", build)
        return _object(data, "job/create")

    def add_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`job/add`: submit the created job for scheduling (never retried)."""
        try:
            data = self._op("job_add", "POST", "submit job", lambda _v: ({}, None, payload))
        except RemoteError as exc:
            if exc.type != "outcome_unknown":
                raise
            raise RemoteError(
                "outcome unknown: the job may have been submitted; run the same command again "
                "(it finds the job by its idempotency tag)",
                type="outcome_unknown",
                hint=exc.hint,
                retryable=True,
            ) from exc
        added = _object(data, "job/add")
        if isinstance(added.get("bohrJobId"), int) and isinstance(payload.get("jobId"), int):
            self.bohr_ids[payload["jobId"]] = added["bohrJobId"]
        return added

    def list_page(
        self,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        *,
        status: int | None = None,
        group_id: int | None = None,
        project_id: int | None = None,
    ) -> dict[str, Any]:
        """`job/list` (1-based pages, newest first)."""

        def build(version: str) -> Request:
            group = group_id if group_id is not None or version == "v1" else ALL_GROUPS
            params = {
                "page": page,
                "pageSize": min(page_size, MAX_PAGE_SIZE),
                "status": status,
                "groupId": group,
                "projectId": project_id,
            }
            return {}, params, None

        data = _object(self._op("job_list", "GET", "list jobs", build), "job/list")
        for item in data.get("items") or []:
            self._learn(item)
        return data

    def iter_jobs(
        self,
        *,
        status: int | None = None,
        group_id: int | None = None,
        project_id: int | None = None,
        limit: int | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Job objects page by page until `limit` jobs, `max_pages` pages or the last page."""
        page, seen = 1, 0
        size = MAX_PAGE_SIZE if limit is None else max(1, min(limit, MAX_PAGE_SIZE))
        while True:
            data = self.list_page(
                page, size, status=status, group_id=group_id, project_id=project_id
            )
            items = data.get("items") or []
            for item in items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            total_pages = data.get("totalPage")
            if not items or (isinstance(total_pages, int) and page >= total_pages):
                return
            if max_pages is not None and page >= max_pages:
                return
            page += 1

    def job(self, job_id: int, bohr_id: int | None = None) -> dict[str, Any]:
        """The job object: `v4/job/detail/{bohrId}` when its bohrId is known, else
        `v1/job/{id}`."""
        bohr = bohr_id or self.bohr_ids.get(job_id)

        def build(version: str) -> Request:
            return {"job_id": job_id, "bohr_id": bohr or 0}, None, None

        version = None if bohr else "v1"
        data = _object(self._op("job_detail", "GET", f"job {job_id}", build, version), "detail")
        self._learn(data)
        return data

    def log(
        self, job_id: int, *, page: int = -1, page_size: int = LOG_PAGE_BYTES
    ) -> dict[str, Any]:
        """`GET v1/job/{id}/log`: one page of STDOUTERR (`page=-1`: the last one), decoded."""
        params = {"logFile": "STDOUTERR", "page": page, "pageSize": page_size}
        data = self._op(
            "job_log", "GET", f"log of job {job_id}", lambda _v: ({"job_id": job_id}, params, None)
        )
        answer = data if isinstance(data, dict) else {"log": data}
        return {**answer, "log": decode_log(answer.get("log"))}

    def stop(self, action: str, job_id: int) -> None:
        """terminate, kill or delete one job."""
        op = {"terminate": "job_terminate", "kill": "job_kill", "delete": "job_delete"}[action]
        self._op(op, "POST", f"{action} job {job_id}", lambda _v: ({"job_id": job_id}, None, None))

    def rename(self, job_id: int, name: str) -> None:
        self._op(
            "job_rename",
            "POST",
            f"rename job {job_id}",
            lambda _v: ({"job_id": job_id}, None, {"name": name}),
        )

    def view_conf(self, job_id: int) -> dict[str, Any]:
        """`GET v1/job/view/conf/{id}`: file access of a job (holds a storage token)."""
        data = self._op(
            "job_view_conf",
            "GET",
            f"file access of job {job_id}",
            lambda _v: ({"job_id": job_id}, None, None),
        )
        return _object(data, "job/view/conf")

    def snapshot(self, job_id: int) -> Any:
        return self._op(
            "job_snapshot",
            "GET",
            f"snapshot of job {job_id}",
            lambda _v: ({"job_id": job_id}, None, None),
        )

    def whoami(self) -> dict[str, Any]:
        return _object(self._op("whoami", "GET", "who am I", lambda _v: ({}, None, None)), "ak")

    # -- groups ----------------------------------------------------------------------------

    def create_group(self, name: str, project_id: int) -> int:
        body = {"name": name, "projectId": project_id}
        data = self._op("job_group_add", "POST", "create job group", lambda _v: ({}, None, body))
        group_id = group_id_of(data)
        if group_id is None:
            raise RemoteError("create job group: the answer holds no group id", type="bad_response")
        return group_id

    def groups_page(
        self,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        *,
        project_id: int | None = None,
        start: str | None = None,
        end: str | None = None,
        search: str | None = None,
    ) -> dict[str, Any]:
        """`GET v1/job/groups` as the company's lbg client calls it (1-based pages,
        `program_id`)."""
        params = {
            "page": page,
            "pageSize": min(page_size, MAX_PAGE_SIZE),
            "program_id": project_id,
            "startTime": start,
            "endTime": end,
            "searchKey": search,
        }
        data = self._op("group_list", "GET", "list job groups", lambda _v: ({}, params, None))
        return _object(data, "job/groups")

    def iter_groups(self, *, limit: int | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Groups page by page until `limit` or the end."""
        page, seen = 1, 0
        size = MAX_PAGE_SIZE if limit is None else max(1, min(limit, MAX_PAGE_SIZE))
        while True:
            data = self.groups_page(page, size, **filters)
            items = data.get("items") or []
            for item in items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            total = data.get("total")
            if len(items) < size or (isinstance(total, int) and page * size >= total):
                return
            page += 1

    def stop_group(self, action: str, group_id: int) -> None:
        """terminate or delete a job group."""
        op = {"terminate": "group_terminate", "delete": "group_delete"}[action]
        ids = {"group_id": group_id}
        self._op(op, "POST", f"{action} job group {group_id}", lambda _v: (ids, None, None))

    def rename_group(self, group_id: int, name: str) -> None:
        self._op(
            "group_rename",
            "POST",
            f"rename job group {group_id}",
            lambda _v: ({"group_id": group_id}, None, {"name": name}),
        )


def group_id_of(data: Any) -> int | None:
    """The group id of a `job_group/add` answer (a number, or an object holding it)."""
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    if isinstance(data, dict):
        for key in ("groupId", "jobGroupId", "id"):
            if isinstance(data.get(key), int):
                return data[key]
    return None


def _object(data: Any, operation: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RemoteError(f"{operation}: unexpected answer shape", type="bad_response")
    return data
