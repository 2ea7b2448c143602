"""Keep secrets out of every message, log line and error the pack prints."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from urllib.parse import quote, quote_plus

MASK = "***"
_MIN_SECRET_LEN = 4
_MIN_PART_LEN = 6  # a shorter piece of a secret split at a line break is not masked alone


def _mask_value(match: re.Match[str]) -> str:
    """The key of a secret assignment with its value masked, in the value's own quotes."""
    value = match.group(0)[len(match.group(1)):]
    mark = value[0] if value[0] in "\"'" else ""
    return f"{match.group(1)}{mark}{MASK}{mark}"


_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        "[private key redacted]",
    ),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + MASK),
    (
        # a quoted value is masked whole (up to its closing quote, or the end of a cut-off
        # text), else up to the next separator: `"password": "two words"` hides both words
        re.compile(
            r"(?i)([\"']?(?:password|passwd|new_password|token|access_?key|api_?key|secret|"
            r"totp_secret)[\"']?\s*[:=]\s*)"
            r"(?:\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?|[^\"'\s,&}]+)"
        ),
        _mask_value,
    ),
)

_known: set[str] = set()
_lock = threading.Lock()


def shown_forms(value: str) -> set[str]:
    """The texts a message can show for a secret: itself, its escaped forms (repr, JSON) and
    its percent-encoded forms, and the parts of it between line breaks (pure)."""
    forms = {
        value,
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value),
        quote(value, safe=""),
        quote_plus(value),
    }
    parts = {part for part in re.split(r"[\r\n]+", value) if len(part.strip()) >= _MIN_PART_LEN}
    return forms | parts


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is masked wherever it later appears, in any of the
    forms a message may show it in."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _known.update(form for form in shown_forms(value) if len(form) >= _MIN_SECRET_LEN)


def redact(text: str) -> str:
    """Return `text` with registered secrets and secret-looking patterns masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    pem, pem_replacement = _PATTERNS[0]
    text = pem.sub(pem_replacement, text)  # a whole key block first, before its lines
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS[1:]:
        text = pattern.sub(replacement, text)
    return text
