"""DPDispatcher submissions on the real local site: the seed's example end to end, then run
again to show it resumes (nothing submitted twice, finished tasks not rerun); a failed task
reported per task and rerun only when asked; SlurmJobArray and Shell batch types."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hpcskills.core.workspace import Workspace
from hpcskills.ledger.store import open_ledger

from jobsfix import SKILL, login
from scriptrun import run_script

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dpdispatcher"
SEED_ARGS = [
    "--machine",
    "machine.json",
    "--resources",
    "resources.json",
    "--task",
    "task.json",
    "--task",
    "tasks.json",
    "--work-base",
    "lammps_md_300K_5GPa/",
    "--forward-common",
    "graph.pb",
    "--forward-common",
    "fake_lammps.env",
]


def remote_sh(cluster, script: str, *args: str) -> str:
    _endpoint, remote = login(cluster)
    try:
        result = remote.run(["sh", "-c", script, "sh", *args])
    finally:
        remote.close()
    return result.check("remote").stdout


@pytest.fixture
def example(cluster, tmp_path: Path) -> Path:
    """The seed example copied to a scratch dir, and a clean remote work dir."""
    remote_sh(cluster, 'rm -rf -- "$HOME/dpdispatcher_work_dir" "$HOME/dp-tests"')
    copy = tmp_path / "example"
    shutil.copytree(FIXTURES, copy)
    return copy


def dp(cluster, folder: Path, *args: str):
    paths = [str(folder / a) if a.endswith(".json") else a for a in args]
    return run_script(
        SKILL, "submit_dpdispatcher.py", *paths, *cluster.ws_args, env=cluster.env, timeout=180
    )


def test_seed_example_end_to_end_then_resume(cluster, example: Path) -> None:
    first = dp(cluster, example, *SEED_ARGS).data
    assert first["batch_type"] == "Slurm" and len(first["jobs"]) == 3
    assert [j["action"] for j in first["jobs"]] == ["submitted"] * 3
    job_ids = [j["job_id"] for j in first["jobs"]]

    again = dp(cluster, example, *SEED_ARGS).data  # resume: nothing new is submitted
    assert again["submission_hash"] == first["submission_hash"]
    assert all(j["action"] in ("wait", "done") for j in again["jobs"])

    done = dp(cluster, example, *SEED_ARGS, "--wait", "--timeout", "120").data
    assert done["complete"] and done["counts"] == {"finished": 5}
    assert done["watch"]["complete"]
    base = example / "lammps_md_300K_5GPa"
    log = (base / "bct-0" / "log.lammps").read_text()
    assert "DP_DISPATCHER_EXPORT=test_foo_bar_baz" in log
    assert "CUDA_VISIBLE_DEVICES=0" in log and "graph=fake frozen model" in log
    assert (base / "dir3" / "out.txt").read_text() == "example 3\n"
    fetched = {*first["downloaded"], *again["downloaded"], *done["downloaded"]}
    assert {"bct-0/log.lammps", "dir1/out.txt", "dir4/out.txt"} <= fetched

    final = dp(cluster, example, *SEED_ARGS).data
    assert final["complete"] and final["downloaded"] == []
    assert all(j["action"] == "done" for j in final["jobs"])
    with open_ledger(Workspace(cluster.workspace)) as ledger:
        records = ledger.select(group_key=first["submission_hash"])
    assert sorted(r.job_id for r in records) == sorted(job_ids)  # three jobs, ever
    runs = remote_sh(
        cluster, 'cat "$HOME/$1/bct-0/log"', final["remote_dir"].split("/home/hpcdemo/")[-1]
    )
    assert runs.count("run finished") == 1  # the task ran once


def _write(folder: Path, name: str, value) -> str:
    (folder / name).write_text(json.dumps(value))
    return name


def _custom(folder: Path, batch_type: str, tasks: list[dict], group_size: int) -> list[str]:
    for task in tasks:
        (folder / "work" / task["task_work_path"]).mkdir(parents=True, exist_ok=True)
    machine = {
        "batch_type": batch_type,
        "context_type": "SSHContext",
        "local_root": "./work",
        "remote_root": "dp-tests",
        "remote_profile": {"hostname": "127.0.0.1", "username": "hpcdemo", "port": 2222},
    }
    resources = {
        "number_node": 1,
        "cpu_per_node": 1,
        "queue_name": "cpu",
        "group_size": group_size,
        "custom_flags": ["#SBATCH --mem=100M"],
    }
    return [
        "--machine",
        _write(folder, "m.json", machine),
        "--resources",
        _write(folder, "r.json", resources),
        "--task",
        _write(folder, "t.json", tasks),
    ]


def _task(path: str, command: str) -> dict:
    return {
        "command": f"echo run >> runs.txt; {command}",
        "task_work_path": path,
        "backward_files": ["runs.txt"],
        "outlog": "log",
        "errlog": "err",
    }


def test_failed_task_is_reported_and_rerun_only_when_asked(cluster, tmp_path: Path) -> None:
    tasks = [
        _task("t1", "true"),
        _task("t2", "test -f go || { echo no go >&2; exit 3; }"),
        _task("t3", "true"),
    ]
    args = _custom(tmp_path, "SlurmJobArray", tasks, 0)
    first = dp(cluster, tmp_path, *args, "--wait", "--timeout", "90").data
    assert not first["complete"]
    assert first["failed_tasks"] == ["t2"]
    failed = next(t for t in first["tasks"] if t["task_work_path"] == "t2")
    assert failed["state"] == "failed" and failed["exit_code"] == 3
    assert "--resubmit-failed" in first["hint"]
    assert (tmp_path / "work" / "t2" / "err").read_text() == "no go\n"

    again = dp(cluster, tmp_path, *args).data  # no automatic resubmission
    assert [j["action"] for j in again["jobs"]] == ["failed"]
    assert again["jobs"] and again["failed_tasks"] == ["t2"]

    remote_sh(cluster, 'touch "$1/t2/go"', first["remote_dir"])
    fixed = dp(cluster, tmp_path, *args, "--resubmit-failed", "--wait", "--timeout", "90").data
    assert [j["action"] for j in fixed["jobs"]] == ["resubmitted"]
    assert fixed["complete"] and fixed["counts"] == {"finished": 3}
    work = tmp_path / "work"
    assert (work / "t1" / "runs.txt").read_text() == "run\n"  # finished tasks not rerun
    assert (work / "t2" / "runs.txt").read_text() == "run\nrun\n"


def test_shell_batch_type(cluster, tmp_path: Path) -> None:
    args = _custom(tmp_path, "Shell", [_task("a", "hostname > host.txt"), _task("b", "true")], 1)
    first = dp(cluster, tmp_path, *args, "--wait", "--timeout", "60").data
    assert first["complete"] and len(first["jobs"]) == 2
    assert all(j["job_id"].isdigit() for j in first["jobs"])  # pids
    listed = run_script(
        SKILL, "jobs.py", "--platform", "shell", *cluster.ws_args, env=cluster.env
    ).data
    assert {j["state"] for j in listed["jobs"]} == {"COMPLETED"}


def test_dry_run_and_bad_input_send_nothing(cluster, example: Path) -> None:
    dry = dp(cluster, example, *SEED_ARGS, "--dry-run").data
    assert dry["dry_run"] and len(dry["jobs"]) == 3
    assert "#SBATCH --partition a100" in dry["jobs"][0]["script"]
    (example / "lammps_md_300K_5GPa" / "dir2" / "example.txt").unlink()
    missing = dp(cluster, example, *SEED_ARGS)
    assert missing.returncode == 2 and missing.error["type"] == "forward_file_missing"
    assert not (cluster.workspace / ".hpcskills" / "ledger.sqlite3").exists()
