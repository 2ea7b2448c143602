"""The HPC API token, kept in the workspace's credentials dir.

Refreshing rotates the token: the site kills the old one before the new one is on disk. A
write killed in that window leaves the only working token in atomic_write's temp file
(`credentials/.hpc_token.*.tmp`); the next use finds it, asks the API whether it works and
promotes it. Every token write and that recovery hold one lock, so a temp file seen under
the lock is always a leftover, never a write in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hpcskills.core.credstore import FILE_MODE, ensure_private_dir
from hpcskills.core.errors import AuthRequired, HpcError
from hpcskills.core.redact import register_secret
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.users import check_username, remember_user, remembered_user

TOKEN_FILE = "hpc_token"
LOCK_FILE = f".{TOKEN_FILE}.lock"
_TOKEN_TEXT = re.compile(r"[!-~]+")  # what a bearer token can be: printable ASCII, one word
REQ_TOKEN_HINT = (
    "ask the user for their HPC password as an uploaded file, then run "
    "req_token.py USERNAME --textfile FILE"
)


@contextlib.contextmanager
def _token_lock(workspace: Workspace) -> Iterator[None]:
    """Exclusive use of the token files (the OS releases it when the process dies)."""
    ensure_private_dir(workspace.credentials_dir)
    fd = os.open(workspace.credentials_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # also releases the lock


def _leftovers(workspace: Workspace) -> list[tuple[float, Path]]:
    """Temp files of interrupted token writes with their mtimes, newest first."""
    if not workspace.credentials_dir.is_dir():
        return []
    found = []
    for path in workspace.credentials_dir.glob(f".{TOKEN_FILE}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):  # recovered by another process meanwhile
            found.append((path.stat().st_mtime, path))
    return sorted(found, reverse=True)


def _write_token(workspace: Workspace, token: str) -> Path:
    """Save the token; the caller holds the token lock."""
    return workspace.credentials().write_text(TOKEN_FILE, token + "\n")


def _accepted(site: SiteProfile, token: str, user: str) -> bool | None:
    """Whether the API accepts the token (True/False), or None when it cannot tell now."""
    try:
        HpcApi(site, token).get_user(user)
    except AuthRequired as exc:
        return False if exc.type == "token_invalid" else None
    except HpcError:
        return None
    return True


def _recover(workspace: Workspace, site: SiteProfile) -> None:
    """Promote the newest leftover the API accepts; drop leftovers that are empty, garbled,
    refused or older than the saved token. Nothing is removed that might still be needed."""
    saved = workspace.credentials_dir / TOKEN_FILE
    saved_at = saved.stat().st_mtime if saved.exists() else float("-inf")
    user = remembered_user(workspace)
    leftovers = _leftovers(workspace)
    for index, (written_at, path) in enumerate(leftovers):
        try:
            candidate = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            candidate = ""
        if _TOKEN_TEXT.fullmatch(candidate) and written_at >= saved_at:
            register_secret(candidate)
            if user is None:
                return  # cannot ask the API without the username: keep it
            accepted = _accepted(site, candidate, user)
            if accepted is None:
                return
            if accepted:
                _write_token(workspace, candidate)
                for _, stale in leftovers[index:]:
                    stale.unlink(missing_ok=True)
                return
        path.unlink(missing_ok=True)


def usable_token(workspace: Workspace, site: SiteProfile) -> str:
    """The saved token, after recovering a newer one an interrupted write left behind."""
    if _leftovers(workspace):
        with _token_lock(workspace):
            _recover(workspace, site)
    return load_token(workspace)


def load_token(workspace: Workspace) -> str:
    """The saved token, or AuthRequired telling how to get one."""
    token = workspace.credentials().read_text(TOKEN_FILE)
    if token is None:
        raise AuthRequired(
            "no HPC API token in the workspace", type="no_token", hint=REQ_TOKEN_HINT
        )
    register_secret(token)
    return token


def save_token(workspace: Workspace, token: str) -> Path:
    with _token_lock(workspace):
        return _write_token(workspace, token)


def request_token(
    workspace: Workspace, site: SiteProfile, user: str, password: Callable[[], str]
) -> dict[str, Any]:
    """`POST /token` with the password, save the token, remember the user.

    `password` is called only once the username and the API URL passed their checks, so
    bad input (exit 2) leaves a password file where it was.
    """
    check_username(user)
    api = HpcApi(site)
    secret = password()
    try:
        token = api.request_token(user, secret)
    except AuthRequired as exc:
        if exc.type != "token_invalid":
            raise
        raise AuthRequired(
            f"the HPC API refused the username or password ({exc.message})",
            type="login_failed",
            hint="ask the user to check their HPC username and password, then to upload the "
            "password file again; do not retry with the same password",
        ) from None
    path = save_token(workspace, token)
    remember_user(workspace, user)
    return {"status": "issued", "user": user, "token_file": str(path)}


def refresh_token(workspace: Workspace, site: SiteProfile) -> dict[str, Any]:
    """`PATCH /token` under the token lock; a refused refresh means the token expired."""
    usable_token(workspace, site)
    with _token_lock(workspace):
        api = HpcApi(site, load_token(workspace))
        try:
            token = api.refresh_token()
        except AuthRequired as exc:
            raise AuthRequired(
                f"the token was refused ({exc.message}); it has expired",
                type="token_expired",
                hint=REQ_TOKEN_HINT,
            ) from None
        path = _write_token(workspace, token)
    return {"status": "refreshed", "token_file": str(path)}
