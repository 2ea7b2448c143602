"""Fetching a finished job's declared outputs to this machine.

Slurm jobs submitted through the pack declare their stdout/stderr files (the `#SBATCH
--output/--error` patterns, else `slurm-%j.out`, relative to the submit dir); DPDispatcher
jobs declare their tasks' backward files. Files travel as one tar stream; a local file
that differs from the remote one is kept, never overwritten (jobs/local_files.py).
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.jobs.bohrium_results import download_bohrium
from hpcskills.jobs.group_outputs import download_group_job
from hpcskills.jobs.local_files import fetch_new, kept_note
from hpcskills.jobs.poll import Poller
from hpcskills.jobs.slurm_outputs import output_paths
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.ssh import transfer as xfer
from hpcskills.ssh.base import Remote

# paths → "files\0" + NUL-separated (path, size, mtime) of those that are regular files
EXISTING_SCRIPT = r"""printf 'files\0'
for f; do [ -f "$f" ] && find "$f" -maxdepth 0 -printf '%p\0%s\0%T@\0'; done; exit 0
"""
KEPT_HINT = (
    "these local files differ from the job's and were kept; fetch into another --output-dir "
    "(or move them away) to get the job's version"
)


def local_layout(paths: list[str]) -> tuple[str, dict[str, str]]:
    """The remote directory the outputs are fetched from and each path's name below it: the
    file name when all share one directory, else the path below their common directory, so
    same-named files of different directories stay apart (pure)."""
    root = posixpath.commonpath([posixpath.dirname(p) for p in paths])
    return root, {p: posixpath.relpath(p, root) for p in paths}


def fetch_declared(remote: Remote, record: Submission, destination: Path) -> dict[str, Any]:
    """Download the record's existing declared outputs into `destination`, never replacing
    a local file that differs."""
    wanted = output_paths(record)
    if not wanted:
        return {"job_id": record.job_id, "fetched": [], "note": "the job declares no outputs"}
    result = remote.run(["sh", "-c", EXISTING_SCRIPT, "sh", *wanted])
    _kind, present = xfer.parse_entries(result.check("listing the outputs").stdout)
    root, names = local_layout(wanted)
    got = fetch_new(remote, root, destination, {names[p]: s for p, s in present.items()})
    return {
        "job_id": record.job_id,
        "directory": str(destination),
        "fetched": got.fetched,
        "unchanged": got.unchanged,
        "absent": sorted(set(wanted) - set(present)),
        **kept_note(destination, got.not_overwritten, KEPT_HINT),
    }


def fetch_outputs(
    poller: Poller, ledger: Ledger, record: Submission, output_dir: Path
) -> dict[str, Any]:
    """Fetch an ended job's outputs the way its kind declares them; errors are reported."""
    try:
        if record.details.get("kind") == "dpdispatcher":
            return download_group_job(poller.remote(record), ledger, record)
        if record.platform == "bohrium":
            return download_bohrium(record, output_dir)
        destination = output_dir / f"{record.site}-{record.job_id}"
        return fetch_declared(poller.remote(record), record, destination)
    except HpcError as exc:
        return {"job_id": record.job_id, "fetched": [], "error": exc.to_dict()}
