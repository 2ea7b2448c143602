"""Interrupted Bohrium submits leave nothing behind: a created-but-unsent job is deleted (by
the run itself when it can, else by the rerun, which finds its id in the ledger), and the
temporary input zip is removed on every exit (by the rerun after a SIGKILL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    sim_fixture,  # noqa: F401 - fixture
)
from crashfix import crash_run, ledger_rows

ARGS = ("--template", "lammps", "--backward_file", "log")


def scratch_left(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir())


@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_killed_during_the_upload_then_rerun_leaves_one_job_and_no_zip(
    bohrium: Bohrium, tmp_path: Path, how: str
) -> None:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = {**bohrium.env, "TMPDIR": str(tmp)}
    folder = bohrium.input_dir()
    ws = ("--workspace", str(bohrium.workspace))
    crash_run("mid_upload", how, "bohrium-job", "submit_job.py", *ARGS, "-p", str(folder), *ws,
              env=env)
    created = bohrium.control("jobs")
    if how == "interrupt":  # the run cleaned up after itself
        assert created == [] and scratch_left(tmp) == []
    else:  # nothing ran after SIGKILL: the job and the zip are still there
        assert [j["submitted"] for j in created] == [False]
        assert len(scratch_left(tmp)) == 1
        (row,) = ledger_rows(bohrium.workspace, "bohrium")
        assert row.details["created_job_id"] == created[0]["id"]

    rerun = bohrium.run("submit_job.py", *ARGS, "-p", str(folder), env={"TMPDIR": str(tmp)})
    assert rerun.data["submitted"] is True
    jobs = bohrium.control("jobs")
    assert [(j["id"], j["submitted"]) for j in jobs] == [(rerun.data["job_id"], True)]
    assert scratch_left(tmp) == []
    (row,) = ledger_rows(bohrium.workspace, "bohrium")
    assert row.details["created_job_id"] is None
    assert row.details["bohr_id"] == bohrium.sim.jobs[rerun.data["job_id"]].bohr_id


def test_a_refused_submit_deletes_the_job_it_created(bohrium: Bohrium) -> None:
    bohrium.control(
        "inject",
        {"kind": "error", "method": "POST", "path": "/openapi/v4/job/add", "code": 140400,
         "message": "invalid param: scassType"},
    )
    refused = bohrium.run("submit_job.py", *ARGS, "-p", str(bohrium.input_dir()))
    assert refused.returncode == 5  # created and uploaded, then refused: not "bad input"
    assert refused.error["created_job_status"] == "deleted"
    assert bohrium.control("jobs") == []  # created, refused, deleted


def test_the_ledger_keeps_the_bohr_id_and_detail_reads_v4(bohrium: Bohrium) -> None:
    job_id = bohrium.submit()["job_id"]
    assert bohrium.run("describe_job.py", str(job_id)).returncode == 0
    bohr_id = bohrium.sim.jobs[job_id].bohr_id
    assert bohrium.requests_made("job/detail") >= 1
    paths = [r["path"] for r in bohrium.control("requests")]
    assert f"/openapi/v4/job/detail/{bohr_id}" in paths
    assert f"/openapi/v1/job/{job_id}" not in paths
