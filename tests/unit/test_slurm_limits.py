"""A job spec checked against one partition's limits (generic Slurm, no site profile)."""

from __future__ import annotations

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.slurm.limits import PartitionLimits, check_limits
from hpcskills.slurm.script import JobSpec


def job(**changes) -> JobSpec:
    return JobSpec(**{"partition": "p", "command": "true", "time": "00:10:00", **changes})


def test_no_limits_no_change() -> None:
    check = check_limits(job(nodes=100, time="30-00:00:00"), PartitionLimits())
    assert check.spec == job(nodes=100, time="30-00:00:00") and check.warnings == []


def test_nodes_and_time_above_the_limits() -> None:
    limits = PartitionLimits(max_nodes=2, max_time="1:00:00")
    check_limits(job(nodes=2, time="60"), limits)  # minutes: exactly the limit
    for over in (job(nodes=3), job(time="01:00:01")):
        with pytest.raises(BadInput) as caught:
            check_limits(over, limits)
        assert caught.value.type == "over_partition_limit"
    assert check_limits(job(time=None), limits).warnings == [
        "no time limit given: the partition default applies (at most 01:00:00)"
    ]


def test_gpus() -> None:
    gpu = PartitionLimits(gpus_per_node=4)
    added = check_limits(job(), gpu)
    assert added.spec.gpus == 1 and "--gres=gpu:1" in added.warnings[0]
    assert check_limits(job(gpus=4), gpu).spec.gpus == 4
    with pytest.raises(BadInput, match="4 GPUs per node"):
        check_limits(job(gpus=5), gpu)
    assert check_limits(job(gpus=8), PartitionLimits(gpu_model="A800")).spec.gpus == 8
    with pytest.raises(BadInput) as caught:
        check_limits(job(gpus=1), PartitionLimits(), ["g1", "g2"])
    assert caught.value.type == "no_gpus" and caught.value.hint == "GPU partitions: g1, g2"
    with pytest.raises(BadInput) as caught:
        check_limits(job(gpus=1), PartitionLimits())
    assert caught.value.hint is None
