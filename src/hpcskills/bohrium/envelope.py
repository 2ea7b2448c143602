"""The OpenAPI answer envelope `{code, data, message}` and the typed errors it maps to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpcskills.core.errors import AuthRequired, BadInput, HpcError, NotFound, RemoteError
from hpcskills.core.redact import redact

SUCCESS_CODES = frozenset({0, "0", "0000"})
CODE_UNAUTHORIZED = 2000
CODE_NO_SNAPSHOT = 1000
CODE_RPC_ERROR = 148888
CODE_PERMISSION_DENIED = 290007
KEY_HINT = (
    "check the access key (ACCESS_KEY in the environment or openclaw.json "
    'skills.entries["bohrium-job"]); check_setup.py shows which one is used'
)
HOST_HINT = (
    "check OPENAPI_HOST (check_setup.py shows it); one report saw open.bohrium.com answer 404 "
    "for a job that openapi.dp.tech served"
)
Hinter = Callable[[str], "str | None"]


def _no_hint(_text: str) -> str | None:
    return None


def error_message(body: dict[str, Any]) -> str:
    """The platform's message of a failed envelope (`message`, or `error` text/object)."""
    for key in ("message", "error", "msg"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("msg") or value.get("message") or value.get("code")
        if value:
            return redact(str(value))[:500]
    return "no message"


def business_error(code: Any, message: str, operation: str, hint_for: Hinter) -> HpcError:
    """The typed error for an envelope with a non-zero code (pure)."""
    text = f"{operation}: {message} (code {code})"
    hint = hint_for(message)
    lowered = message.lower()
    numeric = int(code) if str(code).lstrip("-").isdigit() else None
    if numeric == CODE_UNAUTHORIZED:
        return AuthRequired(text, type="unauthorized", hint=KEY_HINT, code=numeric)
    if numeric == CODE_PERMISSION_DENIED:
        return AuthRequired(text, type="permission_denied", hint=hint or KEY_HINT, code=numeric)
    if numeric == CODE_NO_SNAPSHOT:
        return NotFound(
            text,
            type="no_snapshot",
            hint="finished jobs have no snapshot; download their results with download_results.py",
            code=numeric,
        )
    if numeric == CODE_RPC_ERROR:
        return RemoteError(text, type="rpc_error", retryable=True, hint=hint, code=code)
    if any(word in lowered for word in ("not found", "not exist", "no such", "不存在")):
        return NotFound(text, hint=hint, code=code)
    if any(word in lowered for word in ("invalid param", "parameter", "required", "illegal")):
        return BadInput(text, type="rejected", hint=hint, code=code)
    return RemoteError(text, type="platform_error", hint=hint, code=code)


def http_error(status: int, body_text: str, operation: str, hint_for: Hinter) -> HpcError:
    """The typed error for a non-200 HTTP answer (pure)."""
    reason = redact(body_text.strip())[:300] or f"HTTP {status}"
    text = f"{operation}: HTTP {status}: {reason}"
    if status == 429:
        return RemoteError(
            text,
            type="rate_limited",
            retryable=True,
            hint="Bohrium is rate limiting this key; wait a minute and try again, with fewer "
            "calls in a row",
        )
    if status == 405:
        return BadInput(
            text,
            type="waf_blocked",
            hint=hint_for("WAF 405")
            or "the web firewall refused the request; put the command in run.sh",
        )
    if status in (401, 403):
        return AuthRequired(text, type="unauthorized", hint=KEY_HINT)
    if status == 404:
        return RemoteError(text, type="endpoint_not_found", hint=HOST_HINT)
    if status >= 500:
        return RemoteError(
            text,
            type="service_unavailable",
            retryable=True,
            hint="Bohrium had a server error; try again in a minute",
        )
    return RemoteError(text, type="http_error", hint=hint_for(reason))


def unwrap(
    status: int, body_text: str, payload: Any, operation: str, hint_for: Hinter = _no_hint
) -> Any:
    """`data` of a successful answer, else the typed error (pure).

    `payload` is the parsed JSON body (None when it was not JSON).
    """
    if status != 200:
        raise http_error(status, body_text, operation, hint_for)
    if not isinstance(payload, dict) or "code" not in payload:
        raise RemoteError(
            f"{operation}: Bohrium answered without the expected envelope",
            type="bad_response",
            hint=HOST_HINT,
        )
    if payload["code"] not in SUCCESS_CODES:
        raise business_error(payload["code"], error_message(payload), operation, hint_for)
    return payload.get("data")
