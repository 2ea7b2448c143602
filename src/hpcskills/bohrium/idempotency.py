"""What makes two Bohrium submissions the same, and finding a submitted job by its tag.

`v2/job/add` is not idempotent, and an answer lost after the platform accepted a job must not
lead to a second job. The key (`hpcskills.ledger.keys`, derived from this fingerprint or
given) is recorded in the ledger before anything is sent, and its tag ends the job name; the
most recent jobs are listed to find a job carrying the tag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from hpcskills.bohrium.packing import Inventory
from hpcskills.bohrium.spec import JobSpec
from hpcskills.bohrium.states import FAILING, job_state
from hpcskills.ledger import keys

LOOKUP_PAGES = 5  # the 500 most recent jobs
UPLOADING = 8  # created, input not yet submitted: not a submitted job
ENDED_BADLY = FAILING | {"CANCELLED"}


def fingerprint(spec: JobSpec, inventory: Inventory, extra: Mapping[str, bytes]) -> bytes:
    """The spec and every input file (name, size, mtime) and generated file, as bytes."""
    parts = [json.dumps(spec.to_job_json(), sort_keys=True).encode()]
    for item in inventory.files:
        if item.arcname in extra:
            continue  # generated, counted below (bohr's rerun finds it in the input)
        parts.append(f"\n{item.arcname}\0{item.size}\0{item.mtime_ns}".encode())
    for name in sorted(extra):
        parts.append(f"\n+{name}\0".encode() + extra[name])
    return b"".join(parts)


def derive_key(spec: JobSpec, inventory: Inventory, extra: Mapping[str, bytes]) -> str:
    """The key of a submission: changes when the spec or any input file changes."""
    return keys.derive_key("bohrium", fingerprint(spec, inventory, extra))


def released_key(spec: JobSpec, inventory: Inventory, extra: Mapping[str, bytes]) -> str:
    """The key 0.1.0 derived for the same submission (looked up as an alias)."""
    return keys.released_bohrium_key(fingerprint(spec, inventory, extra))


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
