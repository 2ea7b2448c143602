"""`--backend cli`: the same scripts driving a stub `bohr` executable written by the tests."""

from __future__ import annotations

import json
import os
import stat
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hpcskills.sim.bohrium import DEMO_ACCESS_KEY

from bohriumfix import SKILL, make_env
from crashfix import crash_run, ledger_rows
from scriptrun import Result, run_script

STUB = Path(__file__).with_name("bohr_stub.py")
JOBS = [
    {
        "id": 101,
        "jobName": "md-run",
        "status": 1,
        "webStatus": 1,
        "jobGroupId": 7,
        "machineType": "c16_m32_cpu",
        "createTime": "2026-03-01T10:00:00Z",
    },
    {
        "id": 102,
        "jobName": "md-done",
        "status": 2,
        "webStatus": 2,
        "jobGroupId": 7,
        "createTime": "2026-03-01T09:00:00Z",
    },
    # a failed job seen with status 0 and webStatus -1
    {
        "id": 103,
        "jobName": "md-broken",
        "status": 0,
        "webStatus": -1,
        "jobGroupId": 8,
        "errorInfo": "out of memory",
        "createTime": "2026-03-01T08:00:00Z",
    },
    {
        "id": 104,
        "jobName": "md-wait",
        "status": 3,
        "webStatus": 3,
        "jobGroupId": 8,
        "createTime": "2026-03-01T07:00:00Z",
    },
]


@dataclass
class Cli:
    stub_dir: Path
    env: dict[str, str]
    workspace: Path
    tmp: Path

    def run(self, name: str, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_script(
            SKILL,
            name,
            *args,
            "--backend",
            "cli",
            "--workspace",
            str(self.workspace),
            env={**self.env, **(env or {})},
        )

    def calls(self) -> list[dict[str, Any]]:
        path = self.stub_dir / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def state(self) -> dict[str, Any]:
        return json.loads((self.stub_dir / "state.json").read_text())

    def set_errors(self, errors: dict[str, str]) -> None:
        state = self.state()
        state["errors"] = errors
        (self.stub_dir / "state.json").write_text(json.dumps(state))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    stub_dir = tmp_path / "stub"
    bin_dir = tmp_path / "bin"
    stub_dir.mkdir()
    bin_dir.mkdir()
    (stub_dir / "state.json").write_text(
        json.dumps(
            {
                "jobs": JOBS,
                "groups": [{"id": 7, "name": "batch-a", "projectId": 154}],
                "logs": {"101": "".join(f"step {i}\n" for i in range(1, 101)), "102": "done\n"},
            }
        )
    )
    executable = bin_dir / "bohr"
    executable.write_text(
        f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(STUB)!r}, run_name='__main__')\n"
    )
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "home").mkdir()
    env = make_env(
        "http://127.0.0.1:9",
        tmp_path,
        BOHR_STUB_DIR=str(stub_dir),
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    )
    return Cli(stub_dir, env, workspace, tmp_path)


def test_bohr_is_found_and_gets_the_key_only_in_its_environment(cli: Cli) -> None:
    setup = run_script(SKILL, "check_setup.py", "--workspace", str(cli.workspace), env=cli.env).data
    assert setup["bohr"]["installed"] is True and setup["bohr"]["version"] == "1.0.0"
    listed = cli.run("list_jobs.py", "-n", "10").data
    assert listed["backend"] == "cli"
    assert [j["state"] for j in listed["jobs"]] == [
        "RUNNING",
        "COMPLETED",
        "OUT_OF_MEMORY",
        "PENDING",
    ]
    last = cli.calls()[-1]
    assert last["argv"][:3] == ["job", "list", "--json"] and last["has_key"] is True
    assert last["openapi_host"] == "http://127.0.0.1:9"
    assert all(DEMO_ACCESS_KEY not in " ".join(call["argv"]) for call in cli.calls())


def test_status_filters_and_describe(cli: Cli) -> None:
    assert [j["job_id"] for j in cli.run("list_jobs.py", "--finished").data["jobs"]] == [102]
    assert "-i" in cli.calls()[-1]["argv"]
    assert [j["job_id"] for j in cli.run("list_jobs.py", "--scheduling").data["jobs"]] == [104]
    # bohr lists 103 as pending (status 0) but its webStatus says failed
    assert cli.run("list_jobs.py", "--pending").data["jobs"] == []
    assert [j["job_id"] for j in cli.run("list_jobs.py", "-j", "8").data["jobs"]] == [103, 104]
    broken = cli.run("describe_job.py", "103").data["jobs"][0]
    assert (broken["state"], broken["status"], broken["web_status"]) == ("OUT_OF_MEMORY", 0, -1)


