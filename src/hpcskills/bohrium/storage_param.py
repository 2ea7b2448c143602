"""The `X-Storage-Param` header of tiefblue uploads: base64 of a small JSON object."""

from __future__ import annotations

import base64
import json
from typing import Any

HEADER = "X-Storage-Param"


def encode(param: dict[str, Any]) -> str:
    """The header value for `param` (e.g. `{"path": object_key}`)."""
    return base64.b64encode(json.dumps(param, separators=(",", ":")).encode()).decode()


def decode(value: str) -> dict[str, Any]:
    """The parameter object of a header value; ValueError when it is not one."""
    try:
        data = json.loads(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{HEADER} is not base64 JSON") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{HEADER} must encode a JSON object")
    return data
