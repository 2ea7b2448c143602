"""The whole SJTU chain on the real local site: simulator token → 2FA → certificate →
SSH with that certificate → submit → list → info → output → cancel (confirmed) → sacct."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hpcskills.core.errors import RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.sim.sjtu import DEMO_USER, sign_user_cert
from hpcskills.sjtu.jobs import list_jobs
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.submit import prepare, submit
from hpcskills.ssh.certs import CERT_FILE

from scriptrun import register_secret, run_script
from sitefix import Cluster, exit_masters, remote_execs, slurm_programs, write_ssh_counter

SKILL = "sjtu-slurm"
NASTY_NAME = 'it\'s; a "test" $(touch /tmp/pwned) `id`'


def call(cluster, script: str, *args: str, backend: str = "openssh", env_extra=None, **kw):
    env = {**cluster.env, "HPCSKILLS_SSH_BACKEND": backend, **(env_extra or {})}
    return run_script(SKILL, script, *args, *cluster.ws_args, env=env, **kw)


def wait_for_state(cluster, job_id: str, wanted: set[str], backend: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        jobs = call(cluster, "list_jobs.py", "--since", "1d", backend=backend).data["jobs"]
        state = next((j["state"] for j in jobs if j["job_id"] == job_id), None)
        if state in wanted or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
def test_whole_chain(cluster, tmp_path: Path, backend: str) -> None:
    # Fresh credentials through the scripts themselves: token, then 2FA-guarded certificate.
    fresh = tmp_path / "fresh-ws"
    env = {**cluster.env, "HPCSKILLS_SSH_BACKEND": backend}
    register_secret(DEMO_USER.password)
    ws = ["--workspace", str(fresh)]
    assert (
        run_script(
            SKILL,
            "req_token.py",
            DEMO_USER.name,
            "--password-stdin",
            *ws,
            env=env,
            input=DEMO_USER.password + "\n",
        ).returncode
        == 0
    )
    cert = run_script(SKILL, "req_certificate.py", *ws, env=env).data
    assert cert["status"] == "issued" and cert["principals"] == [DEMO_USER.name]
    cluster_ws = Cluster(fresh, cluster.env, cluster.site, cluster.user)
    try:
        run_chain(cluster_ws, backend)
    finally:
        exit_masters(fresh, cluster.site)


def run_chain(cluster_ws: Cluster, backend: str) -> None:

    submitted = call(
        cluster_ws,
        "submit_job.py",
        "--partition",
        "cpu",
        "--name",
        NASTY_NAME,
        "--time",
        "5",
        "--output",
        "out-%j.txt",
        "--error",
        "err-%j.txt",
        "--command",
        "echo out-$SLURM_JOB_ID; echo err >&2; sleep 60",
        backend=backend,
    ).data
    job_id = submitted["job_id"]
    assert submitted["entry_node"] == "pilogin" and submitted["script_path"].endswith(".sbatch")
    assert submitted["summary"] == f"Job {job_id} was submitted on pilogin."
    assert submitted["next"][0].endswith(f"/job_info.py {job_id} --node-group "
                                         f"{submitted['node_group']} --workspace "
                                         f"{cluster_ws.workspace}")
    assert not Path("/tmp/pwned").exists()
    assert wait_for_state(cluster_ws, job_id, {"RUNNING"}, backend) == "RUNNING"

    listed = call(cluster_ws, "list_jobs.py", "--state", "RUNNING", backend=backend).data
    (row,) = [j for j in listed["jobs"] if j["job_id"] == job_id]
    # the name ends with the idempotency tag (-hs + 12 hex) the submit adds
    assert row["name"] == submitted["name"] and row["name"].startswith(NASTY_NAME + "-hs")
    assert row["raw_state"] == "RUNNING"

    info = call(cluster_ws, "job_info.py", job_id, backend=backend).data["jobs"][0]
    assert info["state"] == "RUNNING" and info["scontrol"][0]["stdout_path"]

    deadline = time.monotonic() + 10
    while "out-" not in (
        text := call(cluster_ws, "job_output.py", job_id, backend=backend).data["text"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert text.strip() == f"out-{job_id}"
    errors = call(cluster_ws, "job_output.py", job_id, "--stderr", backend=backend).data
    assert errors["text"].strip() == "err" and errors["path"].endswith(f"err-{job_id}.txt")

    plan = call(cluster_ws, "cancel_jobs.py", job_id, backend=backend)
    assert plan.returncode == 3
    target = plan.error["plan"]["jobs"][0]
    assert target["name"] == submitted["name"] and target["state"] == "RUNNING"
    assert wait_for_state(cluster_ws, job_id, {"RUNNING"}, backend) == "RUNNING"  # untouched
    done = call(
        cluster_ws, "cancel_jobs.py", job_id, "--confirm", plan.error["confirm"], backend=backend
    ).data
    assert done["cancelled"] == [{"job_id": job_id, "state": "CANCELLED", "verified": True}]
    assert "/list_jobs.py" in done["next"][0]

    assert wait_for_state(cluster_ws, job_id, {"CANCELLED"}, backend) == "CANCELLED"
    deadline = time.monotonic() + 15
    while True:  # accounting records land a second or two after the job ends
        record = call(cluster_ws, "job_info.py", job_id, backend=backend).data["jobs"][0]["sacct"]
        if (record and record["state"] == "CANCELLED") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # slurmdbd stores double quotes in job names as backticks (Slurm 22.05)
    assert record["state"] == "CANCELLED"
    assert record["name"] == submitted["name"].replace('"', "`")


def test_consecutive_runs_reuse_one_login(cluster) -> None:
    before = cluster.login_count("login")
    for _ in range(6):
        call(cluster, "list_jobs.py")
    call(cluster, "cluster_status.py")
    assert cluster.login_count("login") - before == 1


def test_list_jobs_costs_one_remote_exec(cluster, tmp_path: Path) -> None:
    log = write_ssh_counter(tmp_path / "bin")
    env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    call(cluster, "list_jobs.py", env_extra=env)  # the first run may log in
    for args in ((), ("--since", "1d"), ("--since", "2h", "--state", "COMPLETED")):
        before = remote_execs(log)
        listed = call(cluster, "list_jobs.py", *args, env_extra=env)
        assert listed.returncode == 0
        assert remote_execs(log) - before == 1, args


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
def test_changed_host_key_is_refused(cluster, backend: str) -> None:
    call(cluster, "list_jobs.py", backend=backend)  # first contact pins the key
    known_hosts = cluster.workspace / "credentials" / "known_hosts"
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    host = "[127.0.0.1]:2222"
    known_hosts.write_text(f"{host} {other}\n")
    exit_masters(cluster.workspace, cluster.site)  # a master made before the change would hide it
    result = call(cluster, "list_jobs.py", backend=backend)
    assert result.returncode == 5
    assert result.error["type"] == "host_key_changed"
    assert "CHANGED" in result.error["message"]
    assert known_hosts.read_text() == f"{host} {other}\n"  # the pin is not overwritten


def test_expired_certificate_needs_a_new_one(cluster, sjtu_sim) -> None:
    key = Ed25519PrivateKey.generate()
    cert_path = cluster.workspace / "credentials" / CERT_FILE
    past = int((datetime.now(timezone.utc) - timedelta(hours=3)).timestamp())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    (cluster.workspace / "credentials" / "id_ed25519").write_text(pem)
    cert_path.write_text(
        sign_user_cert(sjtu_sim.ca, key.public_key(), cluster.user, 99, 60, past) + "\n"
    )
    result = call(cluster, "list_jobs.py")
    assert result.returncode == 4
    assert result.error["type"] == "certificate_expired"
    assert "req_certificate.py" in result.error["hint"]


class DroppingRemote:
    """A real Remote whose first matching command fails as if the connection dropped."""

    def __init__(self, remote, program: str) -> None:
        self.remote, self.program, self.calls, self.dropped = remote, program, [], False

    def __getattr__(self, name):
        return getattr(self.remote, name)

    def run(self, argv, **kw):
        self.calls.append(list(argv))
        if self.program in slurm_programs(argv) and not self.dropped:
            self.dropped = True
            raise RemoteError("connection dropped", type="connection_failed", retryable=True)
        return self.remote.run(argv, **kw)


def _session(cluster, monkeypatch, **selection):
    monkeypatch.setenv("HPCSKILLS_SITE_FILE", cluster.env["HPCSKILLS_SITE_FILE"])
    site = load_site(Path(__file__).resolve().parents[2] / "skills" / SKILL / "site.json")
    return site, SiteAccess(Workspace(cluster.workspace), site).open(**selection)


def test_dropped_connection_retries_reads_not_submit(cluster, monkeypatch) -> None:
    monkeypatch.setattr("hpcskills.ssh.connect.READ_RETRY_DELAYS", (0.1, 0.1))
    site, session = _session(cluster, monkeypatch)
    session.remote = DroppingRemote(session.remote, "squeue")
    assert "jobs" in list_jobs(session)
    assert sum("squeue" in slurm_programs(c) for c in session.remote.calls) == 2  # retried

    before = {j["job_id"] for j in list_jobs(session, since="1d")["jobs"]}
    session.remote = DroppingRemote(session.remote.remote, "sbatch")
    prepared = prepare(
        site,
        script_file=None,
        spec_file=None,
        fields={"partition": "cpu", "command": "true", "name": "drop-test"},
    )
    with pytest.raises(RemoteError) as raised:
        submit(session, prepared)
    assert raised.value.retryable
    assert sum("sbatch" in slurm_programs(c) for c in session.remote.calls) == 1  # no retry
    time.sleep(1)
    after = {j["job_id"] for j in list_jobs(session, since="1d")["jobs"]}
    assert after == before  # no job was created behind the caller's back


def test_unknown_partition_is_bad_input_with_suggestions(cluster) -> None:
    result = call(cluster, "submit_job.py", "--partition", "a10", "--command", "true")
    assert result.returncode == 2
    assert result.error["type"] == "unknown_partition"
    assert "a100" in result.error["hint"]


def test_cold_storage_job_refused_before_connecting(cluster) -> None:
    archive = cluster.site["storage"]["pools"]["archive"]
    result = call(
        cluster,
        "submit_job.py",
        "--partition",
        "cpu",
        "--command",
        f"cat {archive}/home/acct-demo/hpcdemo/data.txt",
    )
    assert result.returncode == 2
    assert "cold" in result.error["message"]


def remote_exec(cluster, *argv: str, token: str | None = None):
    """remote_exec.py [--confirm TOKEN] -- ARGV (the options before the `--`)."""
    confirm = ["--confirm", token] if token else []
    return run_script(
        SKILL, "remote_exec.py", *cluster.ws_args, *confirm, "--", *argv, env=cluster.env
    )


def confirmed(cluster, *argv: str):
    """remote_exec.py ARGV, confirmed if it asks (whether it asks is the allow-list's call)."""
    first = remote_exec(cluster, *argv)
    if first.returncode != 3:
        return first
    return remote_exec(cluster, *argv, token=first.error["confirm"])


def test_a_confirm_token_runs_its_plan_once(cluster) -> None:
    name = f"hpcskills-replay-{time.time_ns()}"
    assert confirmed(cluster, "touch", name).data["exit_status"] == 0
    plan = remote_exec(cluster, "rm", "-f", name)
    assert plan.returncode == 3
    token = plan.error["confirm"]
    assert remote_exec(cluster, "rm", "-f", name, token=token).data["exit_status"] == 0
    assert confirmed(cluster, "touch", name).data["exit_status"] == 0  # the file is back
    replay = remote_exec(cluster, "rm", "-f", name, token=token)
    assert replay.returncode == 3 and replay.error["type"] == "confirmation_used"
    assert replay.error["confirm"] != token
    assert remote_exec(cluster, "ls", name).data["exit_status"] == 0  # still there
    fresh = replay.error["confirm"]
    assert remote_exec(cluster, "rm", "-f", name, token=fresh).data["exit_status"] == 0


def test_env_file_values_reach_the_job_and_nothing_else(cluster, tmp_path: Path) -> None:
    secret = f"tok-{os.urandom(8).hex()} 'q' $(id)"
    register_secret(secret)  # run_script fails a test whose output shows it
    env_file = tmp_path / "job.env"
    env_file.write_text(f"# for the job only\nDB_URL={secret}\n")
    args = ["--partition", "cpu", "--time", "5", "--output", "env-%j.txt", "--env-file",
            str(env_file), "--command", 'printf %s "$DB_URL" | sha256sum']
    shown = call(cluster, "submit_job.py", *args, "--dry-run").data
    assert "export DB_URL='<from --env-file>'" in shown["script"]
    submitted = call(cluster, "submit_job.py", *args).data
    job_id, script_path = submitted["job_id"], submitted["script_path"]
    mode = run_script(SKILL, "remote_exec.py", *cluster.ws_args, "--", "stat", "-c", "%a",
                      script_path, env=cluster.env).data
    assert mode["stdout"].strip() == "600"
    deadline = time.monotonic() + 30
    while (out := call(cluster, "job_output.py", job_id)).returncode == 6 or not out.data["text"]:
        assert time.monotonic() < deadline, out.describe()
        time.sleep(0.3)
    assert out.data["text"].split()[0] == hashlib.sha256(secret.encode()).hexdigest()