def test_error_printed_with_exit_status_0_is_an_error(cli: Cli) -> None:
    missing = cli.run("describe_job.py", "999")
    assert missing.returncode == 6 and missing.error["type"] == "not_found"
    no_key = cli.run("list_jobs.py", env={"ACCESS_KEY": ""})
    assert no_key.returncode == 4  # our own check, before bohr runs
    cli.set_errors({"kill": "permission denied"})
    token = cli.run("stop_jobs.py", "--action", "kill", "101").error["confirm"]
    refused = cli.run("stop_jobs.py", "--action", "kill", "101", "--confirm", token)
    assert refused.returncode == 5
    assert refused.error["failed"][0]["error"]["type"] == "permission_denied"


def test_log_download_and_confirmed_terminate(cli: Cli) -> None:
    log = cli.run("job_log.py", "101", "--tail", "3", "-o", str(cli.tmp / "logs")).data
    assert log["lines"] == ["step 98", "step 99", "step 100"]
    assert Path(log["saved"]["path"]).read_text().startswith("step 1\n")

    out = cli.tmp / "results"
    got = cli.run("download_results.py", "102", "101", "-o", str(out), "--unzip").data
    assert [d["job_id"] for d in got["downloaded"]] == [102]
    assert got["skipped"][0]["job_id"] == 101
    assert zipfile.is_zipfile(out / "102" / "out.zip") and (out / "102" / "log").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["102"]  # no temporary folder left

    plan = cli.run("stop_jobs.py", "--action", "terminate", "101", "104").error
    assert [j["job_id"] for j in plan["plan"]["jobs"]] == [101]
    assert plan["plan"]["skipped"][0]["job_id"] == 104
    done = cli.run(
        "stop_jobs.py", "--action", "terminate", "101", "104", "--confirm", plan["confirm"]
    ).data
    assert done["done"] == [101]
    assert ["job", "terminate", "101"] in [c["argv"] for c in cli.calls()]


def test_submit_through_bohr_writes_run_sh_and_parses_the_job_id(cli: Cli) -> None:
    folder = cli.tmp / "input"
    folder.mkdir()
    (folder / "in.shear").write_text("run 100\n")
    sent = cli.run(
        "submit_job.py",
        "--template",
        "lammps",
        "-p",
        str(folder),
        "-c",
        "for i in 1 2; do lmp_mpi -i in.shear; done > log",
    ).data
    assert sent["job_id"] == 30000004 and sent["group_id"] == 777
    assert sent["written_to_input"] == ["run.sh"]
    assert (folder / "run.sh").read_text().rstrip().endswith("done > log")
    submitted = cli.state()["jobs"][0]
    assert submitted["submitted"]["command"] == "bash run.sh"
    assert submitted["files"] == ["in.shear", "run.sh"]
    rerun = cli.run(
        "submit_job.py",
        "--template",
        "lammps",
        "-p",
        str(folder),
        "-c",
        "for i in 1 2; do lmp_mpi -i in.shear; done > log",
    )
    assert rerun.data["reused"] is True  # found by its tag through `bohr job list`
    exclude = cli.run(
        "submit_job.py", "--template", "lammps", "-p", str(folder), "--exclude", "*.bin"
    )
    assert exclude.returncode == 2



def test_submit_killed_after_bohr_accepted_is_found_by_the_rerun(cli: Cli) -> None:
    """The bohr backend goes through the same submit-once path: killed right after `bohr job
    submit` answered, the rerun finds the job by its tag; the ledger holds its id."""
    folder = cli.tmp / "input"
    folder.mkdir()
    (folder / "in.shear").write_text("run 100\n")
    args = ["--template", "lammps", "-p", str(folder)]
    ws = ["--backend", "cli", "--workspace", str(cli.workspace)]
    crash_run("accepted", "kill", SKILL, "submit_job.py", *args, *ws, env=cli.env)
    (row,) = ledger_rows(cli.workspace, "bohrium")
    assert row.job_id is None and row.tag
    rerun = cli.run("submit_job.py", *args).data
    sent = [job for job in cli.state()["jobs"] if "submitted" in job]
    assert len(sent) == 1 and sent[0]["jobName"].endswith(row.tag)
    assert rerun["reused"] is True and rerun["job"]["job_id"] == sent[0]["id"]
    (after,) = ledger_rows(cli.workspace, "bohrium")
    assert (after.phase, after.job_id) == ("submitted", str(sent[0]["id"]))

def test_groups_through_bohr(cli: Cli) -> None:
    created = run_script(
        SKILL,
        "job_group.py",
        "create",
        "-n",
        "exp",
        "--backend",
        "cli",
        "--workspace",
        str(cli.workspace),
        env=cli.env,
    ).data
    assert created["group_id"] == 888001
    listed = run_script(
        SKILL,
        "job_group.py",
        "list",
        "--backend",
        "cli",
        "--workspace",
        str(cli.workspace),
        env=cli.env,
    ).data
    assert [g["group_id"] for g in listed["groups"]] == [888001, 7]
