"""A job spec checked against one partition's limits (pure, any Slurm site): nodes, time and
GPUs per node, and GPUs added where the partition needs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from hpcskills.core.errors import BadInput
from hpcskills.slurm.script import JobSpec
from hpcskills.slurm.units import format_duration, parse_duration


@dataclass(frozen=True)
class PartitionLimits:
    """What a partition allows; None where the site states no limit. `max_time` is a Slurm
    duration as the site writes it."""

    max_nodes: int | None = None
    max_time: str | None = None
    gpus_per_node: int | None = None
    gpu_model: str | None = None

    @property
    def has_gpus(self) -> bool:
        return bool(self.gpus_per_node or self.gpu_model)


@dataclass(frozen=True)
class LimitCheck:
    """The spec as it will be submitted (GPUs added where needed) and what was assumed."""

    spec: JobSpec
    warnings: list[str]


def _check_nodes_and_time(
    spec: JobSpec, name: str, limits: PartitionLimits, warnings: list[str]
) -> None:
    if limits.max_nodes and spec.nodes > limits.max_nodes:
        raise BadInput(
            f"partition {name!r} allows at most {limits.max_nodes} nodes, not {spec.nodes}",
            type="over_partition_limit",
        )
    max_seconds = parse_duration(limits.max_time or "")
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
    spec: JobSpec,
    name: str,
    limits: PartitionLimits,
    gpu_partitions: Sequence[str],
    warnings: list[str],
) -> JobSpec:
    if not limits.has_gpus:
        if spec.gpus:
            raise BadInput(
                f"partition {name!r} has no GPUs",
                type="no_gpus",
                hint=f"GPU partitions: {', '.join(gpu_partitions)}" if gpu_partitions else None,
            )
        return spec
    if spec.gpus == 0:
        warnings.append(f"partition {name!r} is a GPU partition: added --gres=gpu:1")
        return replace(spec, gpus=1)
    per_node = limits.gpus_per_node
    if per_node and spec.gpus > per_node:
        raise BadInput(
            f"partition {name!r} has {per_node} GPUs per node, not {spec.gpus}",
            type="over_partition_limit",
            hint="ask for more nodes instead",
        )
    return spec


def check_limits(
    spec: JobSpec, limits: PartitionLimits, gpu_partitions: Sequence[str] = ()
) -> LimitCheck:
    """Check `spec` against its partition's limits; BadInput `over_partition_limit` for
    nodes, time or GPUs per node above them, `no_gpus` for GPUs on a partition without any
    (naming `gpu_partitions`, the ones to use instead). A GPU partition asked for no GPU
    gets one, with a warning."""
    warnings: list[str] = []
    _check_nodes_and_time(spec, spec.partition, limits, warnings)
    spec = _with_gpus(spec, spec.partition, limits, gpu_partitions, warnings)
    return LimitCheck(spec, warnings)
