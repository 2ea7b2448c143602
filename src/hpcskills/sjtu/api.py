"""Client of the SJTU HPC API (token, certificates, user, quota), exactly as the site serves it."""

from __future__ import annotations

from typing import Any

import requests

from hpcskills.core.errors import AuthRequired, BadInput, NotFound, RemoteError
from hpcskills.core.http import HttpSession
from hpcskills.core.redact import redact, register_secret
from hpcskills.sjtu.api_errors import classify_error
from hpcskills.sjtu.site import SiteProfile

MAX_TWOFA_SLACK_SECONDS = 30.0  # time for the site to answer once the user decided
USER_UPDATE_UNVERIFIED = (
    "the PATCH /user body shape is a guess: no public source documents its field names; "
    "correct them under account_update.fields in the site profile (site.json or "
    "$HPCSKILLS_SITE_FILE)"
)


def strip_bearer(text: str) -> str:
    """The token in a `Bearer <token>` answer."""
    token = text.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    return token


def user_update_body(site: SiteProfile, name: str, changes: dict[str, str]) -> dict[str, str]:
    """The `PATCH /user` body with the field names of the site profile."""
    fields = site.user_update_fields
    unknown = set(changes) - set(fields)
    if unknown:
        raise BadInput(f"cannot change {', '.join(sorted(unknown))} through PATCH /user")
    renamed = {fields[key]: value for key, value in changes.items()}
    return {"domain": site.api_domain, fields["name"]: name, **renamed}


class HpcApi:
    """The HPC API of one site, with an optional bearer token."""

    def __init__(
        self, site: SiteProfile, token: str | None = None, http: HttpSession | None = None
    ) -> None:
        self.site = site
        self.token = token
        register_secret(token)
        timeout = site.api_timeout
        self.http = http or HttpSession(
            site.api_base_url,
            timeout=(min(10.0, timeout), timeout),
            service="the HPC API",
            environment=True,  # the site's scripts honour proxies and CA bundles too
        )

    def _auth(self) -> dict[str, str]:
        if not self.token:
            raise AuthRequired(
                "no HPC API token",
                type="no_token",
                hint="request one with req_token.py USERNAME --textfile FILE",
            )
        return {"Authorization": f"Bearer {self.token}"}

    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        auth: bool = True,
        wait: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **(self._auth() if auth else {})}
        timeout = None
        if wait is not None:
            timeout = (self.http.timeout[0], wait + min(MAX_TWOFA_SLACK_SECONDS, wait))
        try:
            response = self.http.request(method, path, headers=headers, timeout=timeout, **kwargs)
        except RemoteError as exc:
            if wait is not None and exc.type == "timeout":
                raise AuthRequired(
                    f"{operation}: no two-factor approval within {wait:.0f} s",
                    type="2fa_timeout",
                    hint="ask the user to be ready to approve, then try again",
                ) from None
            raise
        if not response.ok:
            raise classify_error(
                response.status_code, response.text, self.site, operation, twofa=wait is not None
            )
        return response

    def _json(self, response: requests.Response, operation: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise RemoteError(f"{operation}: the HPC API answered with invalid JSON") from None

    def request_token(self, operator: str, password: str) -> str:
        """`POST /token`: a new bearer token for the user's password."""
        register_secret(password)
        body = {"domain": self.site.api_domain, "operator": operator, "password": password}
        response = self._call(
            "POST",
            "/token",
            "token request",
            auth=False,
            json=body,
            headers={"Accept": "text/plain"},
        )
        self.token = strip_bearer(response.text)
        register_secret(self.token)
        return self.token

    def refresh_token(self) -> str:
        """`PATCH /token`: a new token; the old one stops working."""
        response = self._call(
            "PATCH", "/token", "token refresh", json={}, headers={"Accept": "text/plain"}
        )
        self.token = strip_bearer(response.text)
        register_secret(self.token)
        return self.token

    def gen_key(self, user: str) -> tuple[str, str]:
        """`POST /gen_key`: a server-generated Ed25519 key pair (private, public)."""
        body = {"domain": self.site.api_domain, "hpc_user": user}
        response = self._call(
            "POST", "/gen_key", "key generation", json=body, headers={"Accept": "application/json"}
        )
        data = self._json(response, "gen_key")
        if not isinstance(data, dict) or "private_key" not in data or "public_key" not in data:
            raise RemoteError("key generation: unexpected answer from the HPC API")
        register_secret(data["private_key"])
        return str(data["private_key"]), str(data["public_key"])

    def sign_cert(self, user: str, public_key: str, valid_time: int, wait: float) -> str:
        """`POST /sign_cert`: blocks until the user approves 2FA; returns the certificate."""
        body = {
            "domain": self.site.api_domain,
            "hpc_user": user,
            "principals": [user],
            "public_key": public_key.strip(),
            "valid_time": int(valid_time),
        }
        response = self._call(
            "POST",
            "/sign_cert",
            "certificate request",
            json=body,
            wait=wait,
            headers={"Accept": "text/plain"},
        )
        return response.text.strip()

    def get_user(self, name: str) -> dict[str, Any]:
        """`GET /user`: the user's posixAccount attributes, jAccount, email, type."""
        params = {"name": name, "domain": self.site.api_domain}
        data = self._json(self._call("GET", "/user", "user query", params=params), "user")
        if not isinstance(data, dict):
            raise RemoteError("user query: unexpected answer from the HPC API")
        return data

    def patch_user(self, name: str, changes: dict[str, str], wait: float) -> Any:
        """`PATCH /user`: change password/email/jAccount/contact method; blocks for 2FA.

        The body's field names are unverified (facts/sjtu.md): a rejection says so."""
        register_secret(changes.get("password"))
        body = user_update_body(self.site, name, changes)
        try:
            response = self._call("PATCH", "/user", "account update", json=body, wait=wait)
        except (BadInput, NotFound) as exc:
            exc.hint = USER_UPDATE_UNVERIFIED
            exc.details["unverified"] = "PATCH /user body"
            raise
        try:
            return response.json()
        except ValueError:
            return {"message": redact(response.text.strip())[:500]}

    def get_quota(self, quota_type: str, name: str) -> Any:
        """`GET /quota` (no auth): storage quota of a user or an account."""
        params = {"quota_type": quota_type, "name": name}
        return self._json(
            self._call("GET", "/quota", f"{quota_type} quota query", auth=False, params=params),
            "quota",
        )
