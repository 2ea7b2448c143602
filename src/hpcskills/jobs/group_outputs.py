"""Files of a job sent as part of a group (a DPDispatcher submission): the group records its
local base and remote directory, the job's record its backward patterns. Kept here, below
`dpdispatcher/`, so the cross-platform views fetch them without importing that package."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpcskills.jobs.local_files import FetchedFiles, fetch_new, kept_note
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.ssh import transfer as xfer
from hpcskills.ssh.base import Remote

# $1 root, then glob patterns relative to it → "files\0" + NUL-separated (path, size, mtime)
# of the regular files they match, directories expanded
GLOB_SCRIPT = r"""
cd -- "$1" || exit 3; shift; printf 'files\0'
for pattern; do for f in $pattern; do
  case $f in -*) f=./$f;; esac
  [ -e "$f" ] && find "$f" -type f -printf '%p\0%s\0%T@\0'
done; done; exit 0
"""
KEPT_HINT = (
    "these local files differ from the job's and were kept; move them away and fetch again "
    "to get the job's version"
)


def download_files(
    remote: Remote, remote_dir: str, base: Path, patterns: Sequence[str]
) -> FetchedFiles:
    """Existing files matching `patterns` (relative to the remote root; directories bring
    their files) → same paths under `base`, in one tar stream; a local file is never
    replaced."""
    if not patterns:
        return FetchedFiles()
    listing = remote.run(["sh", "-c", GLOB_SCRIPT, "sh", remote_dir, *patterns])
    _kind, found = xfer.parse_entries(listing.check("listing backward files").stdout)
    wanted = {posixpath.normpath(name): state for name, state in found.items()}
    return fetch_new(remote, remote_dir, base, wanted)


def download_group_job(remote: Remote, ledger: Ledger, record: Submission) -> dict[str, Any]:
    """Backward files of a grouped job's finished tasks (watch_jobs.py --fetch-outputs)."""
    group = ledger.group(str(record.group_key)) or {"details": {}}
    details = group["details"]
    base, remote_dir = Path(details["local_base"]), details["remote_dir"]
    patterns = record.details.get("backward", [])
    got = download_files(remote, remote_dir, base, patterns)
    return {
        "job_id": record.job_id,
        "directory": str(base),
        "fetched": got.fetched,
        "unchanged": got.unchanged,
        **kept_note(base, got.not_overwritten, KEPT_HINT),
    }
