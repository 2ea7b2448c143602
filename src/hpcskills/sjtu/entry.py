"""Which entry node serves a partition, a storage path or a node group (pure functions)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.site import BUSINESSES, EntryNode, Pool, SiteProfile


@dataclass(frozen=True)
class EntryChoice:
    """The chosen entry node and why."""

    name: str
    host: str
    port: int
    node_group: str
    business: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _choice(node: EntryNode, node_group: str, reason: str) -> EntryChoice:
    return EntryChoice(node.name, node.host, node.port, node_group, node.business, reason)


def _group_for_pool(site: SiteProfile, pool: Pool) -> str:
    for name in pool.visible_from:
        if name in site.node_groups:
            return name
    raise BadInput(f"no node group sees storage pool {pool.name}", type="no_entry_node")


def select_entry_node(
    site: SiteProfile,
    *,
    partition: str | None = None,
    storage: str | None = None,
    node_group: str | None = None,
    business: str = "job",
) -> EntryChoice:
    """The entry node for exactly one of partition / storage path / node group."""
    given = [v for v in (partition, storage, node_group) if v]
    if len(given) != 1:
        raise BadInput(
            "give exactly one of --partition, --storage or --node-group", type="usage_error"
        )
    if business not in BUSINESSES:
        raise BadInput(f"unknown business {business!r}", hint="job or data")
    if partition:
        found = site.partition(partition)
        group = found.node_group
        why = f"partition {found.name} belongs to node group {group}"
        if found.name != partition:
            why = f"{partition} is {found.name}; " + why
    elif storage:
        pool = site.pool_of(storage)
        group = _group_for_pool(site, pool)
        why = f"{storage} is on {pool.name} ({pool.mount}), seen from {group}"
    else:
        assert node_group is not None
        group, why = site.node_group(node_group).name, f"node group {node_group}"
    nodes = site.entry_nodes_of(group, business)
    if not nodes:
        raise BadInput(f"no {business} entry node for node group {group}", type="no_entry_node")
    return _choice(nodes[0], group, f"{why}; {business} work goes through {nodes[0].name}")


def named_entry_node(site: SiteProfile, name: str, reason: str) -> EntryChoice:
    """The entry node called `name` (its first node group stands for the group)."""
    node = site.entry_node(name)
    return _choice(node, node.node_groups[0], reason)
