"""Moving files over one Remote: resumable single files, many files as one tar stream.

Single files travel through a `.part` file on the receiving side; a rerun appends to it
when its tail still matches the source, and it is renamed (keeping the source's mtime)
only when complete. Directories travel as one tar stream, no per-file round trips: made
by the local `tar` on upload (Python's tarfile costs more CPU than the transfer itself),
read with tarfile's safe "data" filter on download.
Listings give each file's size and mtime so callers can skip files already in place and
see which existing files a copy would replace (`plan_copy`). Paths reach the remote
shell only as quoted arguments.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from hpcskills.core.errors import BadInput, NotFound, RemoteError
from hpcskills.ssh.base import Remote, feed_in_background

CHUNK = 1024 * 1024
BLOCK, RECORD = 512, 10240  # tar block and record sizes
RESUME_CHECK_BYTES = 1024 * 1024
TRANSFER_TIMEOUT = 24 * 3600.0
Progress = Callable[[int], None]

# `$1` path → "dir\0" + NUL-separated (relative name, size, mtime) triples of its files,
# "file\0" + one triple named ".", "other\0", or "none\0".
ENTRIES_SCRIPT = r"""
if [ -d "$1" ]; then printf 'dir\0'; cd "$1" && find . -type f -printf '%P\0%s\0%T@\0'
elif [ -f "$1" ]; then printf 'file\0'; find "$1" -maxdepth 0 -printf '.\0%s\0%T@\0'
elif [ -e "$1" ]; then printf 'other\0'
else printf 'none\0'; fi
"""
# `$1` file, `$2` bytes → "SIZE SHA256-of-the-last-min(SIZE,$2)-bytes", nothing if absent.
PART_SCRIPT = r"""
[ -f "$1" ] || exit 0
size=$(stat -c %s -- "$1"); n=$2; [ "$size" -lt "$n" ] && n=$size
printf '%s ' "$size"; tail -c "$n" -- "$1" | sha256sum
"""
# `$1` file, `$2` offset, `$3` bytes → SHA256 of bytes [$2-$3, $2) of the file.
SLICE_SCRIPT = r'tail -c +"$(($2 - $3 + 1))" -- "$1" | head -c "$3" | sha256sum'
WRITE_SCRIPT = r"""
mkdir -p -- "$(dirname -- "$1")" || exit 1
if [ "$2" = 0 ]; then exec cat > "$1"; else exec cat >> "$1"; fi
"""
# `$1` part, `$2` destination, `$3` expected size, `$4` mtime: rename when complete.
FINISH_SCRIPT = r"""
size=$(stat -c %s -- "$1") || exit 1
if [ "$size" != "$3" ]; then echo "incomplete: $size of $3 bytes" >&2; exit 3; fi
mv -f -- "$1" "$2" && touch -m -d "@$4" -- "$2"
"""
SHA_SCRIPT = r'cd "$1" && xargs -0 sha256sum --'
TAR_OUT_SCRIPT = r'cd "$1" && tar --null -T - -cf -'
TAR_IN_SCRIPT = r'mkdir -p -- "$1" && exec tar -C "$1" -xf -'


@dataclass(frozen=True)
class FileState:
    """What decides whether two copies are the same file: size and whole-second mtime."""

    size: int
    mtime: int


Listing = dict[str, FileState]


@dataclass
class CopyPlan:
    """Which files a copy sends, which are already in place, which it would replace."""

    send: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)


def parse_entries(text: str) -> tuple[str, Listing]:
    """The output of ENTRIES_SCRIPT → (kind, listing); malformed triples are skipped."""
    kind, _, rest = text.partition("\0")
    fields = rest.split("\0")
    listing: Listing = {}
    for name, size, mtime in zip(fields[0::3], fields[1::3], fields[2::3], strict=False):
        whole = mtime.partition(".")[0]
        if name and size.isdigit() and whole.lstrip("-").isdigit():
            listing[name] = FileState(int(size), int(whole))
    return kind, listing


def plan_copy(wanted: Listing, present: Listing, ours: Collection[str] = ()) -> CopyPlan:
    """Compare source and destination: absent files are sent, identical ones skipped and
    differing ones replaced. Files in `ours` (written by an interrupted or failed copy of
    this pack) are always sent again."""
    plan = CopyPlan()
    for name, state in sorted(wanted.items()):
        there = present.get(name)
        if there is None or name in ours:
            plan.send.append(name)
        elif there == state:
            plan.same.append(name)
        else:
            plan.replace.append(name)
    return plan


def remote_entries(remote: Remote, path: str) -> tuple[str, Listing]:
    """('dir', files below it) | ('file', {'.': state}) | ('other', {}) | ('none', {})."""
    result = remote.run(["sh", "-c", ENTRIES_SCRIPT, "sh", path], timeout=600)
    kind, listing = parse_entries(result.check(f"listing {path}").stdout)
    if kind not in ("dir", "file", "other", "none"):
        raise RemoteError(f"cannot list {path}: unexpected answer", type="remote_listing")
    return kind, listing


def _state(stat: os.stat_result) -> FileState:
    return FileState(stat.st_size, int(stat.st_mtime))


def local_entries(path: Path) -> tuple[str, Listing]:
    """The same as remote_entries, for a local path (inside directories: regular files
    only, symlinks skipped); BadInput when a part of it cannot be read."""
    try:
        return _local_entries(path)
    except OSError as exc:
        raise BadInput(
            f"{exc.filename or path} cannot be read: {exc.strerror or type(exc).__name__}",
            type="local_unreadable",
        ) from None


def _local_entries(path: Path) -> tuple[str, Listing]:
    if path.is_file():
        return "file", {".": _state(path.stat())}
    if not path.is_dir():
        return ("other" if path.exists() else "none"), {}
    listing: Listing = {}
    for folder, _dirs, files in os.walk(path):
        for name in files:
            full = Path(folder, name)
            if full.is_file() and not full.is_symlink():
                listing[full.relative_to(path).as_posix()] = _state(full.stat())
    return "dir", listing


def parse_sha256sum(text: str) -> dict[str, str]:
    """`sha256sum` lines → name: digest (names escaped by sha256sum are unescaped)."""
    digests = {}
    for line in text.splitlines():
        escaped = line.startswith("\\")
        digest, sep, name = line[escaped:].partition("  ")
        if not sep:
            continue
        if escaped:
            name = name.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")
        digests[name] = digest
    return digests


def sha256_bytes(path: Path, start: int = 0, length: int | None = None) -> str:
    """SHA-256 of `length` bytes of a local file from `start` (to the end by default)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining is None or remaining > 0:
            block = handle.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not block:
                break
            digest.update(block)
            if remaining is not None:
                remaining -= len(block)
    return digest.hexdigest()


