"""A job spec checked against a site profile (partitions, node groups, storage).

Works on the plain profile data (`SiteProfile.data`, e.g. skills/sjtu-slurm/site.json):
`partitions` (node_group, max_time, max_nodes, gpus_per_node, gpu_model),
`partition_aliases`, `entry_nodes` and `storage` (mount, kind).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.slurm.script import JobSpec
from hpcskills.slurm.units import format_duration, parse_duration


@dataclass(frozen=True)
class SiteCheck:
    """The spec as it will be submitted (partition canonicalized, GPUs added where the
    partition needs them) and what was changed or assumed, for the user to see."""

    spec: JobSpec
    node_group: str | None
    warnings: list[str]


def _entry_nodes(site: dict[str, Any], group: str) -> list[str]:
    return [
        name
        for name, node in site.get("entry_nodes", {}).items()
        if group in node.get("node_groups", []) and node.get("business", "job") == "job"
    ]


def _partition(site: dict[str, Any], name: str, warnings: list[str]) -> tuple[str, dict]:
    partitions: dict[str, Any] = site.get("partitions", {})
    aliases: dict[str, str] = site.get("partition_aliases", {})
    if name not in partitions and aliases.get(name) in partitions:
        warnings.append(f"partition {name!r} is spelled {aliases[name]!r} on this site; using it")
        name = aliases[name]
    if name not in partitions:
        close = difflib.get_close_matches(name, [*partitions, *aliases], n=3, cutoff=0.5)
        close = list(dict.fromkeys(aliases.get(c, c) for c in close))
        raise BadInput(
            f"unknown partition {name!r}",
            type="unknown_partition",
            hint=(f"did you mean {' or '.join(close)}? " if close else "")
            + "partitions: "
            + ", ".join(partitions),
            suggestions=close,
        )
    return name, partitions[name]


def _is_gpu_partition(info: dict[str, Any]) -> bool:
    return bool(info.get("gpus_per_node") or info.get("gpu_model"))


def _cold_paths(spec: JobSpec, mounts: list[str]) -> list[str]:
    """Paths under a cold mount in the job's paths, its command and its env values."""
    found = [
        path
        for path in (spec.workdir, spec.output, spec.error)
        if path and any(path == m or path.startswith(m + "/") for m in mounts)
    ]
    for mount in mounts:
        # The mount as a whole path word: not `/lustre/archive`, `~/archive`, `/archived`.
        pattern = re.compile(
            r"(?<![\w./~$-])(" + re.escape(mount) + r"(?:/[^\s'\";|&<>()`]*)?)(?![\w.-])"
        )
        for text in (spec.command, *spec.env.values()):
            found.extend(match[1] for match in pattern.finditer(text))
    return list(dict.fromkeys(found))


def _check_limits(spec: JobSpec, name: str, info: dict[str, Any], warnings: list[str]) -> None:
    max_nodes = info.get("max_nodes")
    if max_nodes and spec.nodes > max_nodes:
        raise BadInput(
            f"partition {name!r} allows at most {max_nodes} nodes, not {spec.nodes}",
            type="over_partition_limit",
        )
    max_seconds = parse_duration(str(info.get("max_time", "")))
    if not max_seconds:
        return
    limit = format_duration(max_seconds)
    if spec.time is None:
        warnings.append(f"no time limit given: the partition default applies (at most {limit})")
    elif (parse_duration(spec.time) or 0) > max_seconds:
        raise BadInput(
            f"time {spec.time} is above the {limit} limit of {name!r}",
            type="over_partition_limit",
            hint=f"ask for at most {limit}",
        )


def _with_gpus(
    spec: JobSpec, name: str, info: dict[str, Any], site: dict[str, Any], warnings: list[str]
) -> JobSpec:
    if not _is_gpu_partition(info):
        if spec.gpus:
            group = info.get("node_group")
            gpu_partitions = [
                p
                for p, i in site.get("partitions", {}).items()
                if _is_gpu_partition(i) and (group is None or i.get("node_group") == group)
            ]
            raise BadInput(
                f"partition {name!r} has no GPUs",
                type="no_gpus",
                hint=f"GPU partitions: {', '.join(gpu_partitions)}" if gpu_partitions else None,
            )
        return spec
    if spec.gpus == 0:
        warnings.append(f"partition {name!r} is a GPU partition: added --gres=gpu:1")
        return replace(spec, gpus=1)
    per_node = info.get("gpus_per_node")
    if per_node and spec.gpus > per_node:
        raise BadInput(
            f"partition {name!r} has {per_node} GPUs per node, not {spec.gpus}",
            type="over_partition_limit",
            hint="ask for more nodes instead",
        )
    return spec


def _check_storage(spec: JobSpec, storage: dict[str, Any]) -> None:
    cold = [s["mount"] for s in storage.values() if s.get("kind") == "cold" and s.get("mount")]
    paths = _cold_paths(spec, cold)
    if paths:
        hot = [s["mount"] for s in storage.values() if s.get("kind") == "hot" and s.get("mount")]
        raise BadInput(
            f"the job uses cold storage: {', '.join(paths)}",
            type="cold_storage",
            hint="jobs must not run on cold storage; copy the data to hot storage"
            + (f" ({', '.join(hot)})" if hot else "")
            + " on a data node first and point the job there",
            paths=paths,
        )


def validate_against_site(
    spec: JobSpec, site_data: dict[str, Any], entry_node_group: str | None = None
) -> SiteCheck:
    """Check `spec` against the site; BadInput for anything the site would reject or that
    would misbehave: unknown partition (with suggestions), a partition of another node
    group than the entry node's, nodes/time/GPUs above the partition's limits, GPUs on a
    partition without any, and paths on cold storage (jobs must run on hot storage)."""
    warnings: list[str] = []
    name, info = _partition(site_data, spec.partition, warnings)
    if name != spec.partition:
        spec = replace(spec, partition=name)
    group = info.get("node_group")
    if entry_node_group and group and group != entry_node_group:
        raise BadInput(
            f"partition {name!r} belongs to node group {group!r}, not {entry_node_group!r}",
            type="wrong_node_group",
            hint=f"submit from {' or '.join(_entry_nodes(site_data, group)) or group}",
        )
    _check_limits(spec, name, info, warnings)
    spec = _with_gpus(spec, name, info, site_data, warnings)
    _check_storage(spec, site_data.get("storage", {}))
    return SiteCheck(spec=spec, node_group=group, warnings=warnings)
