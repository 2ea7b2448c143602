"""Fetching a finished job's declared outputs to this machine.

Slurm jobs submitted through the pack declare their stdout/stderr files (the `#SBATCH
--output/--error` patterns, else `slurm-%j.out`, relative to the submit dir); DPDispatcher
jobs declare their tasks' backward files. Files travel as one tar stream per directory.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.jobs.bohrium_results import download_bohrium
from hpcskills.jobs.group_outputs import download_group_job
from hpcskills.jobs.poll import Poller
from hpcskills.jobs.slurm_outputs import output_paths
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.ssh.base import Remote
from hpcskills.ssh.transfer import download_tree

EXISTING_SCRIPT = 'for f; do [ -f "$f" ] && printf "%s\\0" "$f"; done; exit 0'


def fetch_declared(remote: Remote, record: Submission, destination: Path) -> dict[str, Any]:
    """Download the record's existing declared outputs into `destination`."""
    wanted = output_paths(record)
    if not wanted:
        return {"job_id": record.job_id, "fetched": [], "note": "the job declares no outputs"}
    result = remote.run(["sh", "-c", EXISTING_SCRIPT, "sh", *wanted])
    present = [p for p in result.stdout.split("\0") if p]
    by_dir: dict[str, list[str]] = defaultdict(list)
    for path in present:
        by_dir[posixpath.dirname(path)].append(posixpath.basename(path))
    for directory, names in by_dir.items():
        download_tree(remote, directory, destination, names)
    return {
        "job_id": record.job_id,
        "directory": str(destination),
        "fetched": sorted(posixpath.basename(p) for p in present),
        "absent": sorted(set(wanted) - set(present)),
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
