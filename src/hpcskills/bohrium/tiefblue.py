"""Upload of the input zip to tiefblue, Bohrium's object storage.

Below 100 MiB: one `POST /api/upload/binary`. From 100 MiB: `/api/upload/multipart/init`,
50 MiB parts to `/api/upload/multipart/upload` (a few in parallel, each re-sent on a
transient fault: a part is idempotent), then `/api/upload/multipart/complete`. Bodies are read
straight from the zip file as it grows, so uploading overlaps zipping and memory stays flat.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from hpcskills.bohrium import storage_param
from hpcskills.bohrium.envelope import unwrap
from hpcskills.bohrium.packing import FileSlice, GrowingFile
from hpcskills.core.errors import HpcError, RemoteError
from hpcskills.core.http import HttpSession, backoff_delays
from hpcskills.core.redact import register_secret
from hpcskills.core.urls import check_base_url

MiB = 1024 * 1024
PART_SIZE = 50 * MiB
MULTIPART_THRESHOLD = 100 * MiB
PART_WORKERS = 3
ATTEMPTS = 3
TIMEOUT = (10.0, 300.0)
SEND_BLOCK = 1024 * 1024  # bytes per socket write of a body (urllib3's default: 16 KiB)


class _LargeBlocks(HTTPAdapter):
    """Sends request bodies in 1 MiB blocks: far fewer Python-level writes per part."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["blocksize"] = SEND_BLOCK
        super().init_poolmanager(*args, **kwargs)


@dataclass(frozen=True)
class UploadResult:
    """How the object was sent."""

    object_key: str
    method: str
    bytes: int
    parts: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_key": self.object_key,
            "method": self.method,
            "bytes": self.bytes,
            "parts": self.parts,
        }


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _transient(error: HpcError) -> bool:
    return isinstance(error, RemoteError) and error.retryable


class TiefblueUploader:
    """Uploads into one storage host with one short-lived storage token."""

    def __init__(
        self,
        host: str,
        token: str,
        *,
        part_size: int = PART_SIZE,
        threshold: int = MULTIPART_THRESHOLD,
        workers: int = PART_WORKERS,
        report: Callable[[str], None] = lambda _line: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = check_base_url(host)
        self.token = token
        register_secret(token)
        self.part_size = part_size
        self.threshold = threshold
        self.workers = workers
        self.report = report
        self._sleep = sleep
        self._local = threading.local()

    def _http(self) -> HttpSession:
        session = getattr(self._local, "http", None)
        if session is None:
            session = HttpSession(self.host, timeout=TIMEOUT, service="tiefblue storage")
            session.session.mount(self.host, _LargeBlocks())
            self._local.http = session
        return session

    def _post(
        self,
        path: str,
        operation: str,
        *,
        param: dict[str, Any] | None = None,
        body: Callable[[], FileSlice] | None = None,
        json_body: dict[str, Any] | None = None,
        resend_on_drop: bool = True,
    ) -> Any:
        """POST with the storage token; transient faults are re-sent with a fresh body."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if param is not None:
            headers[storage_param.HEADER] = storage_param.encode(param)
        delays = backoff_delays(ATTEMPTS - 1)
        for attempt in range(ATTEMPTS):
            data = body() if body else None
            try:
                response = self._http().request(
                    "POST", path, headers=headers, data=data, json=json_body, retry=False
                )
                return unwrap(
                    response.status_code, response.text, _json_or_none(response), operation
                )
            except HpcError as error:
                dropped = error.type in ("connection_failed", "timeout")
                if (
                    attempt == len(delays)
                    or not _transient(error)
                    or (dropped and not resend_on_drop)
                ):
                    raise
                self.report(f"{operation}: {error.message}; sending again")
                self._sleep(delays[attempt])
            finally:
                if data is not None:
                    data.close()
        raise AssertionError("unreachable")

    def upload(self, object_key: str, source: GrowingFile, expected: int = 0) -> UploadResult:
        """Send the (possibly still growing) file as `object_key`.

        Multipart when the file reaches the threshold, or at once when `expected` (the input
        size) does, so that the first part leaves as soon as it is written.
        """
        if expected < self.threshold:
            source.wait_for(self.threshold)
            if source.finished and source.size < self.threshold:
                return self._binary(object_key, source)
        return self._multipart(object_key, source)

    def _binary(self, object_key: str, source: GrowingFile) -> UploadResult:
        size = source.size
        self._post(
            "/api/upload/binary",
            "upload input",
            param={"path": object_key, "option": {"contentDisposition": _disposition(object_key)}},
            body=lambda: FileSlice(source.path, 0, size),
        )
        self.report(f"uploaded {size / MiB:.1f} MiB in one request")
        return UploadResult(object_key, "binary", size, 1)

    def _multipart(self, object_key: str, source: GrowingFile) -> UploadResult:
        init = self._post(
            "/api/upload/multipart/init",
            "start multipart upload",
            json_body={
                "path": object_key,
                "option": {"contentDisposition": _disposition(object_key)},
            },
        )
        initial_key = (init or {}).get("initialKey")
        if not initial_key:
            raise RemoteError("tiefblue gave no upload key", type="bad_response")
        futures: list[Future[str]] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="upload-part") as pool:
            try:
                number = 1
                while True:
                    start = (number - 1) * self.part_size
                    available = source.wait_for(start + self.part_size)
                    if available <= start:  # finished exactly at a part boundary
                        break
                    length = min(self.part_size, available - start)
                    futures.append(
                        pool.submit(
                            self._part, object_key, initial_key, number, start, length, source
                        )
                    )
                    if source.finished and start + length >= source.size:
                        break
                    number += 1
                parts = [future.result() for future in futures]
            except BaseException:
                source.cancel()
                for future in futures:
                    future.cancel()
                raise
        self._post(
            "/api/upload/multipart/complete",
            "complete multipart upload",
            json_body={"path": object_key, "initialKey": initial_key, "partString": parts},
            resend_on_drop=False,
        )
        return UploadResult(object_key, "multipart", source.size, len(parts))

    def _part(
        self,
        object_key: str,
        initial_key: str,
        number: int,
        start: int,
        length: int,
        source: GrowingFile,
    ) -> str:
        data = self._post(
            "/api/upload/multipart/upload",
            f"upload part {number}",
            param={
                "initialKey": initial_key,
                "number": number,
                "partSize": length,
                "objectKey": object_key,
            },
            body=lambda: FileSlice(source.path, start, length),
        )
        part = (data or {}).get("partString")
        if not part:
            raise RemoteError(f"tiefblue gave no receipt for part {number}", type="bad_response")
        self.report(f"uploaded part {number} ({(start + length) / MiB:.0f} MiB so far)")
        return str(part)


def _disposition(object_key: str) -> str:
    return f'attachment; filename="{object_key.rsplit("/", 1)[-1]}"'
