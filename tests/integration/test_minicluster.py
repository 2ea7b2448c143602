"""scripts/minicluster brings up a real Slurm site on loopback (root only).

Runs when root and HPCSKILLS_MINICLUSTER=1 (scripts/test sets it). In CI (env CI set) a
non-root run fails instead of skipping, and so does any run without the cluster when
HPCSKILLS_REQUIRE_MINICLUSTER=1, so the suite cannot go green without the real cluster.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINICLUSTER = REPO / "scripts" / "minicluster"
EXPECTED_PARTITIONS = {"cpu", "debug", "huge", "64c512g", "a100", "debuga100", "arm128c256g"}


def _gate() -> None:
    is_root = os.geteuid() == 0
    if os.environ.get("CI") and not is_root:
        pytest.fail("CI must run the minicluster tests as root")
    if not (is_root and os.environ.get("HPCSKILLS_MINICLUSTER") == "1"):
        reason = "needs root and HPCSKILLS_MINICLUSTER=1"
        if os.environ.get("HPCSKILLS_REQUIRE_MINICLUSTER") == "1":
            pytest.fail(reason + " (HPCSKILLS_REQUIRE_MINICLUSTER=1)")
        pytest.skip(reason)


def minicluster(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MINICLUSTER), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def up() -> dict:
    result = minicluster("up")
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def site() -> Iterator[dict]:
    _gate()
    was_up = minicluster("status").returncode == 0
    yield up()
    if not was_up:
        minicluster("down")


def slurm(site: dict, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SLURM_CONF": site["slurm_conf"]}
    return subprocess.run(
        list(argv), env=env, capture_output=True, text=True, timeout=60, check=check
    )


def as_user(site: dict, command: str) -> subprocess.CompletedProcess[str]:
    """Run a shell command as the site's user, the way a login shell there would."""
    line = f"export SLURM_CONF={shlex.quote(site['slurm_conf'])}; {command}"
    return subprocess.run(
        ["runuser", "-u", site["user"], "--", "sh", "-c", line],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for_accounting_state(site: dict, job_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        out = slurm(site, "sacct", "-n", "-X", "-P", "-j", job_id, "-o", "state", check=False)
        state = out.stdout.strip()
        if state and state.split()[0] not in ("PENDING", "RUNNING", "COMPLETING"):
            return state
        time.sleep(0.2)
    return state


def test_up_describes_the_site(site: dict) -> None:
    assert site["login"] == {**site["login"], "host": "127.0.0.1", "port": 2222}
    assert site["data"]["port"] == 2223
    assert site["totp"]["port"] == 2224 and Path(site["sshd_logs"]["totp"]).is_file()
    for secret_file in (site["totp"]["secret_file"], site["totp"]["pam_secret_file"]):
        assert Path(secret_file).stat().st_mode & 0o077 == 0  # root's only (the module: 0400)
    assert {p["name"] for p in site["partitions"]} == EXPECTED_PARTITIONS
    assert site["accounting"] is True
    assert Path(site["slurm_conf"]).is_file()
    assert Path(site["revoked_keys"]).is_file()
    for keys in site["host_public_keys"].values():
        assert all(Path(key).is_file() for key in keys)
    for home in site["storage"]["homes"].values():
        assert Path(home).is_dir()


def test_sinfo_lists_the_partitions(site: dict) -> None:
    out = slurm(site, "sinfo", "-h", "-o", "%P %a").stdout.split("\n")
    listed = dict(line.split() for line in out if line)
    assert set(listed) == {"cpu*", *(EXPECTED_PARTITIONS - {"cpu"})}
    assert set(listed.values()) == {"up"}


def test_jobs_run_and_reach_accounting(site: dict) -> None:
    workdir = shlex.quote(site["storage"]["homes"]["lustre"])
    cpu_job = as_user(site, f"sbatch --parsable --chdir={workdir} --wrap='echo hello'")
    gpu_job = as_user(
        site, f"sbatch --parsable --chdir={workdir} -p a100 --gres=gpu:1 --wrap='exit 3'"
    )
    assert cpu_job.returncode == 0, cpu_job.stderr
    assert gpu_job.returncode == 0, gpu_job.stderr
    cpu_id, gpu_id = cpu_job.stdout.strip(), gpu_job.stdout.strip()

    assert wait_for_accounting_state(site, cpu_id) == "COMPLETED"
    assert wait_for_accounting_state(site, gpu_id) == "FAILED"
    exit_code = slurm(site, "sacct", "-n", "-X", "-P", "-j", gpu_id, "-o", "exitcode").stdout
    assert exit_code.strip() == "3:0"
    output = Path(site["storage"]["homes"]["lustre"]) / f"slurm-{cpu_id}.out"
    assert output.read_text() == "hello\n"
    seff = as_user(site, f"seff {cpu_id}")
    assert "State: COMPLETED (exit code 0)" in seff.stdout
    assert "Cluster: sjtupi" in seff.stdout


def test_partition_limits_are_enforced_at_submit(site: dict) -> None:
    rejected = as_user(site, "sbatch -p debug -t 30 --wrap=true")
    assert rejected.returncode != 0
    assert "time limit" in rejected.stderr.lower()


def test_cold_pools_report_different_free_space(site: dict) -> None:
    if not site["storage"]["distinct_free_space"]:
        pytest.skip("mounts not permitted here: " + json.dumps(site["storage"]["mounts"]))
    pools = site["storage"]["pools"]
    out = subprocess.run(
        ["df", "--output=avail", pools["archive"], pools["vault"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1:]
    assert out[0] != out[1]


def test_down_then_up(site: dict) -> None:
    down = minicluster("down")
    assert down.returncode == 0, down.stderr
    assert minicluster("down").returncode == 0  # idempotent
    assert minicluster("status").returncode == 1

    again = up()
    assert again["slurm_conf"] == site["slurm_conf"]
    assert minicluster("status").returncode == 0
    started = time.monotonic()
    assert up() == again  # already up: same document, no restart
    assert time.monotonic() - started < 5
    nodes = slurm(site, "sinfo", "-h", "-N", "-o", "%N %T").stdout.split("\n")[0]
    assert nodes.split() == ["node01", "idle"]
