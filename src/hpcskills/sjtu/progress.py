"""Time stamps and progress lines of the data scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

from hpcskills.sjtu.storage import human_bytes
from hpcskills.ssh import transfer as xfer

Report = Callable[[str], None]


def now_iso(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def progress_reporter(report: Report, label: str, total: int) -> xfer.Progress:
    """A progress callback that reports on stderr at most every 2 seconds."""
    last = [time.monotonic()]

    def tick(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2:
            last[0] = now
            share = f" ({100 * done // total}%)" if total else ""
            report(f"{label}: {human_bytes(done)} of {human_bytes(total)}{share}")

    return tick
