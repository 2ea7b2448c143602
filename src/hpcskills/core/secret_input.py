"""Secrets come from a file (deleted after use) or stdin, never from argv."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from hpcskills.core.errors import BadInput
from hpcskills.core.redact import register_secret


def refuse_argv_secrets(values: Iterable[str], file_option: str, stdin_option: str) -> None:
    """A secret given as a positional argument is masked and refused, never used."""
    values = list(values)
    if not values:
        return
    for value in values:
        register_secret(value)
    raise BadInput(
        "a password must never be given on the command line (it would be visible to other "
        "processes and kept in logs); it was not used",
        type="secret_on_argv",
        hint=f"put it in a file and pass {file_option} FILE (the file is deleted after use), "
        f"or pipe it with {stdin_option}; consider changing the exposed password",
    )


def choose_source(
    textfile: Path | None, use_stdin: bool, file_option: str, stdin_option: str
) -> None:
    """Exactly one of the two sources; a missing file is bad input."""
    if bool(textfile) == bool(use_stdin):
        raise BadInput(
            f"give the password with exactly one of {file_option} FILE or {stdin_option}",
            type="password_source",
        )
    if textfile is not None and not _is_file(textfile):
        raise BadInput(f"{file_option}: {textfile} does not exist", type="textfile_missing")


def _is_file(path: Path) -> bool:
    """Whether `path` is a regular file; a name the system refuses (too long) is not one."""
    try:
        return path.is_file()
    except OSError:
        return False


def first_line(text: str, origin: str) -> str:
    """The first line without its line ending; BadInput when empty."""
    secret = text.splitlines()[0] if text else ""
    if not secret.strip():
        raise BadInput(f"no password found in {origin}", type="password_empty")
    register_secret(secret)
    return secret


def take_secret(textfile: Path | None, stdin: TextIO | None = None) -> str:
    """The secret from stdin, or from `textfile`, which is deleted whatever happens."""
    if textfile is None:
        return first_line((stdin or sys.stdin).read(), "standard input")
    try:
        return first_line(textfile.read_text(), str(textfile))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{textfile} cannot be read: {type(exc).__name__}") from None
    finally:
        _delete(textfile)


def _delete(textfile: Path) -> None:
    """Remove the password file; BadInput (the secret goes unused) when it must stay."""
    try:
        textfile.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise BadInput(
            f"{textfile} cannot be deleted after reading: {type(exc).__name__}",
            hint="give the password in a file you may delete, or on stdin",
        ) from None
