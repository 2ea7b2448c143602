"""Usage totals (pure): CPUs × elapsed and GPUs × elapsed, per partition and node group."""

from __future__ import annotations

from pathlib import Path

from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.usage import summarize_usage
from hpcskills.slurm.commands import FIELD_SEP, SACCT_FIELDS
from hpcskills.slurm.parse import parse_sacct

SITE = load_site(Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json")


def line(job_id: str, partition: str, cpus: int, elapsed: str, tres: str = "") -> str:
    values = {
        "JobID": job_id,
        "JobIDRaw": job_id,
        "State": "COMPLETED",
        "Partition": partition,
        "NCPUS": str(cpus),
        "Elapsed": elapsed,
        "AllocTRES": tres,
        "JobName": "n",
    }
    return FIELD_SEP.join(values.get(name, "") for name in SACCT_FIELDS)


def test_core_and_gpu_hours_per_partition_and_node_group() -> None:
    records = parse_sacct(
        "\n".join(
            [
                line("1", "cpu", 40, "01:00:00"),
                line("2_1", "cpu", 2, "00:30:00"),
                line("2_2", "cpu", 2, "00:30:00"),
                line("3", "debug100", 16, "02:00:00", "cpu=16,gres/gpu=2,node=1"),
                line("4", "mystery", 1, "00:00:36"),
                line("4.batch", "mystery", 1, "00:00:36"),  # a step: not an allocation
            ]
        )
    )
    usage = summarize_usage(SITE, records)
    assert usage["totals"] == {"jobs": 5, "core_hours": 74.01, "gpu_hours": 4.0}
    by_partition = {r["partition"]: r for r in usage["by_partition"]}
    assert by_partition["cpu"] == {
        "partition": "cpu",
        "node_group": "pi",
        "jobs": 3,
        "core_hours": 42.0,
        "gpu_hours": 0.0,
    }
    assert by_partition["debug100"]["node_group"] == "sy"  # an alias of debuga100
    assert by_partition["mystery"]["node_group"] is None
    groups = {g["node_group"]: g["core_hours"] for g in usage["by_node_group"]}
    assert groups == {"pi": 42.0, "sy": 32.0, None: 0.01}
