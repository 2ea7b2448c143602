"""Storage tokens as tiefblue issues them: HS256 JSON Web Tokens (lbg decodes their claims)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def storage_token(secret: bytes, claims: dict[str, Any]) -> str:
    """A signed HS256 JWT carrying `claims` (lbg reads `appKey` and `tag` from it)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
