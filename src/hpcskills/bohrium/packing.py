"""The input directory: its inventory, and a zip of it streamed to a temporary file.

The zip is written append-only (data descriptors, no seeking back), so an uploader can send
the first parts while later ones are still being compressed; no file is ever held whole in
memory.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hpcskills.core.errors import BadInput

CHUNK = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
STORE_RATIO = 0.9  # a sample that compresses worse than this is stored as is


@dataclass(frozen=True)
class InputFile:
    """One regular file of the input directory."""

    path: Path
    arcname: str
    size: int
    mtime_ns: int
    mode: int

    @property
    def hidden(self) -> bool:
        return any(part.startswith(".") for part in self.arcname.split("/"))


@dataclass(frozen=True)
class Inventory:
    """The files that go into the input zip."""

    root: Path
    files: tuple[InputFile, ...]
    excluded: tuple[str, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def hidden_bytes(self) -> int:
        return sum(f.size for f in self.files if f.hidden)

    def largest_hidden(self, count: int = 5) -> list[InputFile]:
        return sorted((f for f in self.files if f.hidden), key=lambda f: -f.size)[:count]


def is_excluded(arcname: str, patterns: Sequence[str]) -> bool:
    """Whether a relative path, or any of its folders, matches one of the glob patterns."""
    parts = arcname.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatchcase(candidate, pattern.rstrip("/"))
        for pattern in patterns
        for candidate in prefixes + parts
    )


def scan_input(root: Path, excludes: Sequence[str] = ()) -> Inventory:
    """Every regular file under `root` (symlinked files followed, symlinked dirs not)."""
    if not root.is_dir():
        raise BadInput(f"input directory {root} does not exist", type="input_missing")
    files: list[InputFile] = []
    excluded: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        kept = []
        for name in sorted(dirnames):
            if is_excluded(prefix + name, excludes):
                excluded.append(prefix + name + "/")
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            arcname = prefix + name
            if is_excluded(arcname, excludes):
                excluded.append(arcname)
                continue
            try:
                info = (base / name).stat()
            except OSError:
                continue  # a broken symlink
            if stat.S_ISREG(info.st_mode):
                files.append(
                    InputFile(base / name, arcname, info.st_size, info.st_mtime_ns, info.st_mode)
                )
    return Inventory(root, tuple(files), tuple(excluded))


def choose_compression(sample: bytes) -> int:
    """ZIP_STORED for data that does not compress (archives, binaries), else ZIP_DEFLATED."""
    if len(sample) < 512:
        return zipfile.ZIP_DEFLATED
    ratio = len(zlib.compress(sample, 1)) / len(sample)
    return zipfile.ZIP_STORED if ratio > STORE_RATIO else zipfile.ZIP_DEFLATED


class Cancelled(Exception):
    """The consumer of a GrowingFile gave up; the writer stops."""


class GrowingFile:
    """A temporary file appended by one writer while readers wait for its bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by finish()
        self._written = 0
        self._done = False
        self._cancelled = False
        self.error: BaseException | None = None
        self._cond = threading.Condition()

    # the file-object protocol zipfile needs (no seek: it writes data descriptors)
    def write(self, data: bytes) -> int:
        if self._cancelled:
            raise Cancelled()
        count = self._handle.write(data)
        self._handle.flush()
        with self._cond:
            self._written += count
            self._cond.notify_all()
        return count

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        self._handle.flush()

    def seekable(self) -> bool:
        return False

    def finish(self, error: BaseException | None = None) -> None:
        """The writer is done (or failed with `error`)."""
        self._handle.close()
        with self._cond:
            self._done = True
            self.error = error
            self._cond.notify_all()

    def cancel(self) -> None:
        """Make the writer stop at its next write."""
        self._cancelled = True

    @property
    def finished(self) -> bool:
        return self._done

    @property
    def size(self) -> int:
        return self._written

    def wait_for(self, size: int) -> int:
        """Block until `size` bytes exist or the writer is done; the bytes written so far."""
        with self._cond:
            while self._written < size and not self._done:
                self._cond.wait(0.5)
            if self._done and self.error is not None:
                raise self.error
            return self._written


class FileSlice:
    """`length` bytes of a file from `offset`, readable as a request body without a copy."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._offset = offset
        self._end = offset + length
        self.length = length

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        remaining = self._end - self._offset
        if remaining <= 0:
            return b""
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = os.pread(self._fd, size, self._offset)
        self._offset += len(data)
        return data

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FileSlice:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _copy_into(archive: zipfile.ZipFile, item: InputFile) -> None:
    try:
        source = open(item.path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BadInput(
            f"cannot read input file {item.path}: {exc.strerror}", type="input_unreadable"
        ) from None
    with source:
        sample = source.read(SAMPLE_BYTES)
        info = zipfile.ZipInfo(item.arcname, date_time=_date_time(item.mtime_ns))
        info.external_attr = (item.mode & 0xFFFF) << 16
        info.compress_type = choose_compression(sample)
        info.file_size = item.size
        with archive.open(info, "w", force_zip64=item.size > zipfile.ZIP64_LIMIT) as target:
            target.write(sample)
            while chunk := source.read(CHUNK):
                target.write(chunk)


def _date_time(mtime_ns: int) -> tuple[int, int, int, int, int, int]:
    parts = time.localtime(max(mtime_ns // 1_000_000_000, 315532800))  # zip epoch is 1980
    return parts[:6]  # type: ignore[return-value]


def write_zip(
    inventory: Inventory,
    target: GrowingFile,
    extra: Mapping[str, bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Zip the inventory (plus `extra` entries, e.g. run.sh) into `target`, then finish it."""
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for item in inventory.files:
                if extra and item.arcname in extra:
                    continue  # a generated file replaces the input's copy of it
                _copy_into(zf, item)
                if progress:
                    progress(item.size)
            for name, content in (extra or {}).items():
                info = zipfile.ZipInfo(name, date_time=_date_time(0))
                info.external_attr = 0o100755 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, content)
    except Exception as exc:  # handed to the reader, which raises it
        target.finish(exc)
        return
    except BaseException as exc:
        target.finish(exc)
        raise
    target.finish()


def start_zip(
    inventory: Inventory, path: Path, extra: Mapping[str, bytes] | None = None
) -> GrowingFile:
    """Begin zipping in a background thread; the returned file grows until finished."""
    target = GrowingFile(path)
    thread = threading.Thread(
        target=write_zip, args=(inventory, target, extra), name="zip-input", daemon=True
    )
    thread.start()
    return target


def file_listing(inventory: Inventory, extra: Iterable[str] = (), limit: int = 50) -> dict:
    """What a dry run shows: the first files, the count and the sizes."""
    names = [f"{f.arcname} ({f.size} B)" for f in inventory.files[:limit]]
    return {
        "root": str(inventory.root),
        "count": len(inventory.files),
        "total_bytes": inventory.total_bytes,
        "files": names,
        "more": max(0, len(inventory.files) - limit),
        "added": sorted(extra),
        "excluded": list(inventory.excluded[:limit]),
    }
