"""Idempotency keys and the tags that carry them on the platform (pure), for every platform.

A key is derived from everything that defines a submission (or given by the caller); its
tag — `-hs` + 12 hex characters of the key's SHA-256 — ends the job name, so a job whose
submission answer was lost can be found again by name. One set of rules for Slurm, Bohrium
and DPDispatcher:

- a derived key is 32 hex characters: SHA-256 over the length-prefixed parts, cut to 128 bits
  (ample against collisions, and what 0.1.0's Slurm and DPDispatcher ledgers hold);
- a caller's key is 4-64 letters, digits, '.', ':', '_' or '-' (the wider of 0.1.0's two
  rules, so every key a 0.1.0 user could pass is still accepted);
- a job name is cut to make room for the tag, to 128 characters at most: the tag must survive
  whatever the platform does with a long name, or a lost job could not be found again.

0.1.0's Bohrium path derived a different key (`released_bohrium_key`); ledgers and job names
written by it carry that one, so it is looked up as an alias of today's key.
"""

from __future__ import annotations

import hashlib
import re

from hpcskills.core.errors import BadInput

TAG_PREFIX = "-hs"
TAG_LENGTH = 12
KEY_HEX = 32
MAX_NAME = 128
_KEY = re.compile(r"^[A-Za-z0-9_.:-]{4,64}$")


def derive_key(*parts: str | bytes) -> str:
    """A key that changes whenever any part changes (parts are length-prefixed)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(f"{len(data)}:".encode() + data)
    return digest.hexdigest()[:KEY_HEX]


def released_bohrium_key(fingerprint: bytes) -> str:
    """The key 0.1.0 derived for a Bohrium submission: the whole SHA-256 (64 hex) of its
    fingerprint, unprefixed. Kept only to find what 0.1.0 recorded and sent."""
    return hashlib.sha256(fingerprint).hexdigest()


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


def tagged_name(name: str, key: str, max_length: int = MAX_NAME) -> str:
    """`name` ending with the key's tag (the name is shortened to make room if needed)."""
    tag = tag_of(key)
    base = name[: max(1, max_length - len(tag))]
    return name if name.endswith(tag) else f"{base}{tag}"
