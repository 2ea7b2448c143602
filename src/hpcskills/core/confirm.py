"""Two-phase confirmation: a plan, an HMAC token bound to it, and nothing without it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from datetime import datetime, timezone
from typing import Any

from hpcskills.core.credstore import ensure_private_dir
from hpcskills.core.errors import ConfirmationRequired
from hpcskills.core.workspace import Workspace

TOKEN_TTL_SECONDS = 600
SECRET_FILE = "confirm_secret"


def canonical(value: Any) -> str:
    """A stable text form of a plan: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _mac(secret: bytes, action: str, binding: Any, expires: int) -> str:
    message = f"{action}\n{expires}\n{canonical(binding)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def issue_token(secret: bytes, action: str, binding: Any, now: float) -> str:
    """A token that confirms exactly `binding` for `action` until now + TTL."""
    expires = int(now) + TOKEN_TTL_SECONDS
    return f"{expires}.{_mac(secret, action, binding, expires)}"


def check_token(secret: bytes, action: str, binding: Any, token: str, now: float) -> str:
    """'valid', 'expired', 'mismatch' (another plan) or 'malformed'."""
    expires_text, _, mac = token.strip().partition(".")
    if not expires_text.isdigit() or not mac:
        return "malformed"
    expires = int(expires_text)
    if not hmac.compare_digest(mac, _mac(secret, action, binding, expires)):
        return "mismatch"
    if now > expires:
        return "expired"
    return "valid"


def workspace_secret(workspace: Workspace) -> bytes:
    """The per-workspace HMAC key, created once (0600) and never shown."""
    ensure_private_dir(workspace.state_dir)
    path = workspace.state_dir / SECRET_FILE
    if not path.exists():
        tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if a concurrent call created it first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return bytes.fromhex(path.read_text().strip())


_REASONS = {
    None: "this action needs the user's confirmation; nothing was changed",
    "expired": "the confirm token has expired; review the plan again; nothing was changed",
    "mismatch": "the plan changed since the token was issued (or the token belongs to another "
    "action); review the new plan; nothing was changed",
    "malformed": "the confirm token is not valid; nothing was changed",
}


def require_confirmation(
    workspace: Workspace,
    action: str,
    plan: dict[str, Any],
    token: str | None,
    *,
    binding: Any = None,
    now: float | None = None,
) -> None:
    """Return only when `token` confirms this exact plan; otherwise raise the plan (exit 3).

    `binding` is the part of the plan that must not change between the two calls (targets
    and their states); it defaults to the whole plan. Volatile display fields (elapsed time)
    belong in `plan` only.
    """
    now = time.time() if now is None else now
    secret = workspace_secret(workspace)
    binding = plan if binding is None else binding
    status = None if token is None else check_token(secret, action, binding, token, now)
    if status == "valid":
        return
    fresh = issue_token(secret, action, binding, now)
    expires_at = datetime.fromtimestamp(int(fresh.split(".")[0]), timezone.utc)
    raise ConfirmationRequired(
        _REASONS[status],
        type="confirmation_required" if status is None else f"confirmation_{status}",
        hint="Show this plan to the user. Only if they agree, run the same command again "
        "with --confirm " + fresh,
        action=action,
        plan=plan,
        confirm=fresh,
        expires_at=expires_at.isoformat(),
    )
