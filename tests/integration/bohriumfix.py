"""Support for the bohrium-job integration tests: a simulator per test and a script runner
whose environment points at it (HOME and the OpenClaw config inside tmp_path).

Test modules import the fixtures by their function names (`sim_fixture`, ...); pytest knows
them by `name=` (`sim`, `bohrium`), so test parameters do not shadow the imports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from hpcskills.sim.bohrium import (
    DEMO_ACCESS_KEY,
    DEMO_PROJECT,
    OTHER_ACCESS_KEY,
    BohriumSimulator,
    Scenario,
)

from scriptrun import Result, register_secret, run_script

SKILL = "bohrium-job"
register_secret(DEMO_ACCESS_KEY)
register_secret(OTHER_ACCESS_KEY)

# phases long enough that a test sees each state, short enough to wait for an end
TEST_SCENARIO = Scenario(
    pending=0.0, scheduling=0.0, running=3600.0, stop_delay=0.2, log_lines_per_second=20.0
)


@dataclass
class Bohrium:
    """A running simulator plus the environment and workspace the scripts use."""

    sim: BohriumSimulator
    env: dict[str, str]
    workspace: Path
    tmp: Path

    def run(self, name: str, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run a bohrium-job script against the simulator (workspace flag added)."""
        return run_script(
            SKILL, name, *args, "--workspace", str(self.workspace), env={**self.env, **(env or {})}
        )

    def group_run(self, action: str, *args: str, env: dict[str, str] | None = None) -> Result:
        """`job_group.py ACTION ARGS --workspace WS`."""
        return run_script(
            SKILL,
            "job_group.py",
            action,
            *args,
            "--workspace",
            str(self.workspace),
            env={**self.env, **(env or {})},
        )

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.sim.base_url}/_sim/{path}"
        if body is None:
            return requests.get(url, timeout=10).json()
        answer = requests.post(url, json=body, timeout=10)
        assert answer.ok, answer.text
        return answer.json()

    def input_dir(self, name: str = "input", files: dict[str, str] | None = None) -> Path:
        """A small job input directory."""
        folder = self.tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        for rel, text in (files or {"in.shear": "units metal\nrun 100\n"}).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
        return folder

    def submit(self, *args: str, folder: Path | None = None) -> dict[str, Any]:
        """Submit a LAMMPS-template job; its data."""
        folder = folder or self.input_dir()
        result = self.run(
            "submit_job.py",
            "--template",
            "lammps",
            "-p",
            str(folder),
            "--backward_file",
            "log",
            *args,
        )
        return result.data

    def requests_made(self, route: str) -> int:
        """How many requests the simulator answered on one route (e.g. `job/add`), in any
        API version."""
        counts = self.sim.stats().get("requests", {})
        return counts.get(route, 0) + counts.get(f"v4/{route}", 0)

    def submitted_jobs(self) -> list[dict[str, Any]]:
        return [job for job in self.control("jobs") if job["submitted"]]

    def wait_for(
        self, job_id: int, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Poll the simulator until the job satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = {job["id"]: job for job in self.control("jobs")}
            job = jobs.get(job_id)
            if job is not None and predicate(job):
                return job
            assert time.monotonic() < deadline, f"job {job_id} never got there: {job}"
            time.sleep(0.05)


def dpdispatcher_files(bohrium: Bohrium) -> list[str]:
    """machine/resources/task files of a 3-task BohriumContext submission (2 jobs); args."""
    folder = bohrium.tmp / "dp"
    for n in range(3):
        (folder / "work" / f"t{n}").mkdir(parents=True)
        (folder / "work" / f"t{n}" / "in.lmp").write_text(f"run {n}\n")
    machine = {
        "batch_type": "Bohrium",
        "context_type": "Bohrium",
        "local_root": "./work",
        "remote_profile": {
            "email": "user@example.org",
            "password": "not-used-123",
            "program_id": 154,
            "input_data": {
                "job_type": "container",
                "image_name": "registry.dp.tech/dptech/lammps:29Sep2021",
                "scass_type": "c2_m4_cpu",
                "platform": "ali",
            },
        },
    }
    resources = {"group_size": 2, "envs": {"OMP_NUM_THREADS": "1"}}
    task = {
        "command": "lmp -i in.lmp",
        "forward_files": ["in.lmp"],
        "backward_files": ["log.lammps"],
    }
    tasks = [{**task, "task_work_path": f"t{n}"} for n in range(3)]
    for name, value in (("m.json", machine), ("r.json", resources), ("t.json", tasks)):
        (folder / name).write_text(json.dumps(value))
    return [
        "--machine",
        str(folder / "m.json"),
        "--resources",
        str(folder / "r.json"),
        "--task",
        str(folder / "t.json"),
    ]


def make_env(base_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """Settings for the scripts: the demo key and project, hosts, an empty OpenClaw home."""
    config = tmp / "openclaw.json"
    return {
        "ACCESS_KEY": DEMO_ACCESS_KEY,
        "PROJECT_ID": str(DEMO_PROJECT),
        "OPENAPI_HOST": base_url,
        "TIEFBLUE_HOST": base_url,
        "OPENCLAW_CONFIG_PATH": str(config),
        "HOME": str(tmp / "home"),
        "BOHRIUM_ACCESS_KEY": "",
        "BOHR_ACCESS_KEY": "",
        "BOHRIUM_API_VERSIONS": "",
        "BOHRIUM_PROJECT_ID": "",
        **extra,
    }


def write_openclaw_config(path: Path, entry: dict[str, Any]) -> None:
    """An openclaw.json in JSON5 (a comment, bare keys, trailing commas) with one entry."""
    path.write_text(
        "// written by the tests\n"
        f'{{\n  skills: {{\n    entries: {{\n      "{SKILL}": {json.dumps(entry)},\n    }},\n'
        "  },\n}\n"
    )


@pytest.fixture(name="sim")
def sim_fixture() -> Iterator[BohriumSimulator]:
    """A fresh simulator with the test scenario."""
    sim = BohriumSimulator(scenario=TEST_SCENARIO, log=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(name="bohrium")
def bohrium_fixture(sim: BohriumSimulator, tmp_path: Path) -> Bohrium:
    """The simulator, the scripts' environment and a workspace in tmp_path."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "home").mkdir()
    return Bohrium(sim, make_env(sim.base_url, tmp_path), workspace, tmp_path)
