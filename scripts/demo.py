"""The demo: run the pack's scripts as an agent would, against local simulators.

Each step prints the command line (as an agent would run it) and the JSON it printed.
Started by `scripts/demo`, which prepares the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SJTU = ROOT / "skills" / "sjtu-slurm" / "scripts"
DEMO_USER = "hpcdemo"
DEMO_PASSWORD = "hpcdemo-password"  # the simulator's documented fake demo user


def banner(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def step(
    script: Path, *args: str, env: dict[str, str], stdin: str | None = None,
    json_output: bool = True,
) -> dict:
    """Run one script, show the call and its output, return the parsed JSON document."""
    shown = " ".join(["python3", str(script.relative_to(ROOT)), *args])
    print(f"\n$ {shown}", flush=True)
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=900,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    for line in proc.stderr.strip().splitlines():
        print(f"  (stderr) {line}")
    if not json_output:
        print(proc.stdout.rstrip())
        print(f"  -> exit {proc.returncode}", flush=True)
        return {}
    document = json.loads(proc.stdout)
    print(json.dumps(document, indent=2, ensure_ascii=False))
    print(f"  -> exit {proc.returncode}", flush=True)
    return document


def start_simulator(kind: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m hpcskills.sim KIND` and return it with its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpcskills.sim", kind, "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the {kind} simulator did not start")
    return proc, url


def sjtu_credentials(workspace: Path, env: dict[str, str]) -> None:
    """Token → refresh → certificate (blocking, then --no-wait + polling) → user → quota."""
    ws = ["--workspace", str(workspace)]
    banner("SJTU HPC: API token (the password comes from a file the user uploaded)")
    password_file = workspace.parent / "uploaded-password.txt"
    password_file.write_text(DEMO_PASSWORD + "\n")
    step(SJTU / "req_token.py", DEMO_USER, "--textfile", str(password_file), *ws, env=env)
    print(f"  password file still there? {password_file.exists()}")
    step(SJTU / "refresh_token.py", *ws, env=env)

    banner("SJTU HPC: SSH certificate (the user approves 2FA in the JWB app or by email)")
    step(SJTU / "req_certificate.py", *ws, "--valid-time", "3600", env=env)
    step(SJTU / "req_certificate.py", *ws, "--valid-time", "3600", env=env)
    step(SJTU / "req_certificate.py", *ws, "--renew", "--no-wait", env=env)
    for _ in range(20):
        status = step(SJTU / "cert_status.py", *ws, "--min-valid", "600", env=env)
        if status["data"]["status"] != "pending":
            break
        time.sleep(1)

    banner("SJTU HPC: account and quota")
    step(SJTU / "user_info.py", *ws, env=env)
    step(SJTU / "quota.py", *ws, env=env)


def start_local_site(ca_public_key: Path) -> dict | None:
    """`scripts/minicluster up` (root only) trusting the simulator's CA; None when skipped."""
    if os.geteuid() != 0:
        print("\n(not root: the local Slurm site cannot start, so the cluster part is skipped;"
              " run scripts/demo as root to see it)")
        return None
    banner("Starting the embedded local site: real Slurm + sshd on 127.0.0.1")
    proc = subprocess.run([str(ROOT / "scripts" / "minicluster"), "up"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"minicluster failed: {proc.stdout}{proc.stderr[-2000:]}")
    site = json.loads(proc.stdout)
    subprocess.run([str(ROOT / "scripts" / "minicluster"), "trust-ca", str(ca_public_key)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    print(f"login node {site['login']['host']}:{site['login']['port']}, data node "
          f"{site['data']['host']}:{site['data']['port']}, partitions: "
          + ", ".join(p["name"] for p in site["partitions"]))
    return site


def wait_until_finished(job_id: str, ws: list[str], env: dict[str, str]) -> None:
    """Poll list_jobs.py (quietly) until the job has left the running states."""
    for _ in range(120):
        proc = subprocess.run([sys.executable, str(SJTU / "list_jobs.py"), *ws, "--since", "1d"],
                              env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        jobs = json.loads(proc.stdout)["data"]["jobs"]
        state = next((j["state"] for j in jobs if j["job_id"] == job_id), None)
        if state not in (None, "PENDING", "RUNNING"):
            return
        time.sleep(1)


def sjtu_cluster(workspace: Path, env: dict[str, str]) -> None:
    """The main job on the local site, then a cancelled one; one SSH login for all calls."""
    ws = ["--workspace", str(workspace)]
    banner("SJTU HPC: where does a100 work go? (no connection needed)")
    step(SJTU / "select_entry_node.py", "--partition", "debug100", *ws, env=env)
    banner("SJTU HPC: the cluster and the main job")
    step(SJTU / "cluster_status.py", *ws, "--human", env=env, json_output=False)
    submitted = step(SJTU / "submit_job.py", *ws, "--partition", "cpu", "--name", "demo-main",
                     "--time", "10", "--cpus-per-task", "2", "--command",
                     "echo \"hello from $SLURM_JOB_ID on $(hostname)\"; "
                     "python3 -c 'print(sum(i*i for i in range(10**6)))'", env=env)
    job_id = submitted["data"]["job_id"]
    step(SJTU / "list_jobs.py", *ws, env=env)
    wait_until_finished(job_id, ws, env)
    step(SJTU / "job_info.py", job_id, *ws, env=env)
    step(SJTU / "job_output.py", job_id, *ws, env=env)
    time.sleep(2)  # accounting records land a moment after the job ends
    step(SJTU / "job_efficiency.py", job_id, *ws, env=env)

    banner("SJTU HPC: cancelling needs the user's yes")
    long_job = step(SJTU / "submit_job.py", *ws, "--partition", "cpu", "--name", "demo-long",
                    "--time", "10", "--command", "sleep 600", env=env)["data"]["job_id"]
    plan = step(SJTU / "cancel_jobs.py", long_job, *ws, env=env)
    print("  (the agent shows this plan to the user, who says yes)")
    step(SJTU / "cancel_jobs.py", long_job, *ws, "--confirm", plan["error"]["confirm"], env=env)


def run_section(name: str) -> None:
    """Run another demo section (scripts/demo_NAME.py) when it exists."""
    section = ROOT / "scripts" / f"demo_{name}.py"
    if section.exists():
        subprocess.run([sys.executable, str(section)], check=True, stdin=subprocess.DEVNULL)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hpcskills-demo-") as tmp:
        root = Path(tmp)
        workspace = root / "workspace"
        workspace.mkdir()
        sim, url = start_simulator("sjtu", "--state-dir", str(root / "sjtu-sim"),
                                   "--approve-after", "2")
        print(f"SJTU HPC API simulator at {url} (2FA auto-approved after 2 s)")
        env = {**os.environ, "HPCSKILLS_SJTU_API_URL": url}
        try:
            site = start_local_site(root / "sjtu-sim" / "sjtu-ca.pub")
            sjtu_credentials(workspace, env)
            if site is not None:
                env["HPCSKILLS_SITE_FILE"] = site["site_override"]
                logins_before = count_logins(site)
                sjtu_cluster(workspace, env)
                print(f"\nSSH logins to the login node for all the cluster calls above: "
                      f"{count_logins(site) - logins_before}")
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    run_section("bohrium")
    run_section("hpc_jobs")
    print("\ndemo finished")
    return 0


def count_logins(site: dict) -> int:
    """Authenticated connections the local login node has accepted so far."""
    log = Path(site["sshd_logs"]["login"]).read_text(errors="replace")
    return log.count("Accepted publickey for ")


if __name__ == "__main__":
    sys.exit(main())
