"""Which entry node serves a partition, a storage path or a node group (pure functions)."""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import asdict, dataclass
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.site import SiteProfile

BUSINESSES = ("job", "data")


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


def canonical_partition(site: SiteProfile, name: str) -> str:
    """The partition's canonical name (aliases like debug100 → debuga100); BadInput with the
    closest names when unknown."""
    partitions = site.data.get("partitions", {})
    aliases = site.data.get("partition_aliases", {})
    name = aliases.get(name, name)
    if name in partitions:
        return name
    close = difflib.get_close_matches(name, [*partitions, *aliases], n=3, cutoff=0.5)
    raise BadInput(
        f"unknown partition {name!r}",
        type="unknown_partition",
        hint=("did you mean: " + ", ".join(close) + "? " if close else "")
        + "known partitions: "
        + ", ".join(sorted(partitions)),
        closest=close,
    )


def pool_of_path(site: SiteProfile, path: str) -> str:
    """The storage pool whose mount holds `path`; BadInput when none does."""
    normalized = posixpath.normpath(path)
    for name, pool in site.data.get("storage", {}).items():
        mount = pool["mount"].rstrip("/")
        if normalized == mount or normalized.startswith(mount + "/"):
            return name
    mounts = ", ".join(p["mount"] for p in site.data.get("storage", {}).values())
    raise BadInput(
        f"{path} is on no known storage pool",
        type="unknown_storage",
        hint=f"paths start with one of: {mounts}",
    )


def _group_for_pool(site: SiteProfile, pool: str) -> str:
    groups = site.data.get("node_groups", {})
    for group in site.data["storage"][pool].get("visible_from", []):
        if group in groups:
            return group
    raise BadInput(f"no node group sees storage pool {pool}")


def _entry_for(site: SiteProfile, node_group: str, business: str) -> tuple[str, dict[str, Any]]:
    for name, node in site.data.get("entry_nodes", {}).items():
        if node.get("business") == business and node_group in node.get("node_groups", []):
            return name, node
    raise BadInput(f"no {business} entry node for node group {node_group}", type="no_entry_node")


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
        canonical = canonical_partition(site, partition)
        group = site.data["partitions"][canonical]["node_group"]
        why = f"partition {canonical} belongs to node group {group}"
        if canonical != partition:
            why = f"{partition} is {canonical}; " + why
    elif storage:
        pool = pool_of_path(site, storage)
        group = _group_for_pool(site, pool)
        why = f"{storage} is on {pool} ({site.data['storage'][pool]['mount']}), seen from {group}"
    else:
        assert node_group is not None
        if node_group not in site.data.get("node_groups", {}):
            raise BadInput(
                f"unknown node group {node_group!r}",
                hint="one of: " + ", ".join(site.data.get("node_groups", {})),
            )
        group, why = node_group, f"node group {node_group}"
    name, node = _entry_for(site, group, business)
    return EntryChoice(
        name=name,
        host=str(node["host"]),
        port=int(node.get("port", 22)),
        node_group=group,
        business=business,
        reason=f"{why}; {business} work goes through {name}",
    )
