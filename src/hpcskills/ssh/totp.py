"""One-time codes for keyboard-interactive logins (both backends): which prompts to answer,
and the current TOTP code, never one whose 30 s step was already spent.

The spent step is kept once per workspace (`last_used_file`), not per host: a site's login
nodes usually share the account's one-time-code record, so a code used on one node is
refused on another in the same 30 s window.
"""

from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pyotp

from hpcskills.core.credstore import open_private
from hpcskills.core.errors import AuthRequired
from hpcskills.core.state import Unreadable, decode, encode
from hpcskills.ssh.base import Endpoint

TOTP_STEP_SECONDS = 30  # the RFC 6238 default time step
_CODE_PROMPTS = ("code", "otp", "token", "verification", "passcode", "2fa", "factor")
_ORIGIN = re.compile(r"^\([^()]*\)\s*")  # OpenSSH prefixes "(user@host) " to server prompts


def is_code_prompt(text: str) -> bool:
    """Whether a server prompt asks for a one-time code (the "(user@host) " prefix that
    OpenSSH adds is ignored, so a host name cannot make a password prompt look like one)."""
    lowered = _ORIGIN.sub("", text).lower()
    return any(word in lowered for word in _CODE_PROMPTS)


def last_used_file(state_dir: Path) -> Path:
    """Where a workspace records the last TOTP time step it answered with."""
    return state_dir / "totp-last-step"


def _legacy_step(text: str) -> dict[str, int]:
    """0.1.0 kept the bare step number."""
    return {"step": int(text.strip() or -1)}


def parse_spent_step(text: str) -> int:
    """The last spent step recorded in `text` (-1 when none or unreadable: at worst one
    code is refused and the login is retried)."""
    try:
        record, _ = decode(text, _legacy_step)
        return int(record["step"])
    except (Unreadable, KeyError, TypeError, ValueError):
        return -1


def spent_step(last_used_path: Path) -> int:
    """The last step this workspace answered with (-1 when none)."""
    try:
        return parse_spent_step(last_used_path.read_text())
    except FileNotFoundError:
        return -1


def totp_code(secret: str, last_used_path: Path, now: Callable[[], float] = time.time) -> str:
    """The current TOTP code, waiting for the next time step if this one was already used
    (the record is locked and updated in place: concurrent logins get different steps)."""
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    with open(open_private(last_used_path), "r+") as record:
        fcntl.flock(record, fcntl.LOCK_EX)
        last = parse_spent_step(record.read())
        step = int(now()) // totp.interval
        if step <= last:
            time.sleep((last + 1) * totp.interval - now() + 0.05)
            step = int(now()) // totp.interval
        record.seek(0)
        record.truncate()
        record.write(encode({"step": step}).decode())
    return totp.at(step * totp.interval)


def answer_prompts(prompts: Sequence[tuple[str, bool]], code: Callable[[], str]) -> list[str]:
    """Answers for keyboard-interactive prompts: codes only; any other prompt is refused."""
    answers = []
    for text, _echo in prompts:
        if not is_code_prompt(text):
            raise AuthRequired(
                f"the server asked {text.strip()!r}, which the pack does not answer",
                type="unsupported_prompt",
                hint="only certificate + TOTP logins are supported",
            )
        answers.append(code())
    return answers


def code_refused(endpoint: Endpoint) -> AuthRequired:
    """The error for a login whose certificate was accepted and whose one-time code was not."""
    return AuthRequired(
        f"{endpoint.label} accepted the SSH certificate but refused the one-time code",
        type="ssh_auth_failed",
        hint="check credentials/totp_secret (the account's base32 TOTP secret, mode 0600) "
        "and this machine's clock; repeated failures may ban the account for an hour",
    )
