"""A connection to the right entry node for the work at hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.entry import EntryChoice, select_entry_node
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.users import resolve_user
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote

DEFAULT_NODE_GROUP = "pi"


@dataclass
class ClusterSession:
    """The chosen entry node, the user, and the open connection to it."""

    choice: EntryChoice
    user: str
    remote: Remote
    site: SiteProfile

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


def open_session(
    workspace: Workspace,
    site: SiteProfile,
    *,
    partition: str | None = None,
    node_group: str | None = None,
    storage: str | None = None,
    business: str = "job",
    user: str | None = None,
    backend: str | None = None,
    report: Callable[[str], None] = lambda _line: None,
) -> ClusterSession:
    """Select the entry node (default node group: pi) and open its shared connection."""
    if not (partition or node_group or storage):
        node_group = DEFAULT_NODE_GROUP
    choice = select_entry_node(
        site, partition=partition, node_group=node_group, storage=storage, business=business
    )
    name = resolve_user(workspace, user)
    endpoint = Endpoint(choice.host, choice.port, name, choice.name)
    remote = open_remote(workspace, endpoint, backend=backend, report=report)
    return ClusterSession(choice, name, remote, site)
