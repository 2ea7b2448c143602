"""Two-phase confirmation: a plan, an HMAC token bound to it, and nothing without it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from hpcskills.core.errors import ConfirmationRequired, HpcError
from hpcskills.core.state import corrupt
from hpcskills.core.workspace import Workspace

TOKEN_TTL_SECONDS = 600
SECRET_FILE = "confirm_secret"
USED_DIR = "confirm-used"
NONCE_BYTES = 8


def canonical(value: Any) -> str:
    """A stable text form of a plan: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _mac(secret: bytes, action: str, binding: Any, expires: int, nonce: str) -> str:
    message = f"{action}\n{expires}\n{nonce}\n{canonical(binding)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def issue_token(secret: bytes, action: str, binding: Any, now: float) -> str:
    """A token that confirms exactly `binding` for `action` until now + TTL, once. The
    nonce makes every token new, also a fresh one issued in the second a used one was."""
    expires, nonce = int(now) + TOKEN_TTL_SECONDS, secrets.token_hex(NONCE_BYTES)
    return f"{expires}.{nonce}.{_mac(secret, action, binding, expires, nonce)}"


_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{40})")


def _parse(token: str) -> tuple[int, str, str] | None:
    """(expires, nonce, mac) of a well-formed token (any length of input is safe)."""
    match = _TOKEN.fullmatch(token.strip()[:80])
    return None if match is None else (int(match[1]), match[2], match[3])


def check_token(secret: bytes, action: str, binding: Any, token: str, now: float) -> str:
    """'valid', 'expired', 'mismatch' (another plan) or 'malformed' (not a token this pack
    issues, including an expiry further ahead than a fresh token's)."""
    parsed = _parse(token)
    if parsed is None or parsed[0] > now + TOKEN_TTL_SECONDS:
        return "malformed"
    expires, nonce, mac = parsed
    if not hmac.compare_digest(mac, _mac(secret, action, binding, expires, nonce)):
        return "mismatch"
    if now > expires:
        return "expired"
    return "valid"


def _legacy_secret(text: str) -> dict[str, str]:
    """0.1.0 kept the key as bare hex text."""
    key = text.strip()
    bytes.fromhex(key)  # ValueError when damaged
    return {"key": key}


def workspace_secret(workspace: Workspace) -> bytes:
    """The per-workspace HMAC key, created once (0600) and never shown."""
    state = workspace.state()
    record = state.read(SECRET_FILE, legacy=_legacy_secret)
    if record is None:
        state.create(SECRET_FILE, {"key": secrets.token_hex(32)})  # a concurrent call may win
        record = state.read(SECRET_FILE)
    try:
        return bytes.fromhex(record["key"])
    except (KeyError, TypeError, ValueError):
        raise corrupt(state.path(SECRET_FILE), "holds no key") from None


def _consume(workspace: Workspace, token: str, now: float) -> bool:
    """Record a valid token as used; False when it already was (by anyone, even a
    concurrent process: the marker is created exclusively). Markers of tokens that have
    expired anyway are pruned."""
    parsed = _parse(token)
    assert parsed is not None  # checked valid before
    used = workspace.state().sub(USED_DIR)
    for name in used.names():
        stamp = name.partition("-")[0]
        if stamp.isdigit() and int(stamp[:12]) < now:
            used.remove(name)
    expires, _nonce, mac = parsed
    return used.create(f"{expires}-{mac}", {"expires": expires})


_REASONS = {
    None: "this action needs the user's confirmation; nothing was changed",
    "expired": "the confirm token has expired; review the plan again; nothing was changed",
    "mismatch": "the plan changed since the token was issued (or the token belongs to another "
    "action); review the new plan; nothing was changed",
    "malformed": "the confirm token is not valid; nothing was changed",
    "used": "this confirm token was already used (a token confirms one run); review the plan "
    "again; nothing was changed",
}
_SHOW_PLAN = "Show this plan to the user. Only if they agree, run the same command again "


@dataclass(frozen=True)
class _Confirmed:
    """A confirmation used up in the current command: enough to plan it afresh."""

    secret: bytes
    action: str
    plan: dict[str, Any]
    binding: Any


_USED_IN_RUN: ContextVar[list[_Confirmed] | None] = ContextVar("confirmed", default=None)


def _fresh_plan(confirmed: _Confirmed, now: float) -> dict[str, Any]:
    """The plan with a new token, as an exit-3 answer carries it."""
    fresh = issue_token(confirmed.secret, confirmed.action, confirmed.binding, now)
    expires_at = datetime.fromtimestamp(int(fresh.split(".")[0]), timezone.utc)
    return {
        "action": confirmed.action,
        "plan": confirmed.plan,
        "confirm": fresh,
        "expires_at": expires_at.isoformat(),
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
    """Return only when `token` confirms this exact plan and was not used before (it is
    used up now); otherwise raise the plan with a fresh token (exit 3).

    `binding` is the part of the plan that must not change between the two calls (targets
    and their states); it defaults to the whole plan. Volatile display fields (elapsed time)
    belong in `plan` only.
    """
    now = time.time() if now is None else now
    confirmed = _Confirmed(
        workspace_secret(workspace), action, plan, plan if binding is None else binding
    )
    status = (
        None
        if token is None
        else check_token(confirmed.secret, action, confirmed.binding, token, now)
    )
    if status == "valid":
        if _consume(workspace, token or "", now):
            used = _USED_IN_RUN.get()
            if used is not None:
                used.append(confirmed)
            return
        status = "used"
    details = _fresh_plan(confirmed, now)
    raise ConfirmationRequired(
        _REASONS[status],
        type="confirmation_required" if status is None else f"confirmation_{status}",
        hint=_SHOW_PLAN + "with --confirm " + details["confirm"],
        **details,
    )


@contextmanager
def confirmation_scope() -> Iterator[Callable[[HpcError], HpcError]]:
    """The scope of one command run. It yields `after_failure(error)`: when the run used up
    a confirmation before failing, the error gains `replan` (the plan and a fresh token),
    so the agent can ask the user again; otherwise the error is returned unchanged."""
    used: list[_Confirmed] = []
    reset = _USED_IN_RUN.set(used)

    def after_failure(error: HpcError) -> HpcError:
        if not used or isinstance(error, ConfirmationRequired):
            return error
        replan = _fresh_plan(used[-1], time.time())
        error.details["replan"] = replan
        error.hint = " ".join(
            part
            for part in (
                error.hint,
                "The confirmation was used up by this attempt. To try again, show "
                "replan.plan to the user; only if they agree, run the same command again "
                "with --confirm " + replan["confirm"],
            )
            if part
        )
        return error

    try:
        yield after_failure
    finally:
        _USED_IN_RUN.reset(reset)
