"""Client of the Bohrium OpenAPI (`{OPENAPI_HOST}/openapi/...`): every job and group call.

Reads retry on timeouts, connection faults, 429 and 5xx (core.http). Writes are sent once;
only a 429 (the platform refused before doing anything) is waited out and re-sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from hpcskills.bohrium.config import BohriumConfig
from hpcskills.bohrium.envelope import Hinter, unwrap
from hpcskills.core.errors import RemoteError
from hpcskills.core.http import HttpSession

MAX_PAGE_SIZE = 100
LOG_PAGE_BYTES = 8192
WRITE_429_RETRIES = 3
DEFAULT_TIMEOUT = (10.0, 60.0)


def _no_hint(_text: str) -> str | None:
    return None


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
    ) -> None:
        self.config = config
        self.hint_for = hint_for
        self.http = http or HttpSession(
            config.api_base, timeout=DEFAULT_TIMEOUT, service="the Bohrium OpenAPI", sleep=sleep
        )
        self._sleep = sleep

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
        headers = {"Authorization": f"Bearer {self.config.require_key()}"}
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

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, project_id: int, name: str, group_id: int | None = None) -> dict[str, Any]:
        """`POST v1/job/create`: a job record plus a storage token for its input."""
        body = {"projectId": project_id, "name": name, "bohrGroupId": group_id or 0}
        return _object(self.call("POST", "/v1/job/create", "create job", body=body), "job/create")

    def add_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`POST v2/job/add`: submit the created job for scheduling (never retried)."""
        try:
            data = self.call("POST", "/v2/job/add", "submit job", body=payload)
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
        return _object(data, "job/add")

    def list_page(
        self,
        page: int,
        page_size: int = MAX_PAGE_SIZE,
        *,
        status: int | None = None,
        group_id: int | None = None,
        project_id: int | None = None,
    ) -> dict[str, Any]:
        """`GET v1/job/list` (1-based pages, newest first)."""
        params = {
            "page": page,
            "pageSize": min(page_size, MAX_PAGE_SIZE),
            "status": status,
            "groupId": group_id,
            "projectId": project_id,
        }
        return _object(self.call("GET", "/v1/job/list", "list jobs", params=params), "job/list")

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

    def job(self, job_id: int) -> dict[str, Any]:
        """`GET v1/job/{id}`: the job object."""
        return _object(self.call("GET", f"/v1/job/{job_id}", f"job {job_id}"), "job detail")

    def log(
        self, job_id: int, *, page: int = -1, page_size: int = LOG_PAGE_BYTES
    ) -> dict[str, Any]:
        """`GET v1/job/{id}/log`: one page of STDOUTERR (`page=-1`: the last one)."""
        params = {"logFile": "STDOUTERR", "page": page, "pageSize": page_size}
        data = self.call("GET", f"/v1/job/{job_id}/log", f"log of job {job_id}", params=params)
        return data if isinstance(data, dict) else {"log": str(data or "")}

    def stop(self, action: str, job_id: int) -> None:
        """terminate, kill or delete one job."""
        path = {"terminate": "terminate", "kill": "kill", "delete": "del"}[action]
        self.call("POST", f"/v1/job/{path}/{job_id}", f"{action} job {job_id}")

    def rename(self, job_id: int, name: str) -> None:
        self.call("POST", f"/v1/job/{job_id}/modify", f"rename job {job_id}", body={"name": name})

    def view_conf(self, job_id: int) -> dict[str, Any]:
        """`GET v1/job/view/conf/{id}`: file access of a job (holds a storage token)."""
        data = self.call("GET", f"/v1/job/view/conf/{job_id}", f"file access of job {job_id}")
        return _object(data, "job/view/conf")

    def snapshot(self, job_id: int) -> Any:
        return self.call("GET", f"/v1/job/{job_id}/snapshot", f"snapshot of job {job_id}")

    def whoami(self) -> dict[str, Any]:
        return _object(self.call("GET", "/v1/ak/get", "who am I"), "ak/get")

    # -- groups ----------------------------------------------------------------------------

    def create_group(self, name: str, project_id: int) -> int:
        data = self.call(
            "POST",
            "/v1/job_group/add",
            "create job group",
            body={"name": name, "projectId": project_id},
        )
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
        """`GET v1/job/groups` (0-based pages)."""
        params = {
            "page": page,
            "pageSize": min(page_size, MAX_PAGE_SIZE),
            "projectId": project_id,
            "startTime": start,
            "endTime": end,
            "searchKey": search,
        }
        data = self.call("GET", "/v1/job/groups", "list job groups", params=params)
        return _object(data, "job/groups")

    def iter_groups(self, *, limit: int | None = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Groups page by page until `limit` or the end."""
        page, seen = 0, 0
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
            if len(items) < size or (isinstance(total, int) and (page + 1) * size >= total):
                return
            page += 1

    def stop_group(self, action: str, group_id: int) -> None:
        """terminate or delete a job group."""
        path = {
            "terminate": f"/v1/job/terminate/group/{group_id}",
            "delete": f"/v1/job/group/del/{group_id}",
        }[action]
        self.call("POST", path, f"{action} job group {group_id}")

    def rename_group(self, group_id: int, name: str) -> None:
        self.call(
            "POST",
            f"/v1/job_group/{group_id}/modify",
            f"rename job group {group_id}",
            body={"name": name},
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
