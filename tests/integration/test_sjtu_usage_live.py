"""usage.py on the real local site: the core-hours of jobs with known CPUs and run times,
from one sacct exec."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from jobsfix import login
from scriptrun import run_script

SKILL = "sjtu-slurm"
JOBS = {"2": "sleep 3", "3": "sleep 2"}  # CPUs → command


def test_usage_totals_are_cpus_times_run_time(cluster) -> None:
    since = (datetime.now() - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    _endpoint, remote = login(cluster)
    try:
        ids = {}
        for cpus, command in JOBS.items():
            result = remote.run(
                [
                    "sbatch",
                    "--parsable",
                    "--partition=huge",
                    f"--cpus-per-task={cpus}",
                    "--mem=100M",
                    "--time=2",
                    "--output=/dev/null",
                    f"--wrap={command}",
                ]
            )
            result.check("sbatch")
            ids[result.stdout.strip()] = int(cpus)
    finally:
        remote.close()
    args = ["--since", since, *cluster.ws_args]
    deadline = time.monotonic() + 90
    while True:  # until both jobs ended and reached accounting
        info = run_script(SKILL, "job_info.py", *ids, *cluster.ws_args, env=cluster.env).data
        records = [j["sacct"] for j in info["jobs"] if j["sacct"]]
        if (len(records) == 2 and all(r["state"] == "COMPLETED" for r in records)) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(1)
    assert {r["state"] for r in records} == {"COMPLETED"}
    elapsed = {r["job_id"]: r["elapsed_seconds"] for r in records}
    assert 3 <= elapsed[next(iter(ids))] <= 6  # the run time Slurm measured ≈ the sleep
    expected = sum(ids[job] * elapsed[job] for job in ids) / 3600

    data = run_script(SKILL, "usage.py", *args, env=cluster.env).data
    (huge,) = [row for row in data["by_partition"] if row["partition"] == "huge"]
    assert huge["jobs"] == 2 and huge["node_group"] == "pi"
    assert huge["core_hours"] == round(expected, 4) and huge["gpu_hours"] == 0
    rows = data["by_partition"]
    assert data["totals"]["jobs"] == sum(r["jobs"] for r in rows)
    assert abs(data["totals"]["core_hours"] - sum(r["core_hours"] for r in rows)) < 0.001
    (pi,) = [g for g in data["by_node_group"] if g["node_group"] == "pi"]
    assert pi["core_hours"] >= huge["core_hours"]
    assert data["summary"].startswith(f"{data['totals']['core_hours']} core-hours")
    table = run_script(SKILL, "usage.py", *args, "--human", env=cluster.env)
    assert "core_hours" in table.stdout and "huge" in table.stdout
