"""Sending one DPDispatcher job through the ledger (submit at most once per attempt), and
finding it again by its tag when an answer was lost. Slurm and SlurmJobArray use sbatch;
Shell starts the script with nohup and takes its pid as the job id."""

from __future__ import annotations

from typing import Any

from hpcskills.core.errors import RemoteError
from hpcskills.dpdispatcher.render import JobPlan
from hpcskills.jobs.slurm_tag import failure_phase, lookup_by_tag
from hpcskills.ledger import keys
from hpcskills.ledger.once import Outcome, Sent, submit_once
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.slurm.client import SlurmClient
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import run_read

# $1 dir, $2 job hash, $3 attempt tag: start the job detached, remember and print its pid
SHELL_LAUNCH = r"""
cd -- "$1" || exit 1
rm -f -- "$2.exit"
nohup sh -c 'bash "$1.sub"; echo $? > "$1.exit"' sh "$2" > "$2.out" 2> "$2.err" < /dev/null &
echo $! > "$2$3.pid"
echo $!
"""
PID_FILE = r'cd -- "$1" && cat -- "$2$3.pid" 2>/dev/null; exit 0'


def platform_of(batch_type: str) -> str:
    """The ledger platform of a batch type."""
    return "shell" if batch_type == "Shell" else "slurm"


def attempt_key(submission_hash: str, job: JobPlan, attempt: int) -> str:
    """The idempotency key of one attempt at one job."""
    return keys.derive_key("dpdispatcher", submission_hash, job.hash, str(attempt))


def _send_slurm(remote: Remote, remote_dir: str, job: JobPlan, name: str) -> Sent:
    client = SlurmClient.over(remote)
    return Sent(client.submit(job.script_name, [f"--job-name={name}"], workdir=remote_dir))


def _send_shell(remote: Remote, remote_dir: str, job: JobPlan, tag: str) -> Sent:
    result = remote.run(["sh", "-c", SHELL_LAUNCH, "sh", remote_dir, job.hash, tag])
    pid = result.stdout.strip().splitlines()[-1:] if result.ok else []
    if not pid or not pid[0].isdigit():
        raise RemoteError(
            f"starting the shell job failed: {result.stderr.strip()[-300:]}",
            type="remote_command_failed",
        )
    return Sent(pid[0])


def _lookup(
    remote: Remote, endpoint: Endpoint, remote_dir: str, job: JobPlan, batch: str, rec: Submission
) -> Sent | None:
    if batch != "Shell":
        return lookup_by_tag(remote, endpoint.user, rec)
    tag = rec.tag or ""
    result = run_read(remote, ["sh", "-c", PID_FILE, "sh", remote_dir, job.hash, tag])
    pid = result.stdout.strip()
    return Sent(pid, {"found_by_tag": tag}) if pid.isdigit() else None


def send_job(
    ledger: Ledger,
    remote: Remote,
    endpoint: Endpoint,
    *,
    submission_hash: str,
    remote_dir: str,
    batch_type: str,
    job: JobPlan,
    attempt: int,
    details: dict[str, Any],
) -> Outcome:
    """Submit attempt `attempt` of `job` at most once (resuming a lost answer by its tag)."""
    key = attempt_key(submission_hash, job, attempt)
    tag = keys.tag_of(key)
    name = keys.tagged_name(f"dp-{job.hash[:8]}", key)
    fields = {
        "site": endpoint.host,
        "entry_node": endpoint.label,
        "host": endpoint.host,
        "port": endpoint.port,
        "remote_user": endpoint.user,
        "name": name,
        "spec_hash": job.hash,
        "tag": tag,
        "group_key": submission_hash,
        "details": {**details, "attempt": attempt},
    }

    def send(record: Submission) -> Sent:
        if batch_type == "Shell":
            return _send_shell(remote, remote_dir, job, record.tag or tag)
        return _send_slurm(remote, remote_dir, job, record.name or name)

    return submit_once(
        ledger,
        platform_of(batch_type),
        key,
        fields,
        send=send,
        lookup=lambda record: _lookup(remote, endpoint, remote_dir, job, batch_type, record),
        failure_phase=failure_phase,
    )
