"""Bohrium jobs in the cross-platform views (Bohrium simulator, no cluster needed): a submit
through the bohrium-job skill lands in the ledger; jobs.py and watch_jobs.py refresh it with
the job list; the PERSEUS export maps it."""

from __future__ import annotations

from hpcskills.sim.perseus import validate_job

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    dpdispatcher_files,
    sim_fixture,  # noqa: F401 - fixture
)
from scriptrun import register_secret, run_script

SKILL = "hpc-jobs"


def jobs_script(bohrium: Bohrium, name: str, *args: str):
    return run_script(SKILL, name, *args, "--workspace", str(bohrium.workspace), env=bohrium.env)


def test_bohrium_job_listed_watched_fetched_and_exported(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    sent = bohrium.submit("-n", "cross", folder=folder)
    assert sent["submitted"] and sent["ledger_id"] == 1
    again = bohrium.submit("-n", "cross", folder=folder)
    assert again["reused"] and again["ledger_id"] == 1  # the same job, the same record

    listed = jobs_script(bohrium, "jobs.py", "--platform", "bohrium").data
    (job,) = listed["jobs"]
    assert job["job_id"] == str(sent["job_id"]) and job["state"] == "RUNNING"
    assert job["name"].startswith("cross-hs") and job["site"] == "bohrium"
    (poll,) = listed["refreshed"]
    assert poll["platform"] == "bohrium" and poll["commands"] == ["job/list x<=2"]
    assert bohrium.requests_made("job/detail") == 0  # the list call was enough

    bohrium.sim.advance(sent["job_id"], "finished")
    out = bohrium.tmp / "outputs"
    watched = jobs_script(
        bohrium,
        "watch_jobs.py",
        str(sent["job_id"]),
        "--timeout",
        "30",
        "--fetch-outputs",
        "--output-dir",
        str(out),
    ).data
    assert watched["complete"] and watched["jobs"][0]["state"] == "COMPLETED"
    (fetched,) = watched["outputs"]
    assert (out / f"bohrium-{sent['job_id']}" / "out.zip").is_file(), fetched

    env = {"PERSEUS_PROJECT_OID": "65f0c0ffee0000000000abcd", "PERSEUS_COMPUTE_PROJECT_ID": "c"}
    dry = run_script(
        SKILL,
        "export_perseus.py",
        "--dry-run",
        "--cluster-id",
        "bohrium=bohrium-cloud",
        "--workspace",
        str(bohrium.workspace),
        env={**bohrium.env, **env},
    ).data
    (record,) = dry["payload"]
    assert record["job_id"] == sent["job_id"] and record["state"] == "COMPLETED"
    assert record["cluster_id"] == "bohrium-cloud" and record["end"]
    assert record["allocated_resources"] == ["machine type c32_m64_cpu"]
    assert validate_job(record, 0) == []


def test_dpdispatcher_bohrium_context_submits_resumes_and_fetches(bohrium: Bohrium) -> None:
    register_secret("not-used-123")
    args = dpdispatcher_files(bohrium)
    first = jobs_script(bohrium, "submit_dpdispatcher.py", *args).data
    assert [j["action"] for j in first["jobs"]] == ["submitted", "submitted"]
    assert any("password" in note for note in first["notes"])
    assert bohrium.requests_made("job/add") == 2
    spec = bohrium.sim.jobs[int(first["jobs"][0]["job_id"])].spec
    assert "run.sh" in spec["cmd"] and spec["outFiles"] == [
        "t0/log.lammps",
        "t0/log",
        "t0/err",
        "t1/log.lammps",
        "t1/log",
        "t1/err",
    ]

    again = jobs_script(bohrium, "submit_dpdispatcher.py", *args).data
    assert [j["action"] for j in again["jobs"]] == ["wait", "wait"]
    assert bohrium.requests_made("job/add") == 2  # resumed: nothing submitted twice

    ids = [int(j["job_id"]) for j in first["jobs"]]
    bohrium.sim.advance(ids[0], "finished")
    bohrium.sim.advance(ids[1], "failed")
    third = jobs_script(bohrium, "submit_dpdispatcher.py", *args).data
    assert third["counts"] == {"finished": 2, "failed": 1}
    assert third["failed_tasks"] == ["t2"] and "--resubmit-failed" in third["hint"]
    assert (bohrium.tmp / "dp" / "work" / "t0" / "log.lammps").is_file()
    assert "t0/log.lammps" in third["downloaded"]

    fixed = jobs_script(bohrium, "submit_dpdispatcher.py", *args, "--resubmit-failed").data
    assert [j["action"] for j in fixed["jobs"]] == ["done", "resubmitted"]
    assert bohrium.requests_made("job/add") == 3
