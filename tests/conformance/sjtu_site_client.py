"""The request shapes of the SJTU site's own skill scripts (token, refresh, certificate),
written from facts/sjtu.md ("On the wire"), not copied from them.

Like the site's scripts it uses Python's standard HTTP client (which honours HTTP(S)_PROXY)
and prints the whole body of any error. `SITE_SHAPES` is the same knowledge as data, so the
pack's recorded requests can be judged against it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

DOMAIN = "pi"


@dataclass(frozen=True)
class Shape:
    """What the site's scripts send on one endpoint."""

    auth: bool
    accept: str | None = None  # None: whatever the client's default is (curl: */*)
    body_keys: frozenset[str] | None = None  # None: no JSON body
    query_keys: frozenset[str] = frozenset()


SITE_SHAPES: dict[tuple[str, str], Shape] = {
    ("POST", "/token"): Shape(False, "text/plain", frozenset({"domain", "operator", "password"})),
    ("PATCH", "/token"): Shape(True, "text/plain", frozenset()),
    ("POST", "/gen_key"): Shape(True, "application/json", frozenset({"domain", "hpc_user"})),
    ("POST", "/sign_cert"): Shape(
        True,
        "text/plain",
        frozenset({"domain", "hpc_user", "principals", "public_key", "valid_time"}),
    ),
    ("GET", "/user"): Shape(True, query_keys=frozenset({"name", "domain"})),
    ("GET", "/quota"): Shape(False, query_keys=frozenset({"quota_type", "name"})),
}


class SiteError(Exception):
    """A non-2xx answer; the site's scripts show the status and the whole body."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class SiteScripts:
    """The site's token, refresh and certificate scripts, one method each."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        accept: str | None = None,
        query: dict[str, str] | None = None,
    ) -> str:
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if accept:
            headers["Accept"] = accept
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(  # noqa: S310 - the simulator's http URL
            url, data=data, headers=headers, method=method
        )
        try:
            # a fresh opener reads the proxy variables now (urlopen caches the first ones)
            with urllib.request.build_opener().open(request, timeout=700) as answer:
                return answer.read().decode()
        except urllib.error.HTTPError as exc:
            raise SiteError(exc.code, exc.read().decode()) from None

    def token(self, user: str, password: str) -> str:
        """`POST /token`; the answer `Bearer <token>` loses its prefix."""
        body = {"domain": DOMAIN, "operator": user, "password": password}
        text = self._send("POST", "/token", body=body, accept="text/plain")
        return text.strip().removeprefix("Bearer ").strip()

    def refresh(self, token: str) -> str:
        """`PATCH /token` with an empty JSON body."""
        text = self._send("PATCH", "/token", body={}, token=token, accept="text/plain")
        return text.strip().removeprefix("Bearer ").strip()

    def gen_key(self, token: str, user: str) -> tuple[str, str]:
        """`POST /gen_key`: the server's Ed25519 pair."""
        body = {"domain": DOMAIN, "hpc_user": user}
        pair = json.loads(self._send("POST", "/gen_key", body=body, token=token,
                                     accept="application/json"))
        return pair["private_key"], pair["public_key"]

    def sign_cert(self, token: str, user: str, public_key: str, valid_time: int = 3600) -> str:
        """`POST /sign_cert` for a key from /gen_key; blocks until 2FA is settled."""
        body = {
            "domain": DOMAIN,
            "hpc_user": user,
            "principals": [user],
            "public_key": public_key,
            "valid_time": valid_time,
        }
        return self._send("POST", "/sign_cert", body=body, token=token, accept="text/plain")

    def user(self, token: str, user: str) -> dict[str, Any]:
        """`GET /user` as the site's SKILL shows it with curl."""
        return json.loads(self._send("GET", "/user", token=token,
                                     query={"name": user, "domain": DOMAIN}))

    def quota(self, quota_type: str, name: str) -> dict[str, Any]:
        """`GET /quota`, no auth."""
        return json.loads(self._send("GET", "/quota",
                                     query={"quota_type": quota_type, "name": name}))


def shape_problems(method: str, path: str, headers: dict[str, str], body: Any,
                   query: dict[str, str]) -> list[str]:
    """How one recorded request departs from what the site's scripts send (empty: none)."""
    shape = SITE_SHAPES.get((method, path))
    if shape is None:
        return [f"{method} {path}: the site's scripts never send this"]
    problems = []
    has_auth = headers.get("authorization", "").startswith("Bearer ")
    if has_auth != shape.auth:
        problems.append(f"{method} {path}: bearer token {'missing' if shape.auth else 'sent'}")
    if shape.accept and headers.get("accept") != shape.accept:
        problems.append(f"{method} {path}: Accept {headers.get('accept')!r}, not {shape.accept}")
    if shape.body_keys is not None:
        keys = set(body) if isinstance(body, dict) else None
        if keys != shape.body_keys:
            problems.append(f"{method} {path}: body keys {keys}, not {set(shape.body_keys)}")
        if isinstance(body, dict) and "domain" in body and body["domain"] != DOMAIN:
            problems.append(f"{method} {path}: domain {body['domain']!r}")
    elif body is not None:
        problems.append(f"{method} {path}: unexpected body")
    if set(query) != shape.query_keys:
        problems.append(f"{method} {path}: query {set(query)}, not {set(shape.query_keys)}")
    return problems
