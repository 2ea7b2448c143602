"""More than single jobs on the real local site: an array of 8 tasks (at most 2 at a time),
submitted held, and a job waiting for it; released through the confirmed release script;
they run in order and show up task by task in list_jobs.py, jobs.py and a PERSEUS dry run."""

from __future__ import annotations

import time
from datetime import datetime

from scriptrun import register_secret, run_script

SJTU = "sjtu-slurm"
JOBS = "hpc-jobs"
TOKEN = "perseus-test-token-5678"


def call(cluster, skill: str, script: str, *args: str, env_extra=None, **kw):
    env = {**cluster.env, **(env_extra or {})}
    return run_script(skill, script, *args, *cluster.ws_args, env=env, **kw)


def submit(cluster, name: str, command: str, *flags: str) -> dict:
    common = ["--partition", "cpu", "--time", "5", "--mem", "100M", "--output", "/dev/null"]
    return call(
        cluster, SJTU, "submit_job.py", *common, "--name", name, "--command", command, *flags
    ).data


def wait_ledger(cluster, wanted: dict[str, str], timeout: float = 300) -> dict[str, dict]:
    """jobs.py until the jobs reach the states (the local site is shared by other tests)."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = {j["job_id"]: j for j in call(cluster, JOBS, "jobs.py").data["jobs"]}
        done = all(jobs.get(k, {}).get("state") == v for k, v in wanted.items())
        if done or time.monotonic() > deadline:
            return jobs
        time.sleep(1)


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The largest number of [start, end) intervals running at one moment."""
    return max(sum(s <= start < e for s, e in intervals) for start, _ in intervals)


def test_held_throttled_array_then_dependent_job(cluster) -> None:
    array = submit(cluster, "arr", "sleep 2", "--array", "1-8%2", "--hold")
    array_id = array["job_id"]
    assert array["array"] == {"spec": "1-8%2", "size": 8, "throttle": 2} and array["held"]
    assert "held" in array["summary"] and "release_jobs.py" in array["next"][0]
    after = submit(cluster, "after", "true", "--after-ok", array_id)
    assert after["depends_on"] == [{"kind": "afterok", "job_ids": [array_id]}]

    listed = call(cluster, SJTU, "list_jobs.py").data["jobs"]
    tasks = [j for j in listed if j["array_job_id"] == array_id]
    assert sorted(int(t["array_task_id"]) for t in tasks) == list(range(1, 9))
    assert {t["job_id"] for t in tasks} == {f"{array_id}_{i}" for i in range(1, 9)}
    assert {t["reason"] for t in tasks} == {"JobHeldUser"}
    (waiting,) = [j for j in listed if j["job_id"] == after["job_id"]]
    assert waiting["state"] == "PENDING" and waiting["reason"] == "Dependency"

    plan = call(cluster, SJTU, "release_jobs.py", array_id, after["job_id"])
    assert plan.returncode == 3
    assert [j["job_id"] for j in plan.error["plan"]["jobs"]] == [array_id]
    assert plan.error["plan"]["skipped"] == [
        {"job_id": after["job_id"], "state": "PENDING", "why": "not held"}
    ]
    done = call(
        cluster,
        SJTU,
        "release_jobs.py",
        array_id,
        after["job_id"],
        "--confirm",
        plan.error["confirm"],
    ).data
    assert done["released"] == [{"job_id": array_id, "verified": True}]
    assert done["summary"].startswith("1 of 1 held job(s) released")

    jobs = wait_ledger(cluster, {array_id: "COMPLETED", after["job_id"]: "COMPLETED"})
    row = jobs[array_id]
    assert row["state"] == "COMPLETED", row
    assert row["observed"]["array_task_states"] == {str(i): "COMPLETED" for i in range(1, 9)}
    assert row["details"]["array"]["throttle"] == 2
    assert jobs[after["job_id"]]["details"]["depends_on"][0]["job_ids"] == [array_id]

    deadline = time.monotonic() + 60
    while True:  # accounting records land a second or two after each task ends
        history = call(cluster, SJTU, "list_jobs.py", "--since", "1h").data["jobs"]
        finished = [j for j in history if j["array_job_id"] == array_id and j["end_time"]]
        (last,) = [j for j in history if j["job_id"] == after["job_id"]] or [None]
        if (len(finished) == 8 and last and last["start_time"]) or time.monotonic() > deadline:
            break
        time.sleep(1)
    spans = [
        (datetime.fromisoformat(t["start_time"]), datetime.fromisoformat(t["end_time"]))
        for t in finished
    ]
    assert len(spans) == 8 and max_overlap(spans) <= 2  # the throttle held
    assert datetime.fromisoformat(last["start_time"]) >= max(end for _, end in spans)

    (cluster.workspace / "credentials" / "perseus_token").write_text(TOKEN + "\n")
    register_secret(TOKEN)
    env = {
        "PERSEUS_URL": "http://127.0.0.1:9",  # a dry run sends nothing
        "PERSEUS_PROJECT_OID": "65f0c0ffee0000000000abcd",
        "PERSEUS_COMPUTE_PROJECT_ID": "cp-demo",
    }
    dry = call(
        cluster,
        JOBS,
        "export_perseus.py",
        "--dry-run",
        "--cluster-id",
        "sjtu=sjtupi",
        env_extra=env,
    ).data
    records = [r for r in dry["payload"] if r.get("group_id") == int(array_id)]
    assert sorted(r["group_index"] for r in records) == list(range(1, 9))
    assert {r["state"] for r in records} == {"COMPLETED"}
    (dependent,) = [r for r in dry["payload"] if r["job_id"] == int(after["job_id"])]
    assert dependent["state"] == "COMPLETED" and "group_id" not in dependent
