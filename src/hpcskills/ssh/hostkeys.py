"""Host keys pinned in `credentials/known_hosts`: trust on first contact, refuse changes."""

from __future__ import annotations

import re
from pathlib import Path

from hpcskills.core.credstore import atomic_write
from hpcskills.core.errors import RemoteError
from hpcskills.ssh.base import Endpoint
from hpcskills.ssh.certs import fingerprint

_OFFERED = re.compile(r"(SHA256:[A-Za-z0-9+/=]{20,})")


def pinned_keys(known_hosts: Path, endpoint: Endpoint) -> list[str]:
    """The `type base64` keys pinned for this endpoint (plain host names only)."""
    try:
        lines = known_hosts.read_text().splitlines()
    except FileNotFoundError:
        return []
    keys = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3 and endpoint.known_hosts_name in fields[0].split(","):
            keys.append(f"{fields[1]} {fields[2]}")
    return keys


def pin(known_hosts: Path, endpoint: Endpoint, key_line: str) -> str:
    """Record the host key (0600, atomically) and return its fingerprint."""
    existing = known_hosts.read_text() if known_hosts.exists() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    atomic_write(known_hosts, f"{existing}{endpoint.known_hosts_name} {key_line}\n".encode())
    return fingerprint(key_line)


def changed_key_error(endpoint: Endpoint, known_hosts: Path, detail: str = "") -> RemoteError:
    """The refusal when a host presents another key than the pinned one."""
    offered = _OFFERED.search(detail)
    return RemoteError(
        f"the host key of {endpoint.label} ({endpoint.known_hosts_name}) has CHANGED since it "
        "was pinned; refusing to connect (this can be an attack)",
        type="host_key_changed",
        hint=f"tell the user. Only if the site confirms a new key with fingerprint "
        f"{offered.group(1) if offered else '(see the site)'}, remove the "
        f"{endpoint.known_hosts_name} line from {known_hosts}",
        retryable=False,
        offered_fingerprint=offered.group(1) if offered else None,
    )
