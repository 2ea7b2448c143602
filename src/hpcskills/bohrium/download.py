"""Resumable downloads of pre-signed URLs, and safe unzipping.

Bytes go to `NAME.part` first; a rerun (or a retry after a dropped connection) resumes it
with an HTTP Range request; only a complete file is renamed to its final name.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import requests

from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.core.http import HttpSession
from hpcskills.core.redact import register_secret

CHUNK = 1024 * 1024
ATTEMPTS = 4
TIMEOUT = (10.0, 120.0)


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _stream_once(http: HttpSession, url: str, part: Path) -> tuple[bool, int]:
    """One GET resuming `part`; (complete, bytes now in part). Raises on HTTP errors."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    response = http.request("GET", url, headers=headers, stream=True)
    with response:
        if response.status_code == 416 and offset:
            return True, offset  # the part already holds every byte
        if response.status_code not in (200, 206):
            raise RemoteError(
                f"download failed: HTTP {response.status_code}",
                type="download_failed",
                retryable=response.status_code >= 500 or response.status_code == 429,
                hint="the pre-signed URL may have expired; run the command again for a fresh one"
                if response.status_code in (403, 404)
                else None,
            )
        mode = "ab" if response.status_code == 206 else "wb"
        expected = response.headers.get("Content-Length")
        written = 0
        with open(part, mode) as handle:
            for chunk in response.iter_content(CHUNK):
                handle.write(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        size = part.stat().st_size
        complete = expected is None or written >= int(expected)
        return complete, size


def fetch(
    url: str,
    target: Path,
    *,
    report: Callable[[str], None] = lambda _line: None,
    http: HttpSession | None = None,
    fresh: bool = False,
) -> dict[str, object]:
    """Download `url` to `target`, resuming `target.part`; skip when `target` exists.

    `fresh` is for content that changes (a running job's log): always download it again,
    from the start, still replacing `target` only when complete.
    """
    register_secret(urlsplit(url).query)  # the signature of a pre-signed URL
    if target.exists() and not fresh:
        return {"path": str(target), "bytes": target.stat().st_size, "skipped": True}
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    if fresh:
        part.unlink(missing_ok=True)
    resumed_from = part.stat().st_size if part.exists() else 0
    if resumed_from:
        report(f"resuming {target.name} from {resumed_from} bytes")
    http = http or HttpSession(_origin(url), timeout=TIMEOUT, service="the result storage")
    for attempt in range(ATTEMPTS):
        try:
            complete, size = _stream_once(http, url, part)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            size = part.stat().st_size if part.exists() else 0
            if attempt == ATTEMPTS - 1:
                raise RemoteError(
                    f"the download of {target.name} broke off at {size} bytes",
                    type="download_interrupted",
                    retryable=True,
                    hint="run the same command again: it resumes where it stopped",
                ) from exc
            report(f"connection lost at {size} bytes; resuming")
            continue
        if complete:
            os.replace(part, target)
            return {
                "path": str(target),
                "bytes": size,
                "skipped": False,
                "resumed_from": resumed_from,
            }
        report(f"incomplete answer at {size} bytes; resuming")
    raise RemoteError(
        f"the download of {target.name} stayed incomplete",
        type="download_failed",
        retryable=True,
        hint="run the same command again: it resumes",
    )


def safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's members; BadInput when one would land outside the target folder."""
    members = archive.infolist()
    for info in members:
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise BadInput(
                f"the archive holds an unsafe path {info.filename!r}; not unpacked",
                type="unsafe_archive",
            )
    return members


@dataclass
class Unzipped:
    """Files of an archive written now, already the same here, and local ones kept."""

    written: int = 0
    unchanged: int = 0
    not_overwritten: list[str] = field(default_factory=list)


def same_as_member(path: Path, info: zipfile.ZipInfo) -> bool:
    """Whether a local regular file holds exactly the member's bytes (size, then CRC-32)."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size != info.file_size:
        return False
    crc = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            crc = zlib.crc32(block, crc)
    return crc == info.CRC


def unzip(archive_path: Path, target: Path) -> Unzipped:
    """Unpack `archive_path` into `target`; a local file that differs from its member is
    kept and reported, never overwritten."""
    result = Unzipped()
    try:
        with zipfile.ZipFile(archive_path) as archive:
            chosen = []
            for info in safe_members(archive):
                local = target / info.filename
                if info.is_dir() or not (local.exists() or local.is_symlink()):
                    chosen.append(info)
                    result.written += not info.is_dir()
                elif same_as_member(local, info):
                    result.unchanged += 1
                else:
                    result.not_overwritten.append(str(local))
            archive.extractall(target, chosen)
    except zipfile.BadZipFile:
        raise RemoteError(
            f"{archive_path} is not a valid zip archive",
            type="bad_archive",
            hint="delete it and download again",
        ) from None
    return result
