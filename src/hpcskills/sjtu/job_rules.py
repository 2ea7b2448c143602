"""SJTU's rules for a job before it is sent (pure): the partition's own name and node group,
its limits, and no cold storage. Each rule is decided here and nowhere else."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.site import Partition, SiteProfile
from hpcskills.slurm.limits import check_limits
from hpcskills.slurm.runopts import RunOptions
from hpcskills.slurm.script import JobSpec


@dataclass(frozen=True)
class SiteCheck:
    """The spec as it will be submitted (partition canonicalized, GPUs added where the
    partition needs them), its node group, and what was changed or assumed."""

    spec: JobSpec
    node_group: str
    warnings: list[str]


def require_node_group(site: SiteProfile, partition: Partition, entry_node_group: str) -> None:
    """BadInput `wrong_node_group` unless the partition is in the entry node's node group
    (a login node's Slurm knows only its own group's partitions)."""
    group = partition.node_group
    if group != entry_node_group:
        logins = [node.name for node in site.entry_nodes_of(group, "job")]
        raise BadInput(
            f"partition {partition.name!r} belongs to node group {group!r}, "
            f"not {entry_node_group!r}",
            type="wrong_node_group",
            hint=f"submit from {' or '.join(logins) or group}",
        )


def _mount_word(mount: str) -> re.Pattern[str]:
    """The mount as a whole path word: not `/lustre/archive`, `~/archive`, `/archived`."""
    return re.compile(r"(?<![\w./~$-])(" + re.escape(mount) + r"(?:/[^\s'\";|&<>()`]*)?)(?![\w.-])")


def cold_paths(
    site: SiteProfile, *, paths: Iterable[str | None] = (), texts: Iterable[str] = ()
) -> list[str]:
    """Cold-storage paths among `paths` (work dir, output files) and inside `texts`
    (commands, env values, a whole script), each once, in the order found."""
    mounts = [pool.mount for pool in site.pools_of_kind("cold")]
    texts = list(texts)
    found = [
        path
        for path in paths
        if path and any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)
    ]
    for mount in mounts:
        pattern = _mount_word(mount)
        for text in texts:
            found.extend(match[1] for match in pattern.finditer(text))
    return list(dict.fromkeys(found))


def refuse_cold_storage(
    site: SiteProfile, *, paths: Iterable[str | None] = (), texts: Iterable[str] = ()
) -> None:
    """BadInput `cold_storage` when the job would use cold storage (jobs run on hot storage)."""
    found = cold_paths(site, paths=paths, texts=texts)
    if found:
        hot = [pool.mount for pool in site.pools_of_kind("hot")]
        raise BadInput(
            f"the job uses cold storage: {', '.join(found)}",
            type="cold_storage",
            hint="jobs must not run on cold storage; copy the data to hot storage"
            + (f" ({', '.join(hot)})" if hot else "")
            + " on a data node first (transfer.py) and point the job there",
            paths=found,
        )


def check_job(site: SiteProfile, spec: JobSpec, entry_node_group: str | None = None) -> SiteCheck:
    """Check `spec` against the site; BadInput for anything the site would reject or that
    would misbehave: unknown partition (with suggestions), a partition of another node
    group than the entry node's, nodes/time/GPUs above the partition's limits, GPUs on a
    partition without any, and paths on cold storage (jobs must run on hot storage)."""
    partition = site.partition(spec.partition)
    warnings = []
    if partition.name != spec.partition:
        warnings.append(
            f"partition {spec.partition!r} is spelled {partition.name!r} on this site; using it"
        )
        spec = replace(spec, partition=partition.name)
    if entry_node_group is not None:
        require_node_group(site, partition, entry_node_group)
    gpu_partitions = [
        p.name
        for p in site.partitions.values()
        if p.limits.has_gpus and p.node_group == partition.node_group
    ]
    limited = check_limits(spec, partition.limits, gpu_partitions)
    refuse_cold_storage(
        site,
        paths=(limited.spec.workdir, limited.spec.output, limited.spec.error),
        texts=(limited.spec.command, *limited.spec.env.values()),
    )
    return SiteCheck(limited.spec, partition.node_group, warnings + limited.warnings)


def check_run_options(site: SiteProfile, run: RunOptions) -> list[str]:
    """BadInput `over_array_limit` when an array index reaches the site's MaxArraySize;
    warnings for what is assumed (an unverified limit)."""
    limit = site.slurm.max_array_size
    if run.array is None or limit is None:
        return []
    if run.array.max_index >= limit:
        unverified = "" if site.slurm.max_array_size_verified else " (unverified: Slurm's default)"
        raise BadInput(
            f"array index {run.array.max_index} is not below the site's MaxArraySize "
            f"{limit}{unverified}",
            type="over_array_limit",
            hint=f"use indices 0-{limit - 1}, or split the work into several arrays",
        )
    if site.slurm.max_array_size_verified:
        return []
    return [f"array size limit {limit} is unverified for this site (Slurm's default)"]
