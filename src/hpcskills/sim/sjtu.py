"""Local simulator of the SJTU HPC API (facts/sjtu.md): token, 2FA-held SSH certificates,
user records and storage quota.

Demo user (fake credentials, for the demo and tests only), created when no user is given:
name ``hpcdemo``, password ``hpcdemo-password``, account ``acct-demo``, email
``hpcdemo@example.org`` bound. Users given as ``NAME:PASSWORD`` also belong to ``acct-demo``
and have ``NAME@example.org`` bound; unbound users have neither email nor jAccount, so every
2FA-protected call answers 400 ``user have not set email or jAccount``.

Two-factor authentication: ``POST /sign_cert`` and ``PATCH /user`` hold the HTTP request open
until the pending request is approved (automatically after ``approve_after`` seconds, unless
that is None) or denied through the control API, or ``twofa_timeout`` passes.

Certificates are real OpenSSH user certificates signed by an Ed25519 CA kept in
``STATE_DIR/sjtu-ca`` (public half in ``sjtu-ca.pub``), so an sshd that lists that file in
``TrustedUserCAKeys`` accepts them.

Control namespace (loopback only, for tests and the demo):

- ``GET /_sim/2fa`` pending 2FA requests ``[{"id", "user", "kind", "since"}]``
- ``POST /_sim/2fa/<id>/approve``, ``POST /_sim/2fa/<id>/deny``, ``POST /_sim/2fa/approve-all``
- ``POST /_sim/config`` ``{"approve_after": seconds|null, "twofa_timeout": seconds,
  "error_style": "en"|"zh"|"json"}``

Error bodies: the site does not publish their format (facts/sjtu.md), so the simulator can
answer them as English text (default), Chinese text or JSON ``{"code", "message"}``; an
internal error carries its session ID in each form.
- ``POST /_sim/fail`` ``{"method": "POST", "path": "/token", "count": 1}``
- ``POST /_sim/expire-tokens``, ``GET /_sim/stats``, ``GET /_sim/ca.pub``
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    SSHCertificateBuilder,
    SSHCertificateType,
    SSHCertPublicKeyTypes,
    load_ssh_private_key,
    load_ssh_public_key,
)

from hpcskills.sim.httpbase import (
    HttpError,
    Request,
    Response,
    SimulatorBase,
    json_response,
    text_response,
)

DOMAIN = "pi"
DEMO_ACCOUNT = "acct-demo"
EMAIL_DOMAIN = "example.org"
SUPPORT_EMAIL = "hpc@sjtu.edu.cn"
UNBOUND_MESSAGE = "user have not set email or jAccount"
TOKEN_INVALID_MESSAGE = "token expired or invalid"
TWOFA_DENIED_MESSAGE = "two-factor authentication denied"
TWOFA_TIMED_OUT_MESSAGE = "two-factor authentication timed out"
ERROR_STYLES = ("en", "zh", "json")
# Chinese wording of the simulator's main errors (invented: the site publishes none). The
# unbound message stays as the site documents it, in English.
CHINESE_ERRORS = {
    TOKEN_INVALID_MESSAGE: "令牌已过期或无效",
    TWOFA_DENIED_MESSAGE: "用户拒绝了双因素认证请求",
    TWOFA_TIMED_OUT_MESSAGE: "双因素认证等待超时",
    "invalid username or password": "用户名或密码错误",
    "missing bearer token": "缺少访问令牌",
}
CA_KEY_NAME = "sjtu-ca"
CA_COMMENT = "hpc-sim-sjtu-ca"
CLOCK_SKEW_SECONDS = 30
DEFAULT_VALID_TIME = 3600
DEFAULT_MAX_VALID_TIME = 7 * 24 * 3600
DEFAULT_TOKEN_TTL = 3600.0
DEFAULT_TWOFA_TIMEOUT = 600.0
DEFAULT_APPROVE_AFTER = 1.0
CERT_EXTENSIONS = (
    b"permit-X11-forwarding",
    b"permit-agent-forwarding",
    b"permit-port-forwarding",
    b"permit-pty",
    b"permit-user-rc",
)
CHANGEABLE_USER_FIELDS = ("password", "email", "jAccount", "contactMethod")
CONTACT_METHODS = ("jwb", "email")
USER_NAME = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
FIRST_UID = 10001
FIRST_GID = 20001
TIB = 1024**4
# storage -> (limit_bytes, limit_files); invented figures, the site publishes none.
QUOTA_LIMITS = {
    "account": {"lustre": (5 * TIB, 10_000_000), "dssg": (5 * TIB, 10_000_000)},
    "user": {"lustre": (1 * TIB, 2_000_000), "dssg": (1 * TIB, 2_000_000)},
}


# -- users -----------------------------------------------------------------------------------


@dataclass
class SimUser:
    """A simulated HPC user; uid/gid numbers of 0 are assigned by the simulator."""

    name: str
    password: str
    account: str = DEMO_ACCOUNT
    email: str | None = None
    jaccount: str | None = None
    contact_method: str = "email"
    uid_number: int = 0
    gid_number: int = 0

    @property
    def bound(self) -> bool:
        """Whether a second channel (email or jAccount) is bound, so 2FA can run."""
        return bool(self.email or self.jaccount)


DEMO_USER = SimUser(
    name="hpcdemo",
    password="hpcdemo-password",  # noqa: S106 - documented fake demo credential
    email=f"hpcdemo@{EMAIL_DOMAIN}",
)


def parse_user_spec(spec: str, *, bound: bool = True) -> SimUser:
    """A user from ``NAME:PASSWORD``; bound users get ``NAME@example.org`` as email."""
    name, _, password = spec.partition(":")
    if not USER_NAME.fullmatch(name) or not password:
        raise ValueError(f"user must look like NAME:PASSWORD with a POSIX user name: {name!r}")
    email = f"{name}@{EMAIL_DOMAIN}" if bound else None
    return SimUser(name=name, password=password, email=email)


def number_users(users: Iterable[SimUser]) -> dict[str, SimUser]:
    """Copies keyed by name, with uid numbers per user and gid numbers per account."""
    numbered: dict[str, SimUser] = {}
    gids: dict[str, int] = {}
    for index, user in enumerate(users):
        if user.name in numbered:
            raise ValueError(f"duplicate user {user.name}")
        gid = user.gid_number or gids.setdefault(user.account, FIRST_GID + len(gids))
        uid = user.uid_number or FIRST_UID + index
        numbered[user.name] = replace(user, uid_number=uid, gid_number=gid)
    return numbered


def user_record(user: SimUser) -> dict[str, Any]:
    """The JSON body of ``GET /user``: posixAccount attributes plus binding fields."""
    return {
        "name": user.name,
        "uid": user.name,
        "uidNumber": user.uid_number,
        "gidNumber": user.gid_number,
        "home": f"%H/home/{user.account}/{user.name}",
        "loginShell": "/bin/bash",
        "gecos": user.name,
        "jAccount": user.jaccount,
        "email": user.email,
        "userType": "normal",
        "contactMethod": user.contact_method,
    }


def validate_user_changes(body: dict[str, Any]) -> dict[str, str]:
    """The requested ``PATCH /user`` changes; 400 on other fields or bad values."""
    changes = {key: value for key, value in body.items() if key not in ("domain", "name")}
    allowed = ", ".join(CHANGEABLE_USER_FIELDS)
    if not changes or set(changes) - set(CHANGEABLE_USER_FIELDS):
        raise HttpError(400, f"only these fields can be changed: {allowed}")
    for key, value in changes.items():
        if not isinstance(value, str) or not value:
            raise HttpError(400, f"{key} must be a non-empty string")
    if "contactMethod" in changes and changes["contactMethod"] not in CONTACT_METHODS:
        raise HttpError(400, f"contactMethod must be one of: {', '.join(CONTACT_METHODS)}")
    if "email" in changes and "@" not in changes["email"]:
        raise HttpError(400, "email is not a valid address")
    return changes


def apply_user_changes(user: SimUser, changes: dict[str, str]) -> SimUser:
    """`user` with validated ``PATCH /user`` changes applied."""
    return replace(
        user,
        password=changes.get("password", user.password),
        email=changes.get("email", user.email),
        jaccount=changes.get("jAccount", user.jaccount),
        contact_method=changes.get("contactMethod", user.contact_method),
    )


# -- quota -----------------------------------------------------------------------------------


def quota_report(quota_type: str, name: str) -> dict[str, Any]:
    """Deterministic per-storage usage for an account or user (figures are invented)."""
    quotas = []
    for storage, (limit_bytes, limit_files) in QUOTA_LIMITS[quota_type].items():
        seed = zlib.crc32(f"{quota_type}:{name}:{storage}".encode())
        quotas.append(
            {
                "storage": storage,
                "used_bytes": limit_bytes * (seed % 600) // 1000,
                "limit_bytes": limit_bytes,
                "used_files": limit_files * ((seed >> 10) % 600) // 1000,
                "limit_files": limit_files,
            }
        )
    return {"name": name, "quota_type": quota_type, "quotas": quotas}


# -- SSH certificate authority ---------------------------------------------------------------


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def ca_public_line(ca: Ed25519PrivateKey) -> str:
    """The CA public key as one OpenSSH line (for ``TrustedUserCAKeys``)."""
    key = ca.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f"{key} {CA_COMMENT}"


def load_or_create_ca(state_dir: Path) -> Ed25519PrivateKey:
    """Load ``state_dir/sjtu-ca`` or create it (0600); (re)writes ``sjtu-ca.pub``."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = state_dir / CA_KEY_NAME
    if key_path.exists():
        ca = load_ssh_private_key(key_path.read_bytes(), password=None)
        if not isinstance(ca, Ed25519PrivateKey):
            raise ValueError(f"{key_path} is not an Ed25519 private key")
    else:
        ca = Ed25519PrivateKey.generate()
        pem = ca.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
        _write_atomically(key_path, pem, 0o600)
    pub_path = state_dir / f"{CA_KEY_NAME}.pub"
    _write_atomically(pub_path, f"{ca_public_line(ca)}\n".encode(), 0o644)
    return ca


