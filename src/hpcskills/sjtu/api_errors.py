"""What an SJTU HPC API error answer means (pure: status + body → typed error).

The site does not publish its error bodies: they may be Chinese text, English text or JSON
(facts/sjtu.md). So the HTTP status decides the class first, the wording only tells apart
what one status can mean (2FA denied vs timed out), the session ID of an internal error is
looked for in every form, and every error keeps the redacted, bounded body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from hpcskills.core.errors import AuthRequired, BadInput, HpcError, NotFound, RemoteError
from hpcskills.core.redact import redact
from hpcskills.sjtu.site import SiteProfile

MAX_BODY_CHARS = 500
UNAVAILABLE_STATUS = frozenset({502, 503, 504})
UNBOUND_MARKERS = ("have not set email or jaccount", "未绑定")
DENIAL_MARKERS = ("denied", "deny", "rejected", "refused", "拒绝", "驳回")
TIMEOUT_MARKERS = ("timed out", "timeout", "time out", "超时")
_SESSION_TEXT = re.compile(
    r"(?:session[ _-]?id|会话\s*(?:id|编号|标识|号))[\s:：=#\"'是为]{0,4}"
    r"([A-Za-z0-9][A-Za-z0-9_-]{5,})",
    re.I,
)
_SESSION_KEYS = frozenset({"sessionid", "session", "会话id", "会话编号"})
_MESSAGE_KEYS = ("message", "msg", "error", "detail", "reason")
_TIMEOUT_HINT = "the user did not approve in time; ask them to be ready, then try again"


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON document, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key), item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def session_id(body: str) -> str | None:
    """The session ID an error body carries: a JSON field, or English or Chinese text."""
    document = _json(body)
    texts = [body]
    for key, value in _walk(document):
        if re.sub(r"[\s_-]", "", key.lower()) in _SESSION_KEYS and isinstance(value, str | int):
            text = str(value).strip()
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{5,}", text):
                return text
        if isinstance(value, str):
            texts.append(value)
    for text in texts:
        match = _SESSION_TEXT.search(text)
        if match:
            return match.group(1)
    return None


def error_reason(body: str) -> str:
    """The human part of an error body (a JSON message field, else the text), redacted."""
    document = _json(body)
    if isinstance(document, dict):
        for key in _MESSAGE_KEYS:
            value = document.get(key)
            if isinstance(value, str) and value.strip():
                return redact(value.strip())[:MAX_BODY_CHARS]
    return body_excerpt(body)


def body_excerpt(body: str) -> str:
    """The whole body, redacted and bounded: what the site's own scripts print."""
    return redact(body.strip())[:MAX_BODY_CHARS]


def _says(text: str, markers: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in markers)


def classify_error(
    status: int, body: str, site: SiteProfile, operation: str, *, twofa: bool = False
) -> HpcError:
    """The typed error for a non-2xx answer; `twofa` when the call waited for 2FA."""
    excerpt = body_excerpt(body)
    reason = error_reason(body) or f"HTTP {status}"
    kept = {"status": status, "body": excerpt}
    if status >= 500 and status not in UNAVAILABLE_STATUS:
        sid = session_id(body)
        tell = f"tell the user the session ID {sid} and " if sid else "ask the user "
        return RemoteError(
            f"{operation}: the HPC API reported an internal error (HTTP {status})",
            type="internal_error",
            hint=f"{tell}to write to {site.support_email} for help",
            session_id=sid,
            support=site.support_email,
            **kept,
        )
    if status >= 500:
        return RemoteError(
            f"{operation}: the HPC API is unavailable (HTTP {status})",
            type="service_unavailable",
            retryable=True,
            **kept,
        )
    if status == 401:
        return AuthRequired(
            f"{operation}: the HPC API refused the credentials: {reason}",
            type="token_invalid",
            hint="refresh the token with refresh_token.py, or request a new one with req_token.py",
            **kept,
        )
    if _says(body, UNBOUND_MARKERS):
        return AuthRequired(
            f"{operation}: {reason}",
            type="second_factor_unbound",
            hint="two-factor authentication cannot run: the user must bind a jAccount or "
            f"email first, as described at {site.security_docs}",
            docs=site.security_docs,
            **kept,
        )
    timed_out = status == 408 or (status == 403 and _says(body, TIMEOUT_MARKERS))
    if twofa and timed_out:
        return AuthRequired(
            f"{operation}: {reason}", type="2fa_timeout", hint=_TIMEOUT_HINT, **kept
        )
    if status == 403 and twofa and _says(body, DENIAL_MARKERS):
        return AuthRequired(
            f"{operation}: {reason}",
            type="2fa_denied",
            hint="ask the user whether to try again",
            **kept,
        )
    if status == 403:
        return AuthRequired(f"{operation}: refused: {reason}", type="forbidden", **kept)
    if status == 404:
        return NotFound(f"{operation}: {reason}", **kept)
    if status in (408, 429):
        return RemoteError(
            f"{operation}: the HPC API is busy (HTTP {status})",
            type="service_unavailable",
            retryable=True,
            **kept,
        )
    return BadInput(
        f"{operation}: the HPC API rejected the request: {reason}", type="rejected", **kept
    )
