"""The HPC API token, kept in the workspace's credentials dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcskills.core.errors import AuthRequired
from hpcskills.core.redact import register_secret
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.users import check_username, remember_user

TOKEN_FILE = "hpc_token"
REQ_TOKEN_HINT = (
    "ask the user for their HPC password as an uploaded file, then run "
    "req_token.py USERNAME --textfile FILE"
)


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
    return workspace.credentials().write_text(TOKEN_FILE, token + "\n")


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
    """`PATCH /token`; a refused refresh means the token expired."""
    api = HpcApi(site, load_token(workspace))
    try:
        token = api.refresh_token()
    except AuthRequired as exc:
        raise AuthRequired(
            f"the token was refused ({exc.message}); it has expired",
            type="token_expired",
            hint=REQ_TOKEN_HINT,
        ) from None
    path = save_token(workspace, token)
    return {"status": "refreshed", "token_file": str(path)}
