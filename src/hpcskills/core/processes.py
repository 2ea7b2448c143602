"""Whether a local process still runs: the one check behind every "is its owner gone?"."""

from __future__ import annotations

import contextlib
import os


def process_alive(pid: int) -> bool:
    """True while a process with this id exists and is not a zombie (an id we may not signal
    counts as alive: its files and claims are kept)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(") ")[-1][:1] != "Z"
    return True
