#!/usr/bin/env python3
"""Demo: an agent's Bohrium session against the local simulator.

Starts `python -m hpcskills.sim bohrium`, then runs the bohrium-job scripts the way an agent
does — submit from a template (lint findings, then the upload), list, describe, log,
download, and a terminate that needs the user's confirmation (exit 3 with the plan, then
--confirm TOKEN) — printing each command line and its JSON answer. Credentials are the
simulator's fake demo key, passed in the environment and never printed.

    .venv/bin/python scripts/demo_bohrium.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "skills" / "bohrium-job" / "scripts"
MAX_LINES = 40


def show(document: dict[str, Any]) -> None:
    """Print a JSON answer, long ones cut to MAX_LINES lines."""
    lines = json.dumps(document, indent=2, ensure_ascii=False).splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"  ... ({len(lines) - MAX_LINES} more lines)"]
    print("\n".join(lines))


class Agent:
    """Runs skill scripts as an agent's exec tool does, and narrates."""

    def __init__(self, env: dict[str, str], workspace: Path) -> None:
        self.env = env
        self.workspace = workspace

    def say(self, text: str) -> None:
        print(f"\n## {text}", flush=True)

    def run(self, script: str, *args: str) -> tuple[int, dict[str, Any]]:
        argv = ["python3", f"{{baseDir}}/scripts/{script}", *args]
        print("$ " + " ".join(a if " " not in a else repr(a) for a in argv), flush=True)
        proc = subprocess.run(
            [sys.executable, str(SCRIPTS / script), *args, "--workspace", str(self.workspace)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for line in proc.stderr.strip().splitlines():
            print(f"  (stderr) {line}")
        document = json.loads(proc.stdout)
        print(f"exit {proc.returncode}")
        show(document)
        return proc.returncode, document


def make_input(folder: Path) -> Path:
    """A small LAMMPS input plus a 12 MB hidden cache the upload should leave out."""
    folder.mkdir(parents=True)
    (folder / "in.shear").write_text("units metal\nread_data data.lmp\nrun 1000\n")
    (folder / "data.lmp").write_bytes(os.urandom(2 * 1024 * 1024))
    (folder / ".cache").mkdir()
    (folder / ".cache" / "old-run.bin").write_bytes(os.urandom(12 * 1024 * 1024))
    return folder


def wait_until_ended(agent: Agent, job_id: int, timeout: float = 60.0) -> None:
    """Poll the job quietly (as a watcher would) until it has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = subprocess.run(
            [sys.executable, str(SCRIPTS / "describe_job.py"), str(job_id)],
            env=agent.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        state = json.loads(answer.stdout)["data"]["jobs"][0]["state"]
        if state not in ("PENDING", "RUNNING"):
            print(f"(job {job_id} is {state})")
            return
        time.sleep(0.5)
    raise SystemExit(f"job {job_id} did not end within {timeout:.0f} s")


def main() -> int:
    from hpcskills.sim.bohrium import DEMO_ACCESS_KEY, DEMO_PROJECT

    sim = subprocess.Popen(
        [sys.executable, "-m", "hpcskills.sim", "bohrium", "--port", "0", "--scenario", "fast"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim.stdout is not None
        base = sim.stdout.readline().strip()
        print(f"Bohrium simulator at {base} (OpenAPI and tiefblue storage on one port)")
        with tempfile.TemporaryDirectory(prefix="demo-bohrium-") as tmp:
            home = Path(tmp)
            env = {
                **os.environ,
                "ACCESS_KEY": DEMO_ACCESS_KEY,
                "PROJECT_ID": str(DEMO_PROJECT),
                "OPENAPI_HOST": base,
                "TIEFBLUE_HOST": base,
                "HOME": str(home),
                "OPENCLAW_CONFIG_PATH": str(home / "openclaw.json"),
            }
            agent = Agent(env, home / "workspace")
            session(agent, base, make_input(home / "shear"), home / "results")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return 0


def session(agent: Agent, base: str, folder: Path, results: Path) -> None:
    command = "for t in 300 600; do mpirun -n 32 lmp_mpi -var T $t -i in.shear; done > log"
    agent.say("The user: 'Run my LAMMPS shear simulation on Bohrium.' First, is Bohrium set up?")
    agent.run("check_setup.py")

    agent.say("Dry run from the lammps template, with the user's temperature loop as the command")
    _code, dry = agent.run(
        "submit_job.py", "--template", "lammps", "-p", str(folder), "-c", command, "--dry-run"
    )
    findings = ", ".join(f"{f['level']}:{f['code']}" for f in dry["data"]["lint"])
    print(
        f"-> lint: {findings}; the loop is moved into run.sh (web firewall), the hidden "
        ".cache and the empty backward_files are worth fixing"
    )

    agent.say("Submit, keeping only the log and leaving the hidden cache out")
    _code, sent = agent.run(
        "submit_job.py",
        "--template",
        "lammps",
        "-p",
        str(folder),
        "-c",
        command,
        "--backward_file",
        "log",
        "--exclude",
        ".cache",
    )
    job_id = sent["data"]["job_id"]

    agent.say("The user: 'How are my jobs doing?'")
    agent.run("list_jobs.py", "-n", "5")
    agent.run("describe_job.py", str(job_id))
    time.sleep(1.0)
    agent.run("job_log.py", str(job_id), "--tail", "5")

    agent.say("Wait for the job to end, then fetch its results")
    wait_until_ended(agent, job_id)
    agent.run("download_results.py", str(job_id), "-o", str(results), "--unzip")

    agent.say("A second, long run; then the user: 'Stop it, but keep what it produced.'")
    requests.post(f"{base}/_sim/config", json={"running": 600}, timeout=10).raise_for_status()
    _code, second = agent.run(
        "submit_job.py",
        "--template",
        "lammps",
        "-p",
        str(folder),
        "--backward_file",
        "log",
        "--exclude",
        ".cache",
        "--idempotency-key",
        "second-run",
    )
    second_id = second["data"]["job_id"]
    time.sleep(1.0)
    code, plan = agent.run("stop_jobs.py", "--action", "terminate", str(second_id))
    assert code == 3, "terminate must ask first"
    print("-> the agent shows this plan to the user and waits; the user says yes")
    agent.run(
        "stop_jobs.py",
        "--action",
        "terminate",
        str(second_id),
        "--confirm",
        plan["error"]["confirm"],
    )
    time.sleep(0.5)
    agent.run("list_jobs.py", "-n", "5")


if __name__ == "__main__":
    sys.exit(main())
