"""Idempotent submission on the real local site: a repeat returns the same job, and a
submit whose answer was lost after Slurm accepted it is found again, never sent twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hpcskills.core.errors import RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.slurm_submit import submit_sjtu_once
from hpcskills.ledger.store import open_ledger
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.submit import prepare
from hpcskills.slurm.commands import squeue_argv
from hpcskills.slurm.parse import parse_squeue

from jobsfix import SKILL, login
from scriptrun import run_script

ROOT = Path(__file__).resolve().parents[2]
JOB = ["--partition", "cpu", "--time", "5", "--mem", "100M", "--command", "sleep 30"]


def submit(cluster, *args: str):
    return run_script("sjtu-slurm", "submit_job.py", *args, *cluster.ws_args, env=cluster.env)


def jobs_named(cluster, name: str) -> list[str]:
    _endpoint, remote = login(cluster)
    try:
        result = remote.run(squeue_argv(user=cluster.user))
    finally:
        remote.close()
    jobs = parse_squeue(result.stdout)  # jobs of earlier runs linger: only active ones count
    return [j.job_id for j in jobs if j.name == name and j.state in ("PENDING", "RUNNING")]


def cancel(cluster, job_ids: list[str]) -> None:
    _endpoint, remote = login(cluster)
    try:
        remote.run(["scancel", *job_ids])
    finally:
        remote.close()


def test_same_key_twice_is_one_job(cluster) -> None:
    key = f"run-{uuid.uuid4().hex[:8]}"
    first = submit(cluster, *JOB, "--name", "twice", "--idempotency-key", key).data
    submitted = [first["job_id"]]
    try:
        second = submit(cluster, *JOB, "--name", "twice", "--idempotency-key", key).data
        assert first["submitted"] and not first["reused"]
        assert second["reused"] and second["how"] == "existing"
        assert second["job_id"] == first["job_id"]
        assert first["name"].startswith("twice-hs")
        assert jobs_named(cluster, first["name"]) == [first["job_id"]]
        # the default key is derived from the script: an identical repeat is the same job
        third = submit(cluster, *JOB, "--name", "twice").data
        submitted.append(third["job_id"])
        fourth = submit(cluster, *JOB, "--name", "twice").data
        assert third["job_id"] == fourth["job_id"] != first["job_id"]
        listed = run_script(SKILL, "jobs.py", *cluster.ws_args, env=cluster.env).data
        assert {j["job_id"] for j in listed["jobs"]} == set(submitted)
        assert [p["commands"] for p in listed["refreshed"]] in (
            [["squeue"]],
            [["squeue", "sacct"]],
        )
        assert all(j["state"] in ("PENDING", "RUNNING") for j in listed["jobs"])
    finally:
        cancel(cluster, submitted)


class AcceptedThenLost:
    """sbatch runs for real, then the connection 'drops' before the answer arrives."""

    def __init__(self, remote) -> None:
        self.remote, self.accepted = remote, []

    def __getattr__(self, name):
        return getattr(self.remote, name)

    def run(self, argv, **kw):
        result = self.remote.run(argv, **kw)
        if "sbatch" in argv:
            self.accepted.append(result.stdout.strip())
            raise RemoteError("connection dropped", type="connection_failed", retryable=True)
        return result


def test_submit_interrupted_after_acceptance_and_repeated_is_one_job(cluster, monkeypatch):
    monkeypatch.setenv("HPCSKILLS_SITE_FILE", cluster.env["HPCSKILLS_SITE_FILE"])
    site = load_site(ROOT / "skills" / "sjtu-slurm" / "site.json")
    workspace = Workspace(cluster.workspace)
    session = SiteAccess(workspace, site).open(partition="cpu")
    session.remote = AcceptedThenLost(session.remote)
    key = f"lost-{uuid.uuid4().hex[:8]}"
    fields = {"partition": "cpu", "time": "5", "mem": "100M", "command": "sleep 30", "name": "lost"}
    prepared = prepare(site, script_file=None, spec_file=None, fields=fields)
    with pytest.raises(RemoteError) as raised:
        submit_sjtu_once(workspace, session, prepared, key)
    assert raised.value.details["outcome"] == "unknown" and raised.value.retryable
    accepted = session.remote.accepted[0].split(";")[0]
    with open_ledger(workspace) as ledger:
        assert ledger.by_key("slurm", key).phase == "unknown"

    # the same request again, as the agent would retry it: found by its tag, not resent
    again = submit(
        cluster,
        "--partition",
        "cpu",
        "--time",
        "5",
        "--mem",
        "100M",
        "--command",
        "sleep 30",
        "--name",
        "lost",
        "--idempotency-key",
        key,
    ).data
    try:
        assert again["reused"] and again["how"] == "found"
        assert again["job_id"] == accepted
        assert jobs_named(cluster, again["name"]) == [accepted]
        third = submit(
            cluster,
            *JOB[:-2],
            "--command",
            "sleep 30",
            "--name",
            "lost",
            "--idempotency-key",
            key,
        ).data
        assert third["job_id"] == accepted and third["how"] == "existing"
    finally:
        cancel(cluster, [accepted])
        session.remote.close()


def test_lost_answer_with_nothing_accepted_submits_once(cluster) -> None:
    """An intent left by a crashed run (no job exists) is looked up, then sent once."""
    workspace = Workspace(cluster.workspace)
    key = f"crash-{uuid.uuid4().hex[:8]}"  # tags are looked up cluster-wide: unique per run
    args = [*JOB, "--name", "crashed", "--idempotency-key", key]
    with open_ledger(workspace) as ledger:
        fields = {"site": "sjtu", "tag": "-hs000000000000"}
        ledger.claim("slurm", key, fields, owner="gone:999999999", now=0.0)
    result = submit(cluster, *args).data
    try:
        assert result["submitted"] and not result["reused"]
        assert jobs_named(cluster, result["name"]) == [result["job_id"]]
    finally:
        cancel(cluster, [result["job_id"]])


def test_bad_key_is_bad_input(cluster) -> None:
    result = submit(cluster, *JOB, "--idempotency-key", "no spaces allowed")
    assert result.returncode == 2 and result.error["type"] == "bad_key"