def parse_user_public_key(text: str) -> SSHCertPublicKeyTypes:
    """An OpenSSH public key line (ed25519, ecdsa or rsa), else ValueError."""
    try:
        key = load_ssh_public_key(text.strip().encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("public_key is not an OpenSSH ed25519, ecdsa or rsa public key") from exc
    if not isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("public_key must be an ed25519, ecdsa or rsa key")
    return key


def resolve_valid_time(value: Any, max_valid_time: int) -> int:
    """Requested certificate lifetime: default 3600 s, capped at `max_valid_time`."""
    if value is None:
        return min(DEFAULT_VALID_TIME, max_valid_time)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError("valid_time must be a whole number of seconds")
    if value <= 0:
        raise ValueError("valid_time must be positive")
    return min(int(value), max_valid_time)


def sign_user_cert(
    ca: Ed25519PrivateKey,
    public_key: SSHCertPublicKeyTypes,
    user: str,
    serial: int,
    valid_time: int,
    now: int,
) -> str:
    """An OpenSSH user certificate line for `user`, valid from now-30 s to now+valid_time."""
    builder = (
        SSHCertificateBuilder()
        .public_key(public_key)
        .serial(serial)
        .type(SSHCertificateType.USER)
        .key_id(f"hpc-sim:{user}:{serial}".encode())
        .valid_principals([user.encode()])
        .valid_after(now - CLOCK_SKEW_SECONDS)
        .valid_before(now + valid_time)
    )
    for extension in CERT_EXTENSIONS:
        builder = builder.add_extension(extension, b"")
    return builder.sign(ca).public_bytes().decode()


def generate_key_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair as (OpenSSH private key PEM, OpenSSH public key line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return private, public


# -- tokens and 2FA --------------------------------------------------------------------------


class TokenStore:
    """Bearer tokens with an expiry; refreshing replaces a token."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def issue(self, user: str) -> str:
        """A new token for `user`."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = (user, self._clock() + self.ttl)
        return token

    def user_for(self, token: str | None) -> str | None:
        """The user a live token belongs to, else None."""
        with self._lock:
            entry = self._tokens.get(token or "")
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def refresh(self, token: str | None) -> str | None:
        """A new token replacing a live `token` (which stops working), else None."""
        user = self.user_for(token)
        if user is None:
            return None
        with self._lock:
            if self._tokens.pop(token or "", None) is None:
                return None  # refreshed concurrently
        return self.issue(user)

    def expire_all(self) -> int:
        """Expire every token; returns how many were live."""
        now = self._clock()
        with self._lock:
            live = [token for token, (_, expiry) in self._tokens.items() if expiry > now]
            for token in live:
                user, _ = self._tokens[token]
                self._tokens[token] = (user, now)
        return len(live)


@dataclass
class TwoFactorRequest:
    """One pending 2FA request; `decision` is set once it is settled."""

    id: str
    user: str
    kind: str
    since: float
    started: float
    decision: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The control API view."""
        return {"id": self.id, "user": self.user, "kind": self.kind, "since": self.since}


APPROVED, DENIED, TIMED_OUT, STOPPED = "approved", "denied", "timed_out", "stopped"


class TwoFactorDesk:
    """Holds 2FA requests until approved, denied, auto-approved or timed out."""

    def __init__(self, approve_after: float | None, timeout: float) -> None:
        self.approve_after = approve_after
        self.timeout = timeout
        self._pending: dict[str, TwoFactorRequest] = {}
        self._closed = False
        self._cond = threading.Condition()

    def hold(self, user: str, kind: str) -> str:
        """Block until the request is settled; returns approved/denied/timed_out/stopped."""
        started = time.monotonic()
        request = TwoFactorRequest(secrets.token_hex(6), user, kind, time.time(), started)
        with self._cond:
            if self._closed:
                return STOPPED
            self._pending[request.id] = request
            self._cond.notify_all()
            while request.decision is None:
                remaining = self._settle_or_remaining(request, time.monotonic() - started)
                if remaining is not None:
                    self._cond.wait(remaining)
            del self._pending[request.id]
        return request.decision

    def _settle_or_remaining(self, request: TwoFactorRequest, elapsed: float) -> float | None:
        """Settle `request` when a deadline passed, else return seconds to the next one."""
        deadlines = [(self.timeout, TIMED_OUT)]
        if self.approve_after is not None:
            deadlines.insert(0, (self.approve_after, APPROVED))
        for deadline, decision in deadlines:
            if elapsed >= deadline:
                request.decision = decision
                return None
        return min(deadline for deadline, _ in deadlines) - elapsed

    def configure(self, *, approve_after: float | None, timeout: float) -> None:
        """Change the auto-approval delay (None = manual) and timeout; applies to held ones."""
        with self._cond:
            self.approve_after, self.timeout = approve_after, timeout
            self._cond.notify_all()

    def decide(self, request_id: str, decision: str) -> bool:
        """Settle one pending request; False when no such request is pending."""
        with self._cond:
            request = self._pending.get(request_id)
            if request is None or request.decision is not None:
                return False
            request.decision = decision
            self._cond.notify_all()
            return True

    def decide_all(self, decision: str) -> int:
        """Settle every pending request; returns how many."""
        with self._cond:
            undecided = [r for r in self._pending.values() if r.decision is None]
            for request in undecided:
                request.decision = decision
            self._cond.notify_all()
            return len(undecided)

    def pending(self) -> list[dict[str, Any]]:
        """Undecided requests, oldest first."""
        with self._cond:
            waiting = [r for r in self._pending.values() if r.decision is None]
        return [r.as_json() for r in sorted(waiting, key=lambda r: r.started)]

    def wait_for_pending(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Block until at least `count` requests are pending (or `timeout` passes)."""
        with self._cond:
            self._cond.wait_for(
                lambda: sum(r.decision is None for r in self._pending.values()) >= count,
                timeout,
            )
        return self.pending()

    def close(self) -> None:
        """Release every held request with `STOPPED` and refuse new ones."""
        with self._cond:
            self._closed = True
        self.decide_all(STOPPED)


# -- the simulator ---------------------------------------------------------------------------


KEEP: Any = object()  # `configure` sentinel: leave this setting unchanged


def check_error_style(style: Any) -> str:
    """One of `ERROR_STYLES`, else ValueError."""
    if style not in ERROR_STYLES:
        raise ValueError(f"error_style must be one of: {', '.join(ERROR_STYLES)}")
    return str(style)


def require_domain(data: dict[str, Any]) -> None:
    """400 unless ``domain`` is ``pi``."""
    if data.get("domain") != DOMAIN:
        raise HttpError(400, f'domain must be "{DOMAIN}"')


def require_string(data: dict[str, Any], key: str) -> str:
    """A required non-empty string field, else 400."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"{key} is required")
    return value


class SjtuSimulator(SimulatorBase):
    """The SJTU HPC API on 127.0.0.1, with a control API under ``/_sim/``."""

    name = "sjtu"

    def __init__(
        self,
        users: Iterable[SimUser] | None = None,
        *,
        port: int = 0,
        approve_after: float | None = DEFAULT_APPROVE_AFTER,
        twofa_timeout: float = DEFAULT_TWOFA_TIMEOUT,
        token_ttl: float = DEFAULT_TOKEN_TTL,
        max_valid_time: int = DEFAULT_MAX_VALID_TIME,
        state_dir: Path | str | None = None,
        error_style: str = "en",
        log: TextIO | None = sys.stderr,
    ) -> None:
        super().__init__(port=port, log=log)
        self.error_style = check_error_style(error_style)
        self.users = number_users([DEMO_USER] if users is None else users)
        self.tokens = TokenStore(token_ttl)
        self.twofa = TwoFactorDesk(approve_after, twofa_timeout)
        self.max_valid_time = max_valid_time
        self._temp_dir: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="hpcsim-sjtu-")
            state_dir = self._temp_dir.name
        self.state_dir = Path(state_dir)
        self.ca = load_or_create_ca(self.state_dir)
        self.ca_public_key = ca_public_line(self.ca)
        self.ca_public_key_path = self.state_dir / f"{CA_KEY_NAME}.pub"
        self._serial = 0
        self._lock = threading.Lock()
        self._add_routes()

    def _add_routes(self) -> None:
        add = self.router.add
        add("POST", r"/token", self._post_token, "POST /token")
        add("PATCH", r"/token", self._patch_token, "PATCH /token")
        add("POST", r"/gen_key", self._post_gen_key, "POST /gen_key")
        add("POST", r"/sign_cert", self._post_sign_cert, "POST /sign_cert")
        add("GET", r"/user", self._get_user, "GET /user")
        add("PATCH", r"/user", self._patch_user, "PATCH /user")
        add("GET", r"/quota", self._get_quota, "GET /quota")
        add("GET", r"/_sim/2fa", lambda _: json_response(self.pending_2fa()))
        add("POST", r"/_sim/2fa/approve-all", self._control_approve_all)
        add("POST", r"/_sim/2fa/(?P<id>[0-9a-f]+)/(?P<action>approve|deny)", self._control_decide)
        add("POST", r"/_sim/config", self._control_config)
        add("POST", r"/_sim/expire-tokens", self._control_expire_tokens)
        add("GET", r"/_sim/ca\.pub", lambda _: text_response(f"{self.ca_public_key}\n"))

    # -- Python control API (same operations as the /_sim endpoints) -----------------------

    def pending_2fa(self) -> list[dict[str, Any]]:
        """Pending 2FA requests ``[{"id", "user", "kind", "since"}]``, oldest first."""
        return self.twofa.pending()

    def wait_for_2fa(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least `count` 2FA requests are pending; returns them."""
        return self.twofa.wait_for_pending(count, timeout)

    def approve_2fa(self, request_id: str) -> bool:
        """Approve one pending request; False when it is not pending."""
        return self.twofa.decide(request_id, APPROVED)

    def deny_2fa(self, request_id: str) -> bool:
        """Deny one pending request; False when it is not pending."""
        return self.twofa.decide(request_id, DENIED)

    def approve_all_2fa(self) -> int:
        """Approve every pending request; returns how many."""
        return self.twofa.decide_all(APPROVED)

    def configure(
        self, *, approve_after: Any = KEEP, twofa_timeout: Any = KEEP, error_style: Any = KEEP
    ) -> dict:
        """Change auto-approval delay (None or negative = manual), 2FA timeout, error style."""
        after = self.twofa.approve_after if approve_after is KEEP else approve_after
        timeout = self.twofa.timeout if twofa_timeout is KEEP else twofa_timeout
        if after is not None and (isinstance(after, bool) or not isinstance(after, int | float)):
            raise ValueError("approve_after must be a number of seconds or null")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValueError("twofa_timeout must be a non-negative number of seconds")
        after = None if after is None or after < 0 else float(after)
        style = check_error_style(self.error_style if error_style is KEEP else error_style)
        self.twofa.configure(approve_after=after, timeout=float(timeout))
        self.error_style = style
        return {"approve_after": after, "twofa_timeout": float(timeout), "error_style": style}

    def expire_tokens(self) -> int:
        """Expire every issued token; returns how many were live."""
        return self.tokens.expire_all()

    def on_stop(self) -> None:
        """Release held 2FA requests (503) and remove a temporary state dir."""
        self.twofa.close()
        if self._temp_dir is not None:
            self._temp_dir.cleanup()

    def error_response(self, error: HttpError) -> Response:
        """A refusal in the configured error style."""
        if self.error_style == "json":
            return json_response({"code": error.status, "message": error.message}, error.status)
        if self.error_style == "zh" and error.message != UNBOUND_MESSAGE:
            text = CHINESE_ERRORS.get(error.message, f"请求错误：{error.message}")
            return text_response(text, error.status)
        return text_response(error.message, error.status)

    def internal_error(self) -> Response:
        """A 500 carrying a session ID, like the real service, in the configured style."""
        sid = str(uuid.uuid4())
        if self.error_style == "json":
            body = {"code": 500, "message": "Internal Server Error", "sessionId": sid}
            return json_response({**body, "help": f"contact {SUPPORT_EMAIL}"}, 500)
        if self.error_style == "zh":
            return text_response(
                f"服务器内部错误，会话ID：{sid}，请将此会话ID发送至 {SUPPORT_EMAIL} 获取帮助。", 500
            )
        return text_response(
            f"Internal Server Error. Session ID: {sid}. "
            f"Please contact {SUPPORT_EMAIL} with this ID.",
            500,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> SimUser:
        token = request.bearer_token()
        if token is None:
            raise HttpError(401, "missing bearer token")
        name = self.tokens.user_for(token)
        if name is None:
            raise HttpError(401, TOKEN_INVALID_MESSAGE)
        return self.users[name]

    def _own_user(self, caller: SimUser, name: str) -> SimUser:
        if name not in self.users:
            raise HttpError(404, f"user {name} not found")
        if name != caller.name:
            raise HttpError(403, f"token of {caller.name} cannot access user {name}")
        return self.users[name]

    def _pass_two_factor(self, user: SimUser, kind: str) -> None:
        if not user.bound:
            raise HttpError(400, UNBOUND_MESSAGE)
        decision = self.twofa.hold(user.name, kind)
        self.counters.inc("events", f"twofa_{decision}")
        if decision == DENIED:
            raise HttpError(403, TWOFA_DENIED_MESSAGE)
        if decision == TIMED_OUT:
            raise HttpError(403, TWOFA_TIMED_OUT_MESSAGE)
        if decision == STOPPED:
            raise HttpError(503, "simulator is shutting down")

    def _next_serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    # -- HPC API ---------------------------------------------------------------------------

    def _post_token(self, request: Request) -> Response:
        body = request.json_object()
        require_domain(body)
        operator, password = require_string(body, "operator"), require_string(body, "password")
        user = self.users.get(operator)
        if user is None or not hmac.compare_digest(password.encode(), user.password.encode()):
            raise HttpError(401, "invalid username or password")
        self.counters.inc("events", "tokens_issued")
        return text_response(f"Bearer {self.tokens.issue(user.name)}")

    def _patch_token(self, request: Request) -> Response:
        request.json_object()
        token = self.tokens.refresh(request.bearer_token())
        if token is None:
            raise HttpError(401, TOKEN_INVALID_MESSAGE)
        self.counters.inc("events", "tokens_refreshed")
        return text_response(f"Bearer {token}")

    def _post_gen_key(self, request: Request) -> Response:
        caller = self._authenticate(request)
        body = request.json_object()
        require_domain(body)
        self._own_user(caller, require_string(body, "hpc_user"))
        private_key, public_key = generate_key_pair()
        self.counters.inc("events", "keys_generated")
        return json_response({"private_key": private_key, "public_key": public_key})

    def _post_sign_cert(self, request: Request) -> Response:
        caller = self._authenticate(request)
        body = request.json_object()
        require_domain(body)
        user = self._own_user(caller, require_string(body, "hpc_user"))
        principals = body.get("principals", [user.name])
        if not isinstance(principals, list):
            raise HttpError(400, "principals must be a list of user names")
        if principals != [user.name]:
            raise HttpError(403, f"principals must be exactly [{user.name!r}]")
        try:
            public_key = parse_user_public_key(require_string(body, "public_key"))
            valid_time = resolve_valid_time(body.get("valid_time"), self.max_valid_time)
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc
        self.counters.inc("events", "cert_requests")
        self._pass_two_factor(user, "sign_cert")
        serial = self._next_serial()
        cert = sign_user_cert(self.ca, public_key, user.name, serial, valid_time, int(time.time()))
        self.counters.inc("events", "certs_issued")
        return text_response(f"{cert}\n")

    def _get_user(self, request: Request) -> Response:
        caller = self._authenticate(request)
        require_domain(request.query)
        user = self._own_user(caller, require_string(request.query, "name"))
        return json_response(user_record(user))

    def _patch_user(self, request: Request) -> Response:
        caller = self._authenticate(request)
        body = request.json_object()
        require_domain(body)
        user = self._own_user(caller, require_string(body, "name"))
        changes = validate_user_changes(body)
        self._pass_two_factor(user, "patch_user")
        with self._lock:
            updated = apply_user_changes(self.users[user.name], changes)
            self.users[user.name] = updated
        self.counters.inc("events", "users_patched")
        return json_response(user_record(updated))

    def _get_quota(self, request: Request) -> Response:
        query = request.query
        if "domain" in query:
            require_domain(query)
        quota_type = query.get("quota_type")
        if quota_type not in QUOTA_LIMITS:
            raise HttpError(400, "quota_type must be account or user")
        name = require_string(query, "name")
        known = {u.account for u in self.users.values()} if quota_type == "account" else self.users
        if name not in known:
            raise HttpError(404, f"{quota_type} {name} not found")
        return json_response(quota_report(quota_type, name))

    # -- control endpoints -----------------------------------------------------------------

    def _control_approve_all(self, request: Request) -> Response:
        return json_response({"approved": self.approve_all_2fa()})

    def _control_decide(self, request: Request) -> Response:
        request_id, action = request.params["id"], request.params["action"]
        decision = APPROVED if action == "approve" else DENIED
        if not self.twofa.decide(request_id, decision):
            raise HttpError(404, f"no pending 2FA request {request_id}")
        return json_response({"id": request_id, "decision": decision})

    def _control_config(self, request: Request) -> Response:
        body = request.json_object()
        unknown = set(body) - {"approve_after", "twofa_timeout", "error_style"}
        if unknown:
            raise HttpError(400, f"unknown settings: {', '.join(sorted(unknown))}")
        try:
            return json_response(self.configure(**body))
        except ValueError as exc:
            raise HttpError(400, str(exc)) from exc

    def _control_expire_tokens(self, request: Request) -> Response:
        return json_response({"expired": self.expire_tokens()})


# -- CLI -------------------------------------------------------------------------------------


def parse_approve_after(text: str) -> float | None:
    """``manual`` or a negative number means never auto-approve (None)."""
    if text.strip().lower() == "manual":
        return None
    try:
        seconds = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected seconds or 'manual'") from exc
    return None if seconds < 0 else seconds


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m hpcskills.sim sjtu``."""
    parser = argparse.ArgumentParser(
        prog="python -m hpcskills.sim sjtu",
        description="Serve a local SJTU HPC API simulator on 127.0.0.1 (fake credentials only).",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--approve-after",
        type=parse_approve_after,
        default=DEFAULT_APPROVE_AFTER,
        help="auto-approve 2FA after SECONDS; -1 or 'manual' waits for the control API",
    )
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD")
    parser.add_argument("--unbound-user", action="append", default=[], metavar="NAME:PASSWORD")
    parser.add_argument("--state-dir", type=Path, help="keeps the CA key (sjtu-ca, sjtu-ca.pub)")
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL)
    parser.add_argument("--twofa-timeout", type=float, default=DEFAULT_TWOFA_TIMEOUT)
    parser.add_argument("--max-valid-time", type=int, default=DEFAULT_MAX_VALID_TIME)
    parser.add_argument(
        "--error-style", choices=ERROR_STYLES, default="en", help="language/format of error bodies"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; stdout: base URL line, then a JSON line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        users = [parse_user_spec(spec) for spec in args.user]
        users += [parse_user_spec(spec, bound=False) for spec in args.unbound_user]
        simulator = SjtuSimulator(
            users or None,
            port=args.port,
            approve_after=args.approve_after,
            twofa_timeout=args.twofa_timeout,
            token_ttl=args.token_ttl,
            max_valid_time=args.max_valid_time,
            state_dir=args.state_dir,
            error_style=args.error_style,
        )
    except ValueError as exc:
        parser.error(str(exc))

    def announce(base_url: str) -> None:
        info = {"ca_public_key": str(simulator.ca_public_key_path), "users": list(simulator.users)}
        print(base_url, flush=True)
        print(json.dumps(info), flush=True)

    simulator.run_until_signal(announce)
    return 0
