"""The HPC username: checked, remembered in the workspace (it is not a secret)."""

from __future__ import annotations

import re

from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace

PROFILE_FILE = "sjtu.json"
_USERNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def check_username(name: str) -> str:
    """A valid HPC username, or BadInput."""
    if not _USERNAME.fullmatch(name or ""):
        raise BadInput(f"invalid HPC username {name!r}", type="invalid_username")
    return name


def remember_user(workspace: Workspace, user: str) -> None:
    """Keep the username (not a secret) so later scripts need not ask for it."""
    workspace.state().write(PROFILE_FILE, {"username": user})


def remembered_user(workspace: Workspace) -> str | None:
    data = workspace.state().read(PROFILE_FILE)
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
