#!/usr/bin/env python3
"""Demo section: jobs across platforms (skills/hpc-jobs) on the real local Slurm site.

As root (it starts the minicluster): an SJTU simulator certificate, then — as an agent would
— the same submit twice with one idempotency key (one job), jobs.py, watch_jobs.py until
done with outputs fetched, a PERSEUS export (dry run, then the PERSEUS simulator, then again:
nothing changed, nothing sent), and the DPDispatcher example from the seed: submitted,
re-run (resumed, nothing submitted twice), then waited for. Each command is printed with its
JSON answer. Only fake demo credentials are used; none is printed.

    .venv/bin/python scripts/demo_hpc_jobs.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JOBS = ROOT / "skills" / "hpc-jobs" / "scripts"
SJTU = ROOT / "skills" / "sjtu-slurm" / "scripts"
EXAMPLE = ROOT / "tests" / "fixtures" / "dpdispatcher"
DEMO_USER, DEMO_PASSWORD = "hpcdemo", "hpcdemo-password"  # the simulator's fake demo user
PERSEUS_DEMO_TOKEN = "perseus-demo-token"  # the PERSEUS simulator's fake demo token
MAX_LINES = 45


def banner(title: str) -> None:
    print(f"\n=== hpc-jobs: {title} ===", flush=True)


def show(document: dict[str, Any]) -> None:
    lines = json.dumps(document, indent=2, ensure_ascii=False).splitlines()
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"  ... ({len(lines) - MAX_LINES} more lines)"]
    print("\n".join(lines))


def step(script: Path, *args: str, env: dict[str, str], cwd: Path | None = None) -> dict:
    """Run a skill script as an agent does; print the call, its stderr and its JSON."""
    shown = [a if " " not in a else repr(a) for a in args]
    print(f"\n$ python3 {{baseDir}}/scripts/{script.name} {' '.join(shown)}", flush=True)
    proc = subprocess.run([sys.executable, str(script), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    stderr = proc.stderr.strip().splitlines()
    for line in stderr[:8]:
        print(f"  (stderr) {line}")
    if len(stderr) > 8:
        print(f"  (stderr) ... {len(stderr) - 8} more progress lines")
    if "--human" in args:
        print(proc.stdout.rstrip())
        return {}
    document = json.loads(proc.stdout)
    show(document)
    print(f"  -> exit {proc.returncode}", flush=True)
    return document


def start_simulator(kind: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "hpcskills.sim", kind, "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the {kind} simulator did not start")
    return proc, url


def local_site(ca_public_key: Path) -> dict:
    minicluster = str(ROOT / "scripts" / "minicluster")
    proc = subprocess.run([minicluster, "up"], capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"minicluster failed: {proc.stdout}{proc.stderr[-2000:]}")
    subprocess.run([minicluster, "trust-ca", str(ca_public_key)], check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    return json.loads(proc.stdout)


def credentials(ws: list[str], env: dict[str, str], tmp: Path) -> None:
    banner("an SSH certificate for the local site (SJTU simulator, 2FA auto-approved)")
    password_file = tmp / "uploaded-password.txt"
    password_file.write_text(DEMO_PASSWORD + "\n")
    step(SJTU / "req_token.py", DEMO_USER, "--textfile", str(password_file), *ws, env=env)
    step(SJTU / "req_certificate.py", *ws, env=env)


def idempotent_submit(ws: list[str], env: dict[str, str]) -> str:
    banner("the same submit twice with one idempotency key: one job")
    args = ["--partition", "cpu", "--name", "demo-once", "--time", "5", "--mem", "100M",
            "--output", "demo-once-%j.out", "--command",
            'echo "hello from $SLURM_JOB_ID"; sleep 4; echo done', "--idempotency-key",
            f"demo-{os.getpid()}"]
    first = step(SJTU / "submit_job.py", *args, *ws, env=env)["data"]
    again = step(SJTU / "submit_job.py", *args, *ws, env=env)["data"]
    print(f"\n  same job both times: {first['job_id'] == again['job_id']} "
          f"(second call reused={again['reused']})")
    return str(first["job_id"])


def watch_and_list(job_id: str, ws: list[str], env: dict[str, str], tmp: Path) -> None:
    banner("the user's jobs on every site (one squeue per login node)")
    step(JOBS / "jobs.py", *ws, env=env)
    banner("wait until it is done, fetch its output (2 s, 4 s, 8 s ... polls)")
    step(JOBS / "watch_jobs.py", job_id, "--until", "done", "--timeout", "120",
         "--fetch-outputs", "--output-dir", str(tmp / "outputs"), *ws, env=env)


def perseus(ws: list[str], env: dict[str, str], workspace: Path) -> None:
    banner("report the jobs to PERSEUS (simulator)")
    sim, url = start_simulator("perseus")
    try:
        creds = workspace / "credentials"
        (creds / "perseus_token").write_text(PERSEUS_DEMO_TOKEN + "\n")  # the user puts it here
        (creds / "perseus_token").chmod(0o600)
        penv = {**env, "PERSEUS_URL": url, "PERSEUS_PROJECT_OID": "65f0c0ffee0000000000abcd",
                "PERSEUS_COMPUTE_PROJECT_ID": "cp-demo"}
        cluster = ["--cluster-id", "sjtupi"]  # the PERSEUS id of the (local) cluster
        step(JOBS / "export_perseus.py", "--dry-run", *cluster, *ws, env=penv)
        step(JOBS / "export_perseus.py", *cluster, *ws, env=penv)
        print("\n  again: nothing changed since, so nothing is sent")
        step(JOBS / "export_perseus.py", *cluster, *ws, env=penv)
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def dpdispatcher(ws: list[str], env: dict[str, str], tmp: Path, site: dict) -> None:
    banner("the DPDispatcher example from its manual: machine/resources/task JSON files")
    example = tmp / "dpdispatcher-example"
    shutil.copytree(EXAMPLE, example)
    subprocess.run(["sh", "-c", f'rm -rf ~{site["user"]}/dpdispatcher_work_dir'], check=False)
    args = ["--machine", "machine.json", "--resources", "resources.json", "--task", "task.json",
            "--task", "tasks.json", "--work-base", "lammps_md_300K_5GPa/", "--forward-common",
            "graph.pb", "--forward-common", "fake_lammps.env", *ws]
    step(JOBS / "submit_dpdispatcher.py", *args, "--dry-run", env=env, cwd=example)
    step(JOBS / "submit_dpdispatcher.py", *args, env=env, cwd=example)
    print("\n  the same command again resumes: no job is submitted twice")
    step(JOBS / "submit_dpdispatcher.py", *args, env=env, cwd=example)
    step(JOBS / "submit_dpdispatcher.py", *args, "--wait", "--timeout", "120", env=env,
         cwd=example)
    log = example / "lammps_md_300K_5GPa" / "bct-0" / "log.lammps"
    print(f"\n  downloaded {log.relative_to(tmp)}:\n    "
          + "\n    ".join(log.read_text().splitlines()))


def main() -> int:
    if os.geteuid() != 0:
        print("\n(hpc-jobs demo skipped: it needs root to start the local Slurm site)")
        return 0
    with tempfile.TemporaryDirectory(prefix="hpcskills-demo-jobs-") as name:
        tmp = Path(name)
        workspace = tmp / "workspace"
        workspace.mkdir()
        ws = ["--workspace", str(workspace)]
        sim, url = start_simulator("sjtu", "--state-dir", str(tmp / "sjtu-sim"),
                                   "--approve-after", "0")
        try:
            site = local_site(tmp / "sjtu-sim" / "sjtu-ca.pub")
            env = {**os.environ, "HPCSKILLS_SJTU_API_URL": url,
                   "HPCSKILLS_SITE_FILE": site["site_override"]}
            credentials(ws, env, tmp)
            job_id = idempotent_submit(ws, env)
            watch_and_list(job_id, ws, env, tmp)
            dpdispatcher(ws, env, tmp, site)
            perseus(ws, env, workspace)
            banner("everything the pack submitted, across platforms")
            step(JOBS / "jobs.py", "--no-refresh", "--since", "1h", *ws, env=env)
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
