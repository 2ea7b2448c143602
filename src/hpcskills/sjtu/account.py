"""User information, storage quota and account changes through the HPC API."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

from hpcskills.core.confirm import require_confirmation, workspace_secret
from hpcskills.core.errors import BadInput
from hpcskills.core.progress import call_with_progress
from hpcskills.core.redact import MASK
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.api import HpcApi
from hpcskills.sjtu.certificates import TWOFA_NOTICE
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.tokens import usable_token

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL_LEN = 254  # RFC 5321: a path holds at most 256 octets, 254 of them the address
MAX_EMAIL_LOCAL_LEN = 64


def is_email(text: str) -> bool:
    """An address of mail's shape and sizes, without control characters (pure)."""
    return (
        len(text) <= MAX_EMAIL_LEN
        and len(text.partition("@")[0]) <= MAX_EMAIL_LOCAL_LEN
        and text.isprintable()
        and _EMAIL.fullmatch(text) is not None
    )


HOME_PLACEHOLDER = "%H"


def account_of(home: str) -> str | None:
    """The account is the parent directory of the home: `%H/home/acct-hpc/u` → `acct-hpc`."""
    parts = [p for p in home.strip().rstrip("/").split("/") if p]
    return parts[-2] if len(parts) >= 2 else None


def expand_home(home: str, root: str) -> str:
    """`%H/home/acct/u` where homes live under `root` → `root/home/acct/u`."""
    if not home.startswith(HOME_PLACEHOLDER):
        return home
    return root.rstrip("/") + home[len(HOME_PLACEHOLDER) :]


def homes_by_node_group(site: SiteProfile, home: str) -> dict[str, str]:
    """The home path as each node group sees it (pi/kp → /lustre, sy → /dssg)."""
    return {group: expand_home(home, site.home_root(group)) for group in site.node_groups}


def user_info(
    workspace: Workspace, site: SiteProfile, name: str, node_group: str | None = None
) -> dict[str, Any]:
    """`GET /user`, the account derived from the home path, and the home on each node
    group (`home`: the one of `node_group`, when given)."""
    if node_group is not None:
        site.home_root(node_group)  # bad input before any request
    user = HpcApi(site, usable_token(workspace, site)).get_user(name)
    raw_home = str(user.get("home", ""))
    homes = homes_by_node_group(site, raw_home)
    result = {"user": user, "account": account_of(raw_home), "homes": homes}
    if node_group is not None:
        result["home"] = homes[node_group]
    return result


def quota(
    workspace: Workspace,
    site: SiteProfile,
    name: str,
    quota_type: str,
    account: str | None = None,
) -> dict[str, Any]:
    """Quota of the user, of their account, or both. The account is `account` when given
    (no token needed), else derived from the user's home path via `GET /user`."""
    api = HpcApi(site)
    result: dict[str, Any] = {}
    if quota_type in ("user", "both"):
        result["user"] = {"name": name, "quota": api.get_quota("user", name)}
    if quota_type in ("account", "both"):
        account = account or user_info(workspace, site, name)["account"]
        if not account:
            raise BadInput(f"cannot derive the account of {name} from its home path")
        result["account"] = {"name": account, "quota": api.get_quota("account", account)}
    return result


def validate_changes(
    site: SiteProfile, changes: dict[str, str | None], password_change: bool
) -> dict[str, str]:
    """The requested account changes, checked; BadInput for anything invalid or absent."""
    given = {k: v for k, v in changes.items() if v is not None}
    if not given and not password_change:
        raise BadInput(
            "nothing to change",
            hint="pass --email, --jaccount, --contact-method or --new-password-stdin",
        )
    if "email" in given and not is_email(given["email"]):
        raise BadInput(
            f"invalid email address {given['email'][:80]!r}",
            type="invalid_email",
            hint=f"one address of at most {MAX_EMAIL_LEN} characters "
            f"({MAX_EMAIL_LOCAL_LEN} before the @), e.g. alice@example.org",
        )
    if "jAccount" in given and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", given["jAccount"]):
        raise BadInput(f"invalid jAccount {given['jAccount']!r}", type="invalid_jaccount")
    method = given.get("contactMethod")
    if method is not None and method not in site.contact_methods:
        raise BadInput(
            f"unknown contact method {method!r}",
            hint="one of: " + ", ".join(site.contact_methods),
        )
    return given


def _password_mac(workspace: Workspace, password: str) -> str:
    """A keyed hash of the new password (workspace secret): it binds the confirmation to
    that password and, unlike a plain hash, cannot be checked against guesses."""
    message = b"sjtu.update_user.new_password\n" + password.encode()
    return hmac.new(workspace_secret(workspace), message, hashlib.sha256).hexdigest()


def update_user(
    workspace: Workspace,
    site: SiteProfile,
    name: str,
    changes: dict[str, str],
    new_password: str | None,
    confirm_token: str | None,
    wait: float,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """Plan the change (exit 3), then on confirmation send it and wait for the user's 2FA.
    A new password is given to both calls; the confirmation fits only the same password."""
    shown = {**changes, **({"password": MASK} if new_password is not None else {})}
    plan = {
        "user": name,
        "changes": shown,
        "impact": "the HPC account is changed after the user approves two-factor "
        "authentication (JWB app or email)",
    }
    binding = plan
    if new_password is not None:
        binding = {**plan, "new_password_mac": _password_mac(workspace, new_password)}
    require_confirmation(workspace, "sjtu.update_user", plan, confirm_token, binding=binding)
    body = dict(changes)
    if new_password is not None:
        body["password"] = new_password
    api = HpcApi(site, usable_token(workspace, site))
    report(TWOFA_NOTICE)
    call_with_progress(lambda: api.patch_user(name, body, wait), report, TWOFA_NOTICE)
    return {"status": "updated", "user": name, "changed": sorted(shown)}