def remote_sha256(remote: Remote, directory: str, names: Iterable[str]) -> dict[str, str]:
    """SHA-256 of remote files (names relative to `directory`), in one command."""
    listing = "".join(f"{name}\0" for name in names).encode()
    if not listing:
        return {}
    result = remote.run(
        ["sh", "-c", SHA_SCRIPT, "sh", directory], stdin=listing, timeout=TRANSFER_TIMEOUT
    )
    return parse_sha256sum(result.check("sha256sum").stdout)


def checksum_mismatches(
    local_root: Path, remote: Remote, remote_root: str, names: list[str]
) -> list[str]:
    """Names whose local and remote SHA-256 differ (or that are missing remotely)."""
    remote_digests = remote_sha256(remote, remote_root, names)
    return [n for n in names if remote_digests.get(n) != sha256_bytes(local_root / n)]


def _copy(source: BinaryIO, target: BinaryIO, progress: Progress) -> int:
    total = 0
    for block in iter(lambda: source.read(CHUNK), b""):
        target.write(block)
        total += len(block)
        progress(total)
    return total


def _remote_resume_offset(remote: Remote, local: Path, part: str, size: int) -> int:
    """Bytes of the remote `.part` that can be kept: its size if its tail matches."""
    result = remote.run(["sh", "-c", PART_SCRIPT, "sh", part, str(RESUME_CHECK_BYTES)])
    fields = result.check("checking the partial upload").stdout.split()
    if len(fields) < 2 or not fields[0].isdigit():
        return 0
    offset = int(fields[0])
    checked = min(offset, RESUME_CHECK_BYTES)
    if offset > size or fields[1] != sha256_bytes(local, offset - checked, checked):
        return 0
    return offset


def upload_file(
    remote: Remote,
    local: Path,
    destination: str,
    *,
    progress: Progress = lambda _n: None,
) -> dict[str, Any]:
    """Send one file through `destination.part`, resuming it; rename when complete."""
    state = _state(local.stat())
    part = destination + ".part"
    offset = _remote_resume_offset(remote, local, part, state.size)
    with (
        open(local, "rb") as source,
        remote.writer(
            ["sh", "-c", WRITE_SCRIPT, "sh", part, str(offset)], timeout=TRANSFER_TIMEOUT
        ) as sink,
    ):
        source.seek(offset)
        sent = _copy(source, sink, lambda n: progress(offset + n))
    finish = remote.run(
        ["sh", "-c", FINISH_SCRIPT, "sh", part, destination, str(state.size), str(state.mtime)]
    )
    if finish.returncode == 3:
        raise RemoteError(
            f"upload of {local.name} is incomplete; run again to resume",
            type="transfer_incomplete",
            retryable=True,
        )
    finish.check("finishing the upload")
    return {"bytes": state.size, "sent_bytes": sent, "resumed_from": offset}


