"""Usage reports from accounting: core-hours and GPU-hours per partition and per node group
since a date, from ONE sacct exec on the node group's login node."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hpcskills.core.errors import NotFound
from hpcskills.sjtu.jobs import sacct_since
from hpcskills.sjtu.session import ClusterSession
from hpcskills.sjtu.site import SiteProfile
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.parse import AccountingRecord
from hpcskills.slurm.units import parse_int

NOTE = (
    "core-hours = allocated CPUs × elapsed time, GPU-hours = allocated GPUs × elapsed time, "
    "per allocation (array tasks count one by one); jobs still running count so far, jobs "
    "that started before --since count whole"
)


@dataclass
class Usage:
    """Totals of one group of allocations."""

    jobs: int = 0
    core_seconds: int = 0
    gpu_seconds: int = 0

    def add(self, record: AccountingRecord) -> None:
        elapsed = record.elapsed_seconds or 0
        self.jobs += 1
        self.core_seconds += (record.cpus or 0) * elapsed
        self.gpu_seconds += gpus_of(record) * elapsed

    def row(self, **keys: Any) -> dict[str, Any]:
        return {
            **keys,
            "jobs": self.jobs,
            "core_hours": round(self.core_seconds / 3600, 4),
            "gpu_hours": round(self.gpu_seconds / 3600, 4),
        }


def gpus_of(record: AccountingRecord) -> int:
    """The GPUs an allocation holds (AllocTRES `gres/gpu`, 0 when none)."""
    return parse_int(record.alloc_tres.get("gres/gpu", "0")) or 0


def node_group_of(site: SiteProfile, partition: str) -> str | None:
    """The node group of a partition by its name or alias; None when the profile does not
    know it."""
    known = site.partitions.get(site.partition_aliases.get(partition, partition))
    return known.node_group if known else None


def summarize_usage(site: SiteProfile, records: Iterable[AccountingRecord]) -> dict[str, Any]:
    """Totals, per partition and per node group (pure)."""
    total = Usage()
    partitions: dict[str, Usage] = {}
    groups: dict[str | None, Usage] = {}
    for record in records:
        name = record.partition or "?"
        total.add(record)
        partitions.setdefault(name, Usage()).add(record)
        groups.setdefault(node_group_of(site, name), Usage()).add(record)
    return {
        "totals": total.row(),
        "by_partition": [
            usage.row(partition=name, node_group=node_group_of(site, name))
            for name, usage in sorted(partitions.items())
        ],
        "by_node_group": [
            usage.row(node_group=group)
            for group, usage in sorted(groups.items(), key=lambda item: str(item[0]))
        ],
    }


def usage_report(session: ClusterSession, since: str, *, all_users: bool = False) -> dict[str, Any]:
    """The user's (or everyone's) core- and GPU-hours since `since` on the session's node
    group; NotFound when the cluster keeps no accounting."""
    start = sacct_since(since)
    user = None if all_users else session.user
    accounting = SlurmClient.over(session.remote).accounting(user=user, since=start)
    if not accounting.available:
        raise NotFound(
            f"{accounting.note}: no usage can be reported",
            hint="ask the site's support for an account statement",
        )
    return {
        **session.describe(),
        "user": user,
        "since": start,
        **summarize_usage(session.site, accounting.records),
        "note": NOTE,
    }
