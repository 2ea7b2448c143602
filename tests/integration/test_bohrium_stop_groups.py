"""terminate / kill / delete with two-phase confirmation, and job groups, against the simulator."""

from __future__ import annotations

from datetime import date

from hpcskills.sim.bohrium import OTHER_ACCESS_KEY, OTHER_PROJECT

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    sim_fixture,  # noqa: F401 - fixture
)


def test_terminate_keeps_results_after_confirmation(bohrium: Bohrium) -> None:
    running = bohrium.submit()["job_id"]
    pending = bohrium.submit("--idempotency-key", "pending-one")["job_id"]
    bohrium.sim.advance(pending, "pending", hold=True)

    plan = bohrium.run(
        "stop_jobs.py", "--action", "terminate", str(running), str(pending), "424242"
    )
    assert plan.returncode == 3
    error = plan.error
    assert error["type"] == "confirmation_required"
    body = error["plan"]
    assert body["effect"] == {
        "results": "kept",
        "record": "kept",
        "becomes": "completed (finished)",
    }
    assert [j["job_id"] for j in body["jobs"]] == [running]
    assert body["jobs"][0]["state"] == "RUNNING"
    (skipped,) = body["skipped"]
    assert skipped["job_id"] == pending and "cannot be terminated" in skipped["reason"]
    assert body["not_found"] == [424242]
    assert bohrium.requests_made("job/terminate") == 0  # nothing done yet

    done = bohrium.run(
        "stop_jobs.py",
        "--action",
        "terminate",
        str(running),
        str(pending),
        "424242",
        "--confirm",
        error["confirm"],
    ).data
    assert done["done"] == [running] and done["failed"] == []
    assert bohrium.requests_made("job/terminate") == 1
    job = bohrium.wait_for(running, lambda j: j["status"] == 2)
    assert job["status"] == 2
    described = bohrium.run("describe_job.py", str(running)).data["jobs"][0]
    assert described["state"] == "COMPLETED" and described["has_results"] is True


def test_confirm_token_is_bound_to_the_plan(bohrium: Bohrium) -> None:
    job_id = bohrium.submit()["job_id"]
    plan = bohrium.run("stop_jobs.py", "--action", "kill", str(job_id)).error
    other = bohrium.run(
        "stop_jobs.py", "--action", "delete", str(job_id), "--confirm", plan["confirm"]
    )
    assert other.returncode == 3 and other.error["type"] == "confirmation_mismatch"
    bohrium.sim.advance(job_id, "finished")  # the state changed since the plan
    stale = bohrium.run(
        "stop_jobs.py", "--action", "kill", str(job_id), "--confirm", plan["confirm"]
    )
    assert stale.returncode == 2 and stale.error["type"] == "not_eligible"
    assert "already ended" in stale.error["skipped"][0]["reason"]
    assert bohrium.requests_made("job/kill") == 0


def test_kill_discards_results_and_delete_removes_the_job(bohrium: Bohrium) -> None:
    job_id = bohrium.submit()["job_id"]
    token = bohrium.run("stop_jobs.py", "--action", "kill", str(job_id)).error["confirm"]
    assert bohrium.run("stop_jobs.py", "--action", "kill", str(job_id), "--confirm", token).data[
        "done"
    ] == [job_id]
    bohrium.wait_for(job_id, lambda j: j["status"] == -1)
    described = bohrium.run("describe_job.py", str(job_id)).data["jobs"][0]
    assert described["state"] == "FAILED" and described["has_results"] is False
    skipped = bohrium.run("download_results.py", str(job_id), "-o", str(bohrium.tmp / "r")).data[
        "skipped"
    ]
    assert "killed" in skipped[0]["reason"]

    plan = bohrium.run("stop_jobs.py", "--action", "delete", str(job_id)).error
    assert plan["plan"]["effect"]["record"] == "removed"
    bohrium.run("stop_jobs.py", "--action", "delete", str(job_id), "--confirm", plan["confirm"])
    assert bohrium.run("describe_job.py", str(job_id)).returncode == 6
    gone = bohrium.run("stop_jobs.py", "--action", "delete", str(job_id))
    assert gone.returncode == 6


def test_job_groups(bohrium: Bohrium) -> None:
    created = bohrium.group_run("create", "-n", "experiment-v1").data
    group_id = created["group_id"]
    first = bohrium.submit("-g", str(group_id))["job_id"]
    second = bohrium.submit("-g", str(group_id), "--idempotency-key", "second")["job_id"]
    today = date.today().isoformat()

    listed = bohrium.group_run("list", "-s", today, "-e", today).data
    names = {g["group_id"]: g for g in listed["groups"]}
    assert names[group_id]["name"] == "experiment-v1" and names[group_id]["jobs"] == 2
    assert bohrium.group_run("list", "-e", "2001-01-01").data["count"] == 0
    assert bohrium.group_run("list", "-s", "2026-13-01").returncode == 2

    assert bohrium.group_run("rename", str(group_id), "experiment-v2").data["name"] == (
        "experiment-v2"
    )
    assert bohrium.run("list_jobs.py", "--group", str(group_id)).data["count"] == 2

    bohrium.sim.advance(first, "finished")
    out = bohrium.tmp / "group-results"
    got = bohrium.group_run("download", str(group_id), "-o", str(out)).data
    assert [d["job_id"] for d in got["downloaded"]] == [first]
    assert [s["job_id"] for s in got["skipped"]] == [second]
    assert (out / str(first) / "out.zip").is_file()

    plan = bohrium.group_run("terminate", str(group_id))
    assert plan.returncode == 3
    outcomes = {j["job_id"]: j["outcome"] for j in plan.error["plan"]["jobs"]}
    assert outcomes == {first: "unchanged (already ended)", second: "terminated, results kept"}
    bohrium.group_run("terminate", str(group_id), "--confirm", plan.error["confirm"])
    bohrium.wait_for(second, lambda j: j["status"] == 2)

    plan = bohrium.group_run("delete", str(group_id)).error
    assert plan["plan"]["effect"].startswith("the group and every job")
    bohrium.group_run("delete", str(group_id), "--confirm", plan["confirm"])
    assert bohrium.run("list_jobs.py", "--group", str(group_id)).data["count"] == 0
    assert bohrium.submitted_jobs() == []


def test_group_actions_on_a_missing_or_foreign_group_are_not_found(bohrium: Bohrium) -> None:
    """No plan (and no token) for a group that is not among the user's groups."""
    other = {"ACCESS_KEY": OTHER_ACCESS_KEY, "PROJECT_ID": str(OTHER_PROJECT)}
    foreign = bohrium.group_run("create", "-n", "theirs", env=other)
    foreign_id = foreign.data["group_id"]
    mine = bohrium.group_run("create", "-n", "mine").data["group_id"]
    for action in ("delete", "terminate"):
        for group_id in (99999999, foreign_id):
            result = bohrium.group_run(action, str(group_id))
            assert result.returncode == 6, result.describe()
            assert result.error["type"] == "group_not_found"
            assert "confirm" not in result.error
    assert bohrium.requests_made("group/del") == 0
    assert bohrium.requests_made("group/terminate") == 0
    assert bohrium.group_run("delete", str(mine)).returncode == 3  # an own group: a plan
    theirs = bohrium.group_run("list", env=other).data["groups"]
    assert [g["group_id"] for g in theirs] == [foreign_id]  # untouched