def tar_stream_size(sizes: Iterable[int]) -> int:
    """About how many bytes a tar of files of these sizes takes (short names assumed):
    a 512-byte header per file, data padded to 512, two end blocks, 10 KiB records."""
    blocks = sum(1 + -(-size // BLOCK) for size in sizes) + 2
    return -(-blocks * BLOCK // RECORD) * RECORD


def upload_tree(
    remote: Remote,
    local: Path,
    destination: str,
    names: list[str],
    *,
    progress: Progress = lambda _n: None,
) -> int:
    """Send the named files of a local directory as one stream made by the local `tar`
    (names on its stdin, NUL-separated); the bytes streamed."""
    listing = "".join(f"{name}\0" for name in names).encode()
    with (
        tempfile.TemporaryFile() as errors,
        remote.writer(
            ["sh", "-c", TAR_IN_SCRIPT, "sh", destination], timeout=TRANSFER_TIMEOUT
        ) as sink,
        subprocess.Popen(
            ["tar", "-C", str(local), "--null", "-T", "-", "-cf", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "COPYFILE_DISABLE": "1"},  # macOS tar: no ._ files
        ) as tar,
    ):
        assert tar.stdin is not None and tar.stdout is not None
        feed_in_background(tar.stdin, listing)
        sent = _copy(tar.stdout, sink, progress)
        if tar.wait() != 0:
            errors.seek(0)
            reason = errors.read().decode(errors="replace").strip()[-300:]
            raise RemoteError(
                f"the local tar could not read {local}: {reason}",
                type="local_tar_failed",
                hint="a file may have changed or vanished while it was read; run again",
                retryable=True,
            )
    return sent


def _local_resume_offset(remote: Remote, path: str, part: Path, size: int) -> int:
    """Bytes of the local `.part` that can be kept: its size if its tail matches."""
    if not part.is_file():
        return 0
    offset = part.stat().st_size
    checked = min(offset, RESUME_CHECK_BYTES)
    if offset > size:
        return 0
    if checked == 0:
        return offset
    result = remote.run(["sh", "-c", SLICE_SCRIPT, "sh", path, str(offset), str(checked)])
    remote_digest = result.check("checking the partial download").stdout.split()[:1]
    return offset if remote_digest == [sha256_bytes(part, offset - checked, checked)] else 0


def download_file(
    remote: Remote,
    path: str,
    local: Path,
    state: FileState,
    *,
    progress: Progress = lambda _n: None,
) -> dict[str, Any]:
    """Fetch one remote file (of known size and mtime) via `local.part`, resuming it."""
    part = local.with_name(local.name + ".part")
    offset = _local_resume_offset(remote, path, part, state.size)
    local.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(part, "r+b" if offset else "wb") as sink,
        remote.reader(
            ["tail", "-c", f"+{offset + 1}", "--", path], timeout=TRANSFER_TIMEOUT
        ) as source,
    ):
        sink.seek(offset)
        sink.truncate()
        received = _copy(source, sink, lambda n: progress(offset + n))
    if part.stat().st_size != state.size:
        raise RemoteError(
            f"download of {path} is incomplete; run again to resume",
            type="transfer_incomplete",
            retryable=True,
        )
    os.utime(part, (state.mtime, state.mtime))
    os.replace(part, local)
    return {"bytes": state.size, "received_bytes": received, "resumed_from": offset}


def download_tree(
    remote: Remote,
    path: str,
    local: Path,
    names: list[str],
    *,
    progress: Progress = lambda _n: None,
) -> None:
    """Fetch the named files of a remote directory as one tar stream into `local`."""
    if not names:
        return
    listing = "".join(f"{name}\0" for name in names).encode()
    local.mkdir(parents=True, exist_ok=True)
    done = 0
    with (
        remote.reader(
            ["sh", "-c", TAR_OUT_SCRIPT, "sh", path], timeout=TRANSFER_TIMEOUT, stdin=listing
        ) as source,
        tarfile.open(fileobj=source, mode="r|") as archive,
    ):
        for member in archive:
            archive.extract(member, local, filter="data")
            done += member.size
            progress(done)


def require_kind(kind: str, path: str, where: str) -> None:
    """NotFound when a path is absent or is neither a regular file nor a directory."""
    if kind == "none":
        raise NotFound(f"{path} does not exist on {where}", type="path_not_found")
    if kind == "other":
        raise NotFound(
            f"{path} on {where} is neither a regular file nor a directory", type="not_a_file"
        )
