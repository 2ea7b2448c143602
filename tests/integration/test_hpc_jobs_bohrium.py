"""Bohrium jobs in the cross-platform views (Bohrium simulator, no cluster needed): a submit
through the bohrium-job skill lands in the ledger; jobs.py and watch_jobs.py refresh it with
the job list; the PERSEUS export maps it."""

from __future__ import annotations

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    sim_fixture,  # noqa: F401 - fixture
)

from hpcskills.sim.perseus import validate_job

from scriptrun import run_script

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

    env = {"PERSEUS_PROJECT_OID": "p", "PERSEUS_COMPUTE_PROJECT_ID": "c"}
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
