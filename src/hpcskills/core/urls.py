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


def check_base_url(url: str) -> str:
    """Accept https anywhere and plain http only on loopback (the simulators)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url.rstrip("/")
    raise BadInput(
        f"refusing API base URL {url!r}: use https (plain http is only allowed on loopback)",
        type="insecure_url",
    )
