"""Which API base URLs the pack accepts (pure; no HTTP library needed to decide)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from hpcskills.core.errors import BadInput


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    """`url` with any `user:password@` removed, for messages (pure)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def check_base_url(url: str) -> str:
    """Accept https anywhere and plain http only on loopback (the simulators).

    A URL carrying a user name or password is refused: credentials come from the credentials
    dir or the environment, and a URL is shown in messages (only without its userinfo).
    """
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise BadInput(
            f"refusing API base URL {without_userinfo(url)!r} given with a user name or "
            "password in it",
            type="url_credentials",
            hint="pass the URL without user:password@; the token comes from the credentials "
            "dir or the environment",
        )
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url.rstrip("/")
    raise BadInput(
        f"refusing API base URL {without_userinfo(url)!r}: use https (plain http is only "
        "allowed on loopback)",
        type="insecure_url",
    )
