"""Bringing a job's remote files to this machine without replacing any local file: files
absent here are fetched (one tar stream), identical ones (size and mtime) are left, and a
local file that differs is kept and reported, never overwritten."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hpcskills.ssh import transfer as xfer
from hpcskills.ssh.base import Remote

CHANGED = xfer.FileState(-1, -1)  # a local non-file (link, directory): never written through


@dataclass
class FetchedFiles:
    """Names (relative to both roots) fetched now, already the same here, and kept."""

    fetched: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_overwritten: list[str] = field(default_factory=list)


def local_states(base: Path, names: list[str]) -> xfer.Listing:
    """Size and mtime of the local files of these names that exist (anything else that
    exists under such a name counts as a different file)."""
    present: xfer.Listing = {}
    for name in names:
        path = base / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            present[name] = CHANGED
        elif path.is_file():
            present[name] = xfer.FileState(path.stat().st_size, int(path.stat().st_mtime))
    return present


def fetch_new(remote: Remote, remote_dir: str, base: Path, wanted: xfer.Listing) -> FetchedFiles:
    """Fetch the files of `wanted` (relative to `remote_dir`) that `base` lacks."""
    plan = xfer.plan_copy(wanted, local_states(base, sorted(wanted)))
    xfer.download_tree(remote, remote_dir, base, plan.send)
    return FetchedFiles(plan.send, plan.same, plan.replace)


def kept_note(base: Path, kept: list[str], hint: str) -> dict[str, object]:
    """What a result says about local files left as they were (nothing when none)."""
    if not kept:
        return {}
    return {"not_overwritten": [str(base / name) for name in kept], "hint": hint}
