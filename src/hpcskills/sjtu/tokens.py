"""The HPC API token and the remembered username, kept in the workspace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hpcskills.core.errors import AuthRequired, BadInput
from hpcskills.core.redact import register_secret
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.site import SiteProfile

TOKEN_FILE = "hpc_token"
PROFILE_FILE = "sjtu.json"
_USERNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
REQ_TOKEN_HINT = (
    "ask the user for their HPC password as an uploaded file, then run "
    "req_token.py USERNAME --textfile FILE"
)


def check_username(name: str) -> str:
    """A valid HPC username, or BadInput."""
    if not _USERNAME.fullmatch(name or ""):
        raise BadInput(f"invalid HPC username {name!r}", type="invalid_username")
    return name


def remember_user(workspace: Workspace, user: str) -> None:
    """Keep the username (not a secret) so later scripts need not ask for it."""
    workspace.state().write_json(PROFILE_FILE, {"username": user})


def remembered_user(workspace: Workspace) -> str | None:
    data = workspace.state().read_json(PROFILE_FILE) if workspace.state_dir.exists() else None
    return data.get("username") if isinstance(data, dict) else None


def resolve_user(workspace: Workspace, explicit: str | None) -> str:
    """The username given, else the remembered one, else BadInput with a hint."""
    user = explicit or remembered_user(workspace)
    if not user:
        raise BadInput(
            "no HPC username given and none remembered",
            type="username_required",
            hint="ask the user for their HPC username and pass it",
        )
    return check_username(user)


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
    workspace: Workspace, site: SiteProfile, user: str, password: str
) -> dict[str, Any]:
    """`POST /token` with the password, save the token, remember the user."""
    check_username(user)
    try:
        token = HpcApi(site).request_token(user, password)
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
