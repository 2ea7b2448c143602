"""The output files a Slurm job declares (its `#SBATCH --output/--error` patterns, else
`slurm-%j.out` in the submit dir), as remote paths (pure)."""

from __future__ import annotations

import posixpath
import re

from hpcskills.ledger.records import Submission

_OUTPUT = re.compile(r"^#SBATCH\s+(?:-o\s*|--output[=\s]+)(\S+)", re.M)
_ERROR = re.compile(r"^#SBATCH\s+(?:-e\s*|--error[=\s]+)(\S+)", re.M)
DEFAULT_OUTPUT = "slurm-%j.out"


def declared_outputs(script: str) -> list[str]:
    """The stdout/stderr file patterns a batch script declares (pure)."""
    found = [m[1].strip("'\"") for m in (_OUTPUT.search(script), _ERROR.search(script)) if m]
    return found or [DEFAULT_OUTPUT]


def expand_pattern(pattern: str, job_id: str, name: str, user: str) -> str:
    """A Slurm file-name pattern with %j, %x, %u and %% filled in (others left as they are)."""
    values = {"j": job_id, "x": name, "u": user, "%": "%"}
    return re.sub(r"%([jxu%])", lambda m: values[m[1]], pattern)


def output_paths(record: Submission) -> list[str]:
    """Absolute remote paths of a Slurm record's declared outputs."""
    outputs = record.details.get("outputs") or {}
    base = outputs.get("remote_dir")
    if not base:
        return []
    paths = []
    for pattern in outputs.get("files", []):
        user = record.remote_user or ""
        name = expand_pattern(pattern, str(record.job_id), record.name or "", user)
        paths.append(posixpath.normpath(posixpath.join(base, name)))
    return paths
