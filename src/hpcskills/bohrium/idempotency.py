"""Submission idempotency: a key carried in the job name, found again by listing jobs.

`v2/job/add` is not idempotent, and an answer lost after the platform accepted a job must not
lead to a second job. The key (derived from the spec and the input files, or given) is
appended to the job name as `-hs<12 hex>`; before creating a job, and after an ambiguous
failure, the most recent jobs are listed and a job carrying the tag is the job.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from hpcskills.bohrium.packing import Inventory
from hpcskills.bohrium.spec import JobSpec
from hpcskills.bohrium.states import FAILING, job_state
from hpcskills.core.errors import BadInput

TAG_PREFIX = "-hs"
TAG_LENGTH = 12
LOOKUP_PAGES = 5  # the 500 most recent jobs
UPLOADING = 8  # created, input not yet submitted: not a submitted job
ENDED_BADLY = FAILING | {"CANCELLED"}
_KEY = re.compile(r"^[A-Za-z0-9_.-]{4,64}$")


def derive_key(spec: JobSpec, inventory: Inventory, extra: Mapping[str, bytes]) -> str:
    """A key that changes when the spec or any input file (name, size, mtime) changes."""
    digest = hashlib.sha256()
    digest.update(json.dumps(spec.to_job_json(), sort_keys=True).encode())
    for item in inventory.files:
        if item.arcname in extra:
            continue  # generated, counted below (bohr's rerun finds it in the input)
        digest.update(f"\n{item.arcname}\0{item.size}\0{item.mtime_ns}".encode())
    for name in sorted(extra):
        digest.update(f"\n+{name}\0".encode() + extra[name])
    return digest.hexdigest()


def check_key(key: str) -> str:
    """A caller-given key, validated."""
    if not _KEY.match(key):
        raise BadInput(
            "--idempotency-key must be 4-64 letters, digits, '.', '_' or '-'", type="bad_key"
        )
    return key


def tag_of(key: str) -> str:
    """The suffix put on the job name: `-hs` + 12 hex characters of the key's hash."""
    return TAG_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:TAG_LENGTH]


def tagged_name(name: str, key: str) -> str:
    """The job name carrying the key's tag (once)."""
    tag = tag_of(key)
    return name if name.endswith(tag) else f"{name}{tag}"


def find_tagged(jobs: Iterable[dict[str, Any]], tag: str) -> dict[str, Any] | None:
    """The newest job carrying `tag` that counts as this submission: queued, running or
    completed. Jobs still uploading were never submitted; a failed, killed or cancelled one
    may be run again under the same key."""
    for job in jobs:
        name = str(job.get("jobName") or job.get("name") or "")
        if not name.endswith(tag) or job.get("status") == UPLOADING:
            continue
        if job_state(job).state not in ENDED_BADLY:
            return job
    return None
