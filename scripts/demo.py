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


def step(script: Path, *args: str, env: dict[str, str], stdin: str | None = None) -> dict:
    """Run one script, show the call and its JSON, return the parsed document."""
    shown = " ".join(["python3", str(script.relative_to(ROOT)), *args])
    print(f"\n$ {shown}", flush=True)
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=900,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    for line in proc.stderr.strip().splitlines():
        print(f"  (stderr) {line}")
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
            sjtu_credentials(workspace, env)
        finally:
            sim.terminate()
            sim.wait(timeout=10)
    print("\ndemo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
