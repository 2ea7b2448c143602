"""Idempotency keys and the tags that carry them on the platform (pure).

A key is derived from everything that defines a submission (or given by the caller); its
tag — `-hs` + 12 hex characters of the key's SHA-256 — is appended to the job name, so a
job whose submission answer was lost can be found again by name. Same scheme as the
Bohrium submit path (`hpcskills.bohrium.idempotency`).
"""

from __future__ import annotations

import hashlib
import re

from hpcskills.core.errors import BadInput

TAG_PREFIX = "-hs"
TAG_LENGTH = 12
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{4,64}$")


def derive_key(*parts: str | bytes) -> str:
    """A key that changes whenever any part changes (parts are length-prefixed)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(f"{len(data)}:".encode() + data)
    return digest.hexdigest()[:32]


def check_key(key: str) -> str:
    """A caller-given key, validated (BadInput otherwise)."""
    if not _KEY.match(key):
        raise BadInput(
            "--idempotency-key must be 4-64 letters, digits, '.', ':', '_' or '-'",
            type="bad_key",
        )
    return key


def tag_of(key: str) -> str:
    """The suffix that marks a job name with the key: `-hs` + 12 hex characters."""
    return TAG_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:TAG_LENGTH]


def tagged_name(name: str, key: str, max_length: int = 128) -> str:
    """`name` ending with the key's tag (the name is shortened to make room if needed)."""
    tag = tag_of(key)
    base = name[: max(1, max_length - len(tag))]
    return name if name.endswith(tag) else f"{base}{tag}"
