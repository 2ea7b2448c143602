"""How the data scripts reach the site: the workspace, the site profile, a shared
connection per entry node, and progress reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.storage import human_bytes
from hpcskills.sjtu.users import resolve_user
from hpcskills.ssh import transfer as xfer
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote

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


@dataclass(frozen=True)
class Access:
    """What every operation needs: the workspace, the site profile, and how to connect."""

    workspace: Workspace
    site: SiteProfile
    report: Report = lambda _line: None
    backend: str | None = None

    def open(self, node: str) -> Remote:
        """The shared connection to an entry node of the profile, as the remembered user."""
        entry = self.site.entry_node(node)
        user = resolve_user(self.workspace, None)
        endpoint = Endpoint(entry.host, entry.port, user, name=node)
        return open_remote(self.workspace, endpoint, backend=self.backend, report=self.report)
