"""PERSEUS export on the real local site: finished, failed, cancelled, array and pending jobs
mapped per the seed, validated by the PERSEUS simulator, re-sent only on state change."""

from __future__ import annotations

import time

import pytest

from hpcskills.sim.perseus import PerseusSimulator

from jobsfix import SKILL, login, record_jobs
from scriptrun import register_secret, run_script

TOKEN = "perseus-test-token-1234"


@pytest.fixture
def perseus():
    sim = PerseusSimulator(token=TOKEN, log=None)
    sim.start()
    yield sim
    sim.stop()


def sbatch(remote, *args: str) -> str:
    result = remote.run(
        ["sbatch", "--parsable", "--partition=cpu", "--mem=100M", "--output=/dev/null", *args]
    )
    result.check("sbatch")
    return result.stdout.strip().split(";")[0]


def wait_states(cluster, wanted: dict[str, set[str]], timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = run_script(SKILL, "jobs.py", *cluster.ws_args, env=cluster.env).data["jobs"]
        states = {j["job_id"]: j["state"] for j in jobs}
        if all(states.get(k) in v for k, v in wanted.items()) or time.monotonic() > deadline:
            return states
        time.sleep(1)


def test_export_finished_failed_cancelled_array_and_pending(cluster, perseus):
    endpoint, remote = login(cluster)
    try:
        finished = sbatch(remote, "--job-name=p-ok", "--wrap=true")
        failed = sbatch(remote, "--job-name=p-fail", "--wrap=exit 3")
        cancelled = sbatch(remote, "--job-name=p-cancel", "--wrap=sleep 300")
        array = sbatch(remote, "--job-name=p-array", "--array=0-2", "--wrap=true")
        pending = sbatch(remote, "--job-name=p-held", "--hold", "--wrap=true")
        time.sleep(1)
        remote.run(["scancel", cancelled]).check("scancel")
    finally:
        remote.close()
    ids = [finished, failed, cancelled, array, pending]
    record_jobs(cluster.workspace, endpoint, ids, "p")
    states = wait_states(
        cluster,
        {
            finished: {"COMPLETED"},
            failed: {"FAILED"},
            cancelled: {"CANCELLED"},
            array: {"COMPLETED"},
        },
    )
    assert states[pending] == "PENDING"
    time.sleep(2)  # accounting records land 1-2 s after a job ends

    creds = cluster.workspace / "credentials"
    (creds / "perseus_token").write_text(TOKEN + "\n")
    register_secret(TOKEN)
    env = {
        **cluster.env,
        "PERSEUS_URL": perseus.base_url,
        "PERSEUS_PROJECT_OID": "65f0c0ffee0000000000abcd",
        "PERSEUS_COMPUTE_PROJECT_ID": "cp-demo",
    }
    args = [*cluster.ws_args, "--cluster-id", "sjtu=sjtupi"]

    deadline = time.monotonic() + 30
    while True:  # accounting records (array tasks, a held job's reason) land seconds apart
        dry = run_script(SKILL, "export_perseus.py", "--dry-run", *args, env=env).data
        by_name = {}
        for record in dry["payload"]:
            by_name.setdefault(record["job_name"], []).append(record)
        held_known = any(r.get("reason") for r in by_name.get("p-held", []))  # set a bit later
        if (len(by_name.get("p-array", [])) == 3 and held_known) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert perseus.stats().get("requests", {}).get("JobManager/add", 0) == 0
    ok = by_name["p-ok"][0]
    assert ok["state"] == "COMPLETED" and ok["job_id"] == int(finished)
    assert ok["cluster_id"] == "sjtupi" and ok["project_oid"] == "65f0c0ffee0000000000abcd"
    assert ok["nodes"] == ["node01"] and ok["partition"] == "cpu"
    assert any(r.endswith("memory") for r in ok["allocated_resources"])
    assert "1 CPU" in ok["allocated_resources"] or "1 node" in ok["allocated_resources"]
    assert ok["time_limit"] > 0 and "T" in ok["submitted"] and "T" in ok["end"]
    assert ok["working_directory"] and ok["user"] == cluster.user
    bad = by_name["p-fail"][0]
    assert bad["state"] == "FAILED" and bad["reason"] == "exit code 3"
    assert by_name["p-cancel"][0]["state"] == "CANCELLED"
    tasks = sorted(by_name["p-array"], key=lambda r: r["group_index"])
    assert [(t["group_id"], t["group_index"]) for t in tasks] == [(int(array), i) for i in range(3)]
    assert len({t["job_id"] for t in tasks}) == 3
    held = by_name["p-held"][0]
    assert held["state"] == "PENDING" and "end" not in held and held["reason"]

    sent = run_script(SKILL, "export_perseus.py", *args, env=env).data
    assert sent["sent"] == 7 and sent["answers"] == [{"created": 7, "updated": 0}]
    stored = {(j["job_id"], j.get("group_index")): j for j in perseus.stored()}
    assert len(stored) == 7

    again = run_script(SKILL, "export_perseus.py", *args, env=env).data
    assert again["sent"] == 0 and again["jobs_considered"] == 1  # only the pending job is left

    _endpoint, remote = login(cluster)
    try:
        remote.run(["scontrol", "release", pending]).check("release")
    finally:
        remote.close()
    wait_states(cluster, {pending: {"COMPLETED"}})
    time.sleep(2)
    changed = run_script(SKILL, "export_perseus.py", *args, env=env).data
    assert changed["sent"] == 1 and changed["answers"] == [{"created": 0, "updated": 1}]
    assert [j["state"] for j in perseus.stored() if j["job_id"] == int(pending)] == ["COMPLETED"]
