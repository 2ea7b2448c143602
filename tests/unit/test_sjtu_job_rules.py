"""A job spec checked against the SJTU site profile: each rule decided in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.job_rules import check_job, cold_paths, require_node_group
from hpcskills.sjtu.site import load_site, parse_site
from hpcskills.slurm.script import JobSpec

SITE = load_site(Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json")


def spec(**changes) -> JobSpec:
    values = {"partition": "cpu", "command": "srun ./a.out", "time": "01:00:00", **changes}
    return JobSpec(**values)


def refused(job: JobSpec, group: str | None = None) -> BadInput:
    with pytest.raises(BadInput) as info:
        check_job(SITE, job, group)
    assert info.value.exit_code == 2
    return info.value


def test_a_plain_cpu_job_passes_unchanged():
    job = spec(workdir="/lustre/home/acct-hpc/hpcuser/run")
    check = check_job(SITE, job, "pi")
    assert check.spec == job
    assert (check.node_group, check.warnings) == ("pi", [])


def test_alias_is_canonicalized_and_gpu_added():
    check = check_job(SITE, spec(partition="debug100", time="00:10:00"), "sy")
    assert check.spec.partition == "debuga100"
    assert check.spec.gpus == 1
    assert check.node_group == "sy"
    assert any("debuga100" in w for w in check.warnings)
    assert any("--gres=gpu:1" in w for w in check.warnings)


def test_unknown_partition_suggests_close_names():
    error = refused(spec(partition="a10"))
    assert error.type == "unknown_partition"
    assert "a100" in error.details["suggestions"]
    assert "a100" in error.hint
    error = refused(spec(partition="debug10"))
    assert error.details["suggestions"][0] in ("debuga100", "debug")
    assert "debug100" not in error.details["suggestions"]  # aliases shown canonical
    assert refused(spec(partition="zzzz")).details["suggestions"] == []


def test_partition_of_another_node_group_names_the_right_entry_node():
    error = refused(spec(partition="a100", gpus=1), group="pi")
    assert error.type == "wrong_node_group"
    assert "sylogin" in error.hint
    assert "sydata" not in error.hint  # data nodes do not submit jobs
    check_job(SITE, spec(partition="a100", gpus=1), None)  # no entry node known


def test_time_above_the_partition_limit():
    error = refused(spec(partition="debug", time="00:30:00"), group="pi")
    assert error.type == "over_partition_limit"
    assert "00:20:00" in error.hint
    refused(spec(partition="huge", time="3-00:00:00"))
    check_job(SITE, spec(partition="huge", time="2-00:00:00"))


def test_missing_time_is_a_warning():
    check = check_job(SITE, JobSpec(partition="cpu", command="x"), "pi")
    assert check.warnings == ["no time limit given: the partition default applies "
                              "(at most 7-00:00:00)"]  # fmt: skip


def test_node_and_gpu_limits():
    assert refused(spec(partition="debug", nodes=3)).type == "over_partition_limit"
    error = refused(spec(partition="a100", gpus=8), group="sy")
    assert error.type == "over_partition_limit" and "4 GPUs" in error.message
    assert check_job(SITE, spec(partition="dgx2", gpus=16)).spec.gpus == 16
    check = check_job(SITE, spec(partition="a800", gpus=8))  # no per-node count
    assert check.spec.gpus == 8


def test_gpus_on_a_cpu_partition():
    error = refused(spec(partition="cpu", gpus=1), group="pi")
    assert error.type == "no_gpus"
    assert "dgx2" in error.hint and "a100" not in error.hint  # same node group only


@pytest.mark.parametrize(
    "changes",
    [
        {"workdir": "/archive/home/acct-hpc/hpcuser/run"},
        {"workdir": "/union"},
        {"output": "/vault/home/acct-hpc/hpcuser/out.log"},
        {"error": "/union/home/x/err.log"},
        {"command": "python train.py --data /archive/home/acct-hpc/hpcuser/data.h5"},
        {"command": "cp '/vault/x y' ."},
        {"command": "ls\nDATA=/union/d ./run"},
        {"env": {"DATA": "/archive/home/acct-hpc/hpcuser/d"}},
    ],
)
def test_cold_storage_is_refused(changes):
    error = refused(spec(**changes))
    assert error.type == "cold_storage"
    assert error.details["paths"]
    assert "/lustre" in error.hint and "/dssg" in error.hint and "copy" in error.hint


@pytest.mark.parametrize(
    "command",
    [
        "cp /lustre/home/u/archive/x .",
        "ls ~/archive",
        "ls $HOME/vault",
        "ls /archived /vaults /unionfs",
        "echo archive vault union",
    ],
)
def test_cold_mount_names_inside_other_paths_are_fine(command):
    check_job(SITE, spec(command=command))


def test_cold_paths_are_reported_once_each():
    job = spec(
        workdir="/archive/a",
        command="cd /archive/a && cat /vault/b /vault/b",
    )
    assert refused(job).details["paths"] == ["/archive/a", "/vault/b"]


def test_an_overridden_site_without_storage_or_limits():
    site = parse_site(
        {"node_groups": {"local": {}}, "partitions": {"cpu": {"node_group": "local"}}}
    )
    check = check_job(site, spec(command="cat /archive/x"), "local")
    assert check.warnings == []


def test_the_node_group_rule_used_at_submission():
    require_node_group(SITE, SITE.partition("a100"), "sy")
    with pytest.raises(BadInput) as info:
        require_node_group(SITE, SITE.partition("debug100"), "pi")
    assert info.value.type == "wrong_node_group"
    assert "debuga100" in info.value.message and "sylogin" in (info.value.hint or "")


def test_one_cold_storage_rule_for_paths_and_text():
    assert cold_paths(SITE, paths=["/vault", None, "/lustre/x"]) == ["/vault"]
    assert cold_paths(SITE, texts=["cat /union/a;ls /archive"]) == ["/archive", "/union/a"]
    assert cold_paths(SITE, texts=["ls /lustre/home/u/archive/x ~/vault /archived"]) == []
