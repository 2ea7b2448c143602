"""plan_job.py on the real local site: a start estimate per fitting partition (one remote
exec per node group), and behind a busy node the estimates are in the future, after the
jobs ahead in the queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobsfix import login
from scriptrun import run_script
from sitefix import remote_execs, write_ssh_counter

SKILL = "sjtu-slurm"
REQUEST = ("--nodes", "1", "--cpus-per-task", "8", "--mem", "100M", "--time", "10")


def plan(cluster, *args: str, env_extra=None):
    env = {**cluster.env, **(env_extra or {})}
    return run_script(SKILL, "plan_job.py", *args, *cluster.ws_args, env=env)


def test_an_estimate_per_fitting_partition_one_exec_per_node_group(cluster, tmp_path) -> None:
    log = write_ssh_counter(tmp_path / "bin")
    path = f"{tmp_path / 'bin'}:{cluster.env.get('PATH', '')}"
    answer = plan(cluster, *REQUEST, env_extra={"PATH": path, "HPCSKILLS_SSH_BACKEND": "openssh"})
    data = answer.data
    rows = {r["partition"]: r for r in data["partitions"]}
    assert {"cpu", "huge", "debug", "64c512g", "arm128c256g"} <= set(rows), data
    for row in rows.values():
        assert datetime.fromisoformat(row["estimated_start"]) and row["processors"] == 8
    cpu = rows["cpu"]
    assert cpu["limits"]["max_time"] == "7-00:00:00" and cpu["limits"]["max_array_size"] == 1001
    assert cpu["charge"]["cores"] == 8 and cpu["charge"]["hours"] == round(10 / 60, 4)
    assert cpu["charge"]["amount"] == round(8 * 10 / 60 * 0.04, 2)
    assert cpu["charge"]["verified"] is False and cpu["charge"]["currency"] == "CNY"
    not_fitting = {r["partition"]: r["why"] for r in data["not_fitting"]}
    assert "GPU partition" in not_fitting["a100"]
    # partitions the profile knows but the local site's Slurm does not: refused by Slurm
    assert "invalid partition" in {r["partition"]: r["why"] for r in data["unavailable"]}["small"]
    groups = {r["node_group"] for r in data["partitions"]}
    assert groups == {"pi", "sy", "kp"}
    assert remote_execs(log) == len(groups)  # one exec per node group, all estimates in it
    assert data["summary"].startswith(f"{len(rows)} partition(s) fit")
    assert "submit_job.py" in data["next"][0] and "--dry-run" in data["next"][0]


def test_estimates_behind_a_busy_partition_follow_the_queue(cluster) -> None:
    _endpoint, remote = login(cluster)
    started = []
    try:
        for limit in ("5", "7"):  # one runs on all 8 CPUs, the other waits behind it
            result = remote.run(
                [
                    "sbatch",
                    "--parsable",
                    "--partition=cpu",
                    "--cpus-per-task=8",
                    "--mem=100M",
                    f"--time={limit}",
                    "--output=/dev/null",
                    "--wrap=sleep 300",
                ]
            )
            result.check("sbatch")
            started.append(result.stdout.strip())
        now = datetime.now()
        data = plan(cluster, *REQUEST, "--partition", "cpu").data
        (row,) = data["partitions"]
        estimate = datetime.fromisoformat(row["estimated_start"])
        # third in line: after the running job and after the waiting one's 7 minutes
        assert estimate > now + timedelta(minutes=7), row
    finally:
        if started:
            remote.run(["scancel", *started])
        remote.close()
