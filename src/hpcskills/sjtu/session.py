"""How SJTU work reaches the site: `SiteAccess` holds what every operation needs (workspace,
profile, SSH backend, progress reports) and opens a `ClusterSession`, the one connection type:
the entry node, user and endpoint resolved once, and the shared connection to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.entry import EntryChoice, named_entry_node, select_entry_node
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.users import resolve_user
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote

DEFAULT_NODE_GROUP = "pi"
Report = Callable[[str], None]


def _quiet(_line: str) -> None:
    """The report of callers that want no progress lines."""


@dataclass
class ClusterSession:
    """The chosen entry node, the user, and the open connection to it."""

    access: SiteAccess
    choice: EntryChoice
    user: str
    remote: Remote

    @property
    def site(self) -> SiteProfile:
        return self.access.site

    @property
    def workspace(self) -> Workspace:
        return self.access.workspace

    def describe(self) -> dict[str, object]:
        """Where the work ran, for the JSON result."""
        described: dict[str, object] = {
            "entry_node": self.choice.name,
            "host": self.choice.host,
            "node_group": self.choice.node_group,
        }
        fingerprint = self.remote.first_contact_fingerprint
        if fingerprint:
            described["host_key_pinned"] = fingerprint
        return described

    def __enter__(self) -> ClusterSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.remote.close()


@dataclass(frozen=True)
class SiteAccess:
    """What every SJTU operation needs to reach the site; `open*` make the connection."""

    workspace: Workspace
    site: SiteProfile
    report: Report = _quiet
    backend: str | None = None

    def open(
        self,
        *,
        partition: str | None = None,
        node_group: str | None = None,
        storage: str | None = None,
        business: str = "job",
    ) -> ClusterSession:
        """A session on the entry node for the partition, node group or storage path
        (none given: node group pi)."""
        if not (partition or node_group or storage):
            node_group = DEFAULT_NODE_GROUP
        choice = select_entry_node(
            self.site,
            partition=partition,
            node_group=node_group,
            storage=storage,
            business=business,
        )
        return self._connect(choice)

    def open_node(self, name: str, reason: str) -> ClusterSession:
        """A session on the entry node called `name` (chosen by the caller for `reason`)."""
        return self._connect(named_entry_node(self.site, name, reason))

    def _connect(self, choice: EntryChoice) -> ClusterSession:
        user = resolve_user(self.workspace, None)
        endpoint = Endpoint(choice.host, choice.port, user, choice.name)
        remote = open_remote(self.workspace, endpoint, backend=self.backend, report=self.report)
        return ClusterSession(self, choice, user, remote)
