"""The pack's own state in `.hpcskills/`: small records, 0600, atomic, versioned.

Every record file holds `{"schema": N, "record": VALUE}`. A file without that envelope was
written by 0.1.0; it is read with the caller's `legacy` parser and rewritten in the current
form (0600) at once. A file that cannot be read is an exit-5 `state_corrupt` error naming
the file: pack state is not a credential, so it never asks the user to log in again.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcskills.core.credstore import FILE_MODE, atomic_write, ensure_private_dir, is_plain_name
from hpcskills.core.errors import EXIT_REMOTE, HpcError

SCHEMA_VERSION = 1
_ENVELOPE_KEYS = {"schema", "record"}

Legacy = Callable[[str], Any]


class StateError(HpcError):
    """A state file of the pack is unreadable, damaged or from a newer version."""

    exit_code = EXIT_REMOTE
    default_type = "state_corrupt"


def corrupt(path: Path, what: str) -> StateError:
    """The error for a damaged state file, saying which one and what to do."""
    return StateError(
        f"the pack's state file {path} {what}",
        hint=f"move {path} aside (the pack starts it afresh; what it recorded is forgotten) "
        "or restore it from a backup, then run the command again",
        path=str(path),
    )


def encode(record: Any) -> bytes:
    """The current on-disk form of `record`."""
    envelope = {"schema": SCHEMA_VERSION, "record": record}
    return (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode()


class Unreadable(ValueError):
    """What is wrong with a state file's text (it completes "the file ...")."""


class TooNew(Unreadable):
    """The file was written by a newer version of the pack."""


def decode(text: str, legacy: Legacy) -> tuple[Any, bool]:
    """(record, needs_rewrite) from a file's text, or Unreadable.

    A versioned envelope gives its record; anything else is a 0.1.0 file for `legacy`.
    """
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == _ENVELOPE_KEYS:
        version = parsed["schema"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise Unreadable("has an invalid schema version")
        if version > SCHEMA_VERSION:
            raise TooNew(f"has schema version {version}, newer than this pack's {SCHEMA_VERSION}")
        return parsed["record"], False
    try:
        return legacy(text), True
    except ValueError:
        raise Unreadable("is damaged (not a record the pack can read)") from None


def _check_name(name: str) -> None:
    if not is_plain_name(name):
        raise ValueError(f"invalid state file name: {name!r}")


class StateStore:
    """The record files of one private directory (created 0700 on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, name: str) -> Path:
        _check_name(name)
        return self.directory / name

    def sub(self, name: str) -> StateStore:
        """The store of a subdirectory (`partial`, `transfers`, ...)."""
        return StateStore(self.path(name))

    def names(self, suffix: str = "") -> list[str]:
        """The record files present, sorted (none when the directory does not exist)."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p.name
            for p in self.directory.iterdir()
            if p.is_file() and p.name.endswith(suffix) and not p.name.startswith(".")
        )

    def read(self, name: str, legacy: Legacy = json.loads) -> Any | None:
        """The record, or None when the file is missing; a 0.1.0 file is upgraded in place."""
        path = self.path(name)
        try:
            with open(path, "rb") as handle:
                mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
                raw = handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise corrupt(path, f"cannot be read ({exc.__class__.__name__})") from None
        try:
            record, outdated = decode(raw.decode(), legacy)
        except UnicodeDecodeError:
            raise corrupt(path, "is damaged (not text)") from None
        except TooNew as exc:
            raise StateError(
                f"the pack's state file {path} {exc}",
                type="state_too_new",
                hint="a newer hpc-skills wrote it: upgrade the hpc-skills package",
                path=str(path),
            ) from None
        except Unreadable as exc:
            raise corrupt(path, str(exc)) from None
        if outdated:
            self.write(name, record)
        elif mode != FILE_MODE:
            path.chmod(FILE_MODE)
        return record

    def write(self, name: str, record: Any) -> Path:
        """Replace the record atomically (0600)."""
        ensure_private_dir(self.directory)
        path = self.path(name)
        atomic_write(path, encode(record))
        return path

    def create(self, name: str, record: Any) -> bool:
        """Write the record only if no file of that name exists: True if this call created
        it. Exclusive across processes (hard link of a complete temp file)."""
        ensure_private_dir(self.directory)
        path = self.path(name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.directory)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(encode(record))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return True

    def remove(self, name: str) -> bool:
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            return False
        return True
