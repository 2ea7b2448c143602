"""Watching many jobs on the real local site: one squeue per poll for all of them, and a
poll that fails in the middle changes no job's state."""

from __future__ import annotations

from hpcskills.core.workspace import Workspace
from hpcskills.jobs.poll import Poller
from hpcskills.jobs.watch import WatchPlan, select_targets, watch
from hpcskills.ledger.store import open_ledger
from hpcskills.slurm import states as st

from jobsfix import SKILL, CountingRemote, login, record_jobs, sbatch_many
from scriptrun import run_script

JOBS = 50


def test_watch_50_jobs_one_squeue_per_poll_and_a_failed_poll_changes_nothing(cluster):
    endpoint, remote = login(cluster)
    try:
        ids = sbatch_many(remote, JOBS, 1, "w")
        assert len(ids) == JOBS
        record_jobs(cluster.workspace, endpoint, ids, "w")
        counting = CountingRemote(remote, fail_on={"squeue": {2}})
        lines: list[str] = []
        with open_ledger(Workspace(cluster.workspace)) as ledger:
            poller = Poller(
                Workspace(cluster.workspace),
                ledger,
                connect=lambda _e: counting,
                retry_reads=False,
            )
            targets = select_targets(ledger, [], all_active=True)
            assert len(targets) == JOBS
            before_failure: dict[int, str | None] = {}

            def report(line: str) -> None:
                lines.append(line)
                if line.startswith("poll 1:"):
                    before_failure.update({r.id: r.state for r in ledger.select()})
                if line.startswith("poll 2:"):  # the failed poll: nothing may have changed
                    assert {r.id: r.state for r in ledger.select()} == before_failure

            result = watch(
                ledger, poller, targets, WatchPlan(timeout=120, max_interval=4), report=report
            )
            history = [h["state"] for r in ledger.select() for h in ledger.history(r.id)]
    finally:
        remote.close()
    assert result["complete"] and not result["timed_out"]
    assert {job["state"] for job in result["jobs"]} == {st.COMPLETED}
    polls = result["polls"]
    # one squeue per poll for all 50 jobs (the failed one included), sacct at most once per poll,
    # both in one remote exec
    assert counting.counts["squeue"] == polls
    assert counting.slurm_execs == polls
    assert counting.counts["sacct"] <= polls
    assert counting.failed == ["squeue#2"]
    assert result["poll_failures"] == {"slurm:hpcdemo@127.0.0.1:2222": 1}
    assert any("failed (retry 1)" in line and "job states unchanged" in line for line in lines)
    assert st.FAILED not in history
    assert all(job["seen_after_seconds"].get("COMPLETED") is not None for job in result["jobs"])


def test_watch_script_until_running_then_done(cluster):
    endpoint, remote = login(cluster)
    try:
        ids = sbatch_many(remote, 3, 2, "s")
    finally:
        remote.close()
    record_jobs(cluster.workspace, endpoint, ids, "s")
    running = run_script(
        SKILL,
        "watch_jobs.py",
        *ids,
        "--until",
        "running",
        "--timeout",
        "60",
        *cluster.ws_args,
        env=cluster.env,
    ).data
    assert running["complete"]
    assert all(j["state"] in ("RUNNING", "COMPLETED") for j in running["jobs"])
    done = run_script(
        SKILL,
        "watch_jobs.py",
        "--all-active",
        "--timeout",
        "60",
        "--fetch-outputs",
        "--output-dir",
        str(cluster.workspace / "out"),
        *cluster.ws_args,
        env=cluster.env,
    )
    data = done.data
    assert data["complete"] and {j["state"] for j in data["jobs"]} == {"COMPLETED"}
    assert "poll 1:" in done.stderr  # progress for people goes to stderr
    listed = run_script(
        SKILL, "jobs.py", "--state", "COMPLETED", "--no-refresh", *cluster.ws_args, env=cluster.env
    ).data
    assert {j["job_id"] for j in listed["jobs"]} >= set(ids)


def test_watch_unknown_job_is_not_found(cluster):
    result = run_script(SKILL, "watch_jobs.py", "999999", *cluster.ws_args, env=cluster.env)
    assert result.returncode == 6 and result.error["type"] == "not_found"
