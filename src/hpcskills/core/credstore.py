"""A directory of secrets: 0700 dir, 0600 files, atomic writes, honest reads."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from hpcskills.core.errors import AuthRequired, BadInput

DIR_MODE = 0o700
FILE_MODE = 0o600


class CorruptCredential(AuthRequired):
    """A credential file exists but is empty or unreadable."""

    default_type = "credential_corrupt"


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        path.chmod(DIR_MODE)


def open_private(path: Path) -> int:
    """A read-write descriptor of `path`, created 0600 if missing; an existing file is made
    0600 too (lock files, the ledger, counters updated in place)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write `data` to `path` via temp file + fsync + rename; the old file survives a crash."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def is_plain_name(name: str) -> bool:
    """A file name of a private store: not empty, no directory part, not hidden."""
    return bool(name) and "/" not in name and not name.startswith(".")


def _check_name(name: str) -> None:
    if not is_plain_name(name):
        raise BadInput(f"invalid credential file name: {name!r}")


class CredentialStore:
    """Files of one private directory, read and written safely."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        _check_name(name)
        return self.directory / name

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def write_bytes(self, name: str, data: bytes) -> Path:
        ensure_private_dir(self.directory)
        target = self.path(name)
        atomic_write(target, data)
        return target

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode())

    def write_json(self, name: str, value: Any) -> Path:
        return self.write_text(name, json.dumps(value, indent=2, sort_keys=True) + "\n")

    def read_text(self, name: str) -> str | None:
        """The stripped content, or None when missing; empty content is an error."""
        target = self.path(name)
        try:
            text = target.read_text().strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptCredential(f"{target} cannot be read: {exc.__class__.__name__}") from None
        if not text:
            raise CorruptCredential(f"{target} is empty", hint="request the credential again")
        return text

    def read_json(self, name: str) -> Any | None:
        """Parsed JSON, or None when missing; empty or invalid JSON is an error."""
        text = self.read_text(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise CorruptCredential(
                f"{self.path(name)} is not valid JSON", hint="remove it and try again"
            ) from None

    def remove(self, name: str) -> bool:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            return False
        return True
