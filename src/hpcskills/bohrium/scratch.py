"""Temporary input zips: one directory per submitting process, named with its pid, so a run
killed outright (no cleanup ran) leaves something the next submit can recognise and remove."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hpcskills.core.processes import process_alive

PREFIX = "hpcskills-bohrium-input-"
LEGACY_PREFIX = "bohrium-input-"  # 0.1.0: no pid in the name
LEGACY_AGE_SECONDS = 24 * 3600
_OWNED = re.compile(re.escape(PREFIX) + r"(\d+)-")


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory for this process's input zip (removed when the block exits)."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def orphans(
    root: Path, alive: Callable[[int], bool] = process_alive, now: float | None = None
) -> list[Path]:
    """Scratch directories under `root` whose process is gone (or 0.1.0 ones a day old)."""
    now = time.time() if now is None else now
    found = []
    for path in sorted(root.glob(f"{PREFIX}*")) + sorted(root.glob(f"{LEGACY_PREFIX}*")):
        if not path.is_dir() or path.is_symlink():
            continue
        owner = _OWNED.match(path.name)
        if owner:
            if int(owner.group(1)) != os.getpid() and not alive(int(owner.group(1))):
                found.append(path)
        elif now - path.stat().st_mtime > LEGACY_AGE_SECONDS:
            found.append(path)
    return found


def remove_orphans(root: Path | None = None) -> list[str]:
    """Remove the orphaned scratch directories of earlier runs; the paths removed."""
    removed = []
    for path in orphans(Path(root or tempfile.gettempdir())):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed
