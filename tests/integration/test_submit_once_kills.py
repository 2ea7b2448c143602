"""A submit killed at any step of the submit-once path, then run again, leaves exactly one job
on the platform, and the ledger knows it — for Bohrium (simulator), Slurm (sjtu-slurm on the
local site) and DPDispatcher (Slurm over SSH on the local site, and BohriumContext).

Each crashed run is the real skill script, started through crashpoint.py, which raises a
KeyboardInterrupt (handlers run) or sends the process SIGKILL (nothing runs after it) at one
step; the rerun is the same command, as an agent would retry it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from hpcskills.bohrium.context import open_context
from hpcskills.bohrium.submit import SubmitRequest, check_job, submit_job
from hpcskills.core.workspace import Workspace
from hpcskills.ledger.records import SUBMITTED
from hpcskills.slurm.commands import squeue_argv
from hpcskills.slurm.parse import parse_squeue

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    dpdispatcher_files,
    sim_fixture,  # noqa: F401 - fixture
)
from crashfix import crash_run, ledger_rows
from jobsfix import login
from scriptrun import run_script

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = ("accepted", "before_mark", "after_mark")  # steps after the platform took the job
EVERY_STEP = ("after_claim", "mid_send", "accepted", "before_mark", "after_mark")


# -- Bohrium ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "how"),
    [*((s, "interrupt") for s in EVERY_STEP), ("accepted", "kill"), ("before_mark", "kill")],
)
def test_bohrium_submit_killed_at_a_step_then_rerun_is_one_job(
    bohrium: Bohrium, step: str, how: str
) -> None:
    folder = bohrium.input_dir()
    args = ["--template", "lammps", "-p", str(folder), "--backward_file", "log"]
    ws = ["--workspace", str(bohrium.workspace)]
    crash_run(step, how, "bohrium-job", "submit_job.py", *args, *ws, env=bohrium.env)
    accepted = step in ACCEPTED
    assert len(bohrium.submitted_jobs()) == (1 if accepted else 0)
    (row,) = ledger_rows(bohrium.workspace, "bohrium")  # the intent was recorded first
    assert row.tag and row.phase == (SUBMITTED if step == "after_mark" else row.phase)
    assert row.phase == SUBMITTED or row.job_id is None

    rerun = bohrium.submit(folder=folder)
    (job,) = bohrium.submitted_jobs()
    assert rerun["reused"] is accepted and rerun["ledger_id"] == row.id
    assert str(rerun["job"]["job_id"] if accepted else rerun["job_id"]) == str(job["id"])
    assert job["name"].endswith(row.tag)
    (after,) = ledger_rows(bohrium.workspace, "bohrium")
    assert after.phase == SUBMITTED and after.job_id == str(job["id"])
    assert bohrium.requests_made("job/add") == 1  # never sent twice


def test_dpdispatcher_bohrium_killed_after_acceptance_then_rerun_is_one_job(
    bohrium: Bohrium,
) -> None:
    args = [*dpdispatcher_files(bohrium), "--workspace", str(bohrium.workspace)]
    crash_run("accepted", "kill", "hpc-jobs", "submit_dpdispatcher.py", *args, env=bohrium.env)
    assert len(bohrium.submitted_jobs()) == 1
    rerun = run_script("hpc-jobs", "submit_dpdispatcher.py", *args, env=bohrium.env).data
    assert [j["action"] for j in rerun["jobs"]] == ["reused", "submitted"]
    jobs = bohrium.submitted_jobs()
    assert sorted(str(j["id"]) for j in jobs) == sorted(j["job_id"] for j in rerun["jobs"])
    rows = ledger_rows(bohrium.workspace, "bohrium")
    assert sorted(r.job_id for r in rows) == sorted(str(j["id"]) for j in jobs)
    assert all(r.phase == SUBMITTED for r in rows)


def test_bohrium_rerun_after_upgrading_from_0_1_0_finds_its_job(
    bohrium: Bohrium, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.1.0 derived a 64-hex key, named the job with its tag and recorded the row under it;
    the same command after the upgrade derives today's key and still finds that row and job."""
    for name, value in bohrium.env.items():
        monkeypatch.setenv(name, value)
    ctx = open_context(ROOT / "skills" / "bohrium-job")
    request = SubmitRequest(bohrium.input_dir(), template="lammps")
    (released,) = check_job(ctx, request).aliases
    assert len(released) == 64
    workspace = Workspace(bohrium.workspace)
    first = submit_job(ctx, replace(request, idempotency_key=released), workspace)  # as 0.1.0

    rerun = submit_job(ctx, request, workspace)
    assert rerun["reused"] and rerun["ledger_id"] == first["ledger_id"]
    assert rerun["job"]["job_id"] == first["job_id"] and rerun["idempotency_key"] == released
    assert rerun["spec"]["job_name"] == first["spec"]["job_name"]
    assert bohrium.requests_made("job/add") == 1
    assert len(ledger_rows(bohrium.workspace, "bohrium")) == 1


# -- Slurm on the local site -----------------------------------------------------------------


def active_tagged(cluster, tag: str) -> list[str]:
    """Ids of the user's pending or running jobs whose name carries `tag`."""
    _endpoint, remote = login(cluster)
    try:
        jobs = parse_squeue(remote.run(squeue_argv(user=cluster.user)).stdout)
    finally:
        remote.close()
    return [j.job_id for j in jobs if j.name.endswith(tag) and j.state in ("PENDING", "RUNNING")]


def cancel(cluster, job_ids: list[str]) -> None:
    _endpoint, remote = login(cluster)
    try:
        remote.run(["scancel", *job_ids])
    finally:
        remote.close()


@pytest.mark.parametrize(
    ("step", "how"),
    [
        ("after_claim", "kill"),
        ("mid_send", "interrupt"),
        ("accepted", "kill"),
        ("accepted", "interrupt"),
        ("before_mark", "interrupt"),
        ("after_mark", "interrupt"),
    ],
)
def test_slurm_submit_killed_at_a_step_then_rerun_is_one_job(cluster, step, how) -> None:
    key = f"kill-{uuid.uuid4().hex[:8]}"  # tags are looked up cluster-wide: unique per run
    args = [
        *("--partition", "cpu", "--time", "5", "--mem", "100M", "--command", "sleep 60"),
        *("--name", "killed", "--idempotency-key", key, *cluster.ws_args),
    ]
    crash_run(step, how, "sjtu-slurm", "submit_job.py", *args, env=cluster.env)
    (row,) = ledger_rows(cluster.workspace, "slurm")
    accepted = step in ACCEPTED
    found = active_tagged(cluster, str(row.tag))
    try:
        assert len(found) == (1 if accepted else 0)
        assert row.phase == SUBMITTED or row.job_id is None
        rerun = run_script("sjtu-slurm", "submit_job.py", *args, env=cluster.env).data
        found = active_tagged(cluster, str(row.tag))
        assert found == [rerun["job_id"]]
        assert rerun["reused"] is accepted and rerun["ledger_id"] == row.id
        if accepted:
            assert rerun["how"] == ("existing" if step == "after_mark" else "found")
        (after,) = ledger_rows(cluster.workspace, "slurm")
        assert after.phase == SUBMITTED and after.job_id == rerun["job_id"]
    finally:
        if found:
            cancel(cluster, found)


# -- DPDispatcher (Slurm over SSH) on the local site -----------------------------------------


def dp_args(folder: Path) -> list[str]:
    """A one-task submission whose key is new on every run (its command holds a uuid)."""
    task = {
        "command": f"echo {uuid.uuid4().hex}; sleep 60",
        "task_work_path": "t1",
        "backward_files": [],
    }
    (folder / "work" / "t1").mkdir(parents=True)
    machine = {
        "batch_type": "Slurm",
        "context_type": "SSHContext",
        "local_root": "./work",
        "remote_root": "dp-kill-tests",
        "remote_profile": {"hostname": "127.0.0.1", "username": "hpcdemo", "port": 2222},
    }
    resources = {"number_node": 1, "cpu_per_node": 1, "queue_name": "cpu", "group_size": 1}
    resources["custom_flags"] = ["#SBATCH --mem=100M"]
    paths = []
    for name, value in (("m.json", machine), ("r.json", resources), ("t.json", [task])):
        (folder / name).write_text(json.dumps(value))
        paths.append(str(folder / name))
    return ["--machine", paths[0], "--resources", paths[1], "--task", paths[2]]


@pytest.mark.parametrize(
    ("step", "how"),
    [
        ("after_claim", "interrupt"),
        ("mid_send", "interrupt"),
        ("accepted", "kill"),
        ("before_mark", "interrupt"),
        ("after_mark", "kill"),
    ],
)
def test_dpdispatcher_killed_at_a_step_then_rerun_is_one_job(
    cluster, tmp_path: Path, step: str, how: str
) -> None:
    args = [*dp_args(tmp_path), *cluster.ws_args]
    crash_run(step, how, "hpc-jobs", "submit_dpdispatcher.py", *args, env=cluster.env)
    (row,) = ledger_rows(cluster.workspace, "slurm")
    accepted = step in ACCEPTED
    found = active_tagged(cluster, str(row.tag))
    try:
        assert len(found) == (1 if accepted else 0)
        rerun = run_script(
            "hpc-jobs", "submit_dpdispatcher.py", *args, env=cluster.env, timeout=180
        ).data
        found = active_tagged(cluster, str(row.tag))
        (job,) = rerun["jobs"]
        (after,) = ledger_rows(cluster.workspace, "slurm")
        assert after.phase == SUBMITTED and found == [after.job_id]
        if step == "after_mark":  # the ledger had it: nothing to send, nothing to look up
            assert job["action"] == "wait"
        else:
            assert job["action"] == ("found" if accepted else "submitted")
            assert job["job_id"] == after.job_id
    finally:
        if found:
            cancel(cluster, found)
