"""Files of a job sent as part of a group (a DPDispatcher submission): the group records its
local base and remote directory, the job's record its backward patterns. Kept here, below
`dpdispatcher/`, so the cross-platform views fetch them without importing that package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.ssh.base import Remote
from hpcskills.ssh.transfer import download_tree

# $1 root, then glob patterns relative to it → NUL-separated existing files
GLOB_SCRIPT = r"""
cd -- "$1" || exit 3; shift
for pattern; do for f in $pattern; do [ -f "$f" ] && printf '%s\0' "$f"; done; done; exit 0
"""


def download_files(
    remote: Remote, remote_dir: str, base: Path, patterns: Sequence[str]
) -> list[str]:
    """Existing files matching `patterns` (relative to the remote root) → same paths under
    `base`, in one tar stream; the names fetched."""
    if not patterns:
        return []
    listing = remote.run(["sh", "-c", GLOB_SCRIPT, "sh", remote_dir, *patterns])
    listing.check("listing backward files")
    names = sorted({n for n in listing.stdout.split("\0") if n})
    download_tree(remote, remote_dir, base, names)
    return names


def download_group_job(remote: Remote, ledger: Ledger, record: Submission) -> dict[str, Any]:
    """Backward files of a grouped job's finished tasks (watch_jobs.py --fetch-outputs)."""
    group = ledger.group(str(record.group_key)) or {"details": {}}
    details = group["details"]
    base, remote_dir = Path(details["local_base"]), details["remote_dir"]
    patterns = record.details.get("backward", [])
    fetched = download_files(remote, remote_dir, base, patterns)
    return {"job_id": record.job_id, "directory": str(base), "fetched": fetched}
