"""Running a DPDispatcher submission: upload once, submit each job at most once, and on
every later run resume — refresh the jobs' states (one squeue), read every task's tag (one
command), fetch finished tasks' backward files, report failed tasks. Failed jobs are sent
again only when asked (`resubmit_failed`), and then only their unfinished tasks run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.dpdispatcher import status, transfer
from hpcskills.dpdispatcher.bohrium_run import run_bohrium
from hpcskills.dpdispatcher.inputs import SubmissionSpec
from hpcskills.dpdispatcher.launch import send_job
from hpcskills.dpdispatcher.render import JobPlan, plan_jobs, render_job
from hpcskills.jobs.group_outputs import KEPT_HINT, download_files
from hpcskills.jobs.local_files import FetchedFiles, kept_note
from hpcskills.jobs.poll import Connect, Poller
from hpcskills.jobs.watch import WatchPlan, watch
from hpcskills.ledger.records import PHASES, Submission
from hpcskills.ledger.store import Ledger, open_ledger
from hpcskills.slurm import states as st
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote
from hpcskills.ssh.identity import TOTP_SECRET_FILE

KIND = "dpdispatcher"


@dataclass(frozen=True)
class RunOptions:
    """How to run a submission."""

    resubmit_failed: bool = False
    dry_run: bool = False
    wait: bool = False
    timeout: float = 600.0
    backend: str | None = None


@dataclass
class Session:
    """One run: the spec, its jobs, the connection and where things are."""

    spec: SubmissionSpec
    jobs: list[JobPlan]
    endpoint: Endpoint
    remote: Remote
    ledger: Ledger
    base: Path
    remote_dir: str = ""
    notes: list[str] = field(default_factory=list)


def dry_run(spec: SubmissionSpec, base: Path, names: list[str]) -> dict[str, Any]:
    """The jobs and scripts a submission would make; nothing is sent."""
    remote_dir = transfer.remote_root_path(spec.machine.remote_root or "", spec.hash)
    return {
        "dry_run": True,
        "submission_hash": spec.hash,
        "batch_type": spec.machine.batch_type,
        "local_base": str(base),
        "remote_dir": remote_dir,
        "forward_files": names,
        "jobs": [
            {
                "job_index": job.index,
                "job_hash": job.hash,
                "tasks": [t.task_work_path for t in job.tasks],
                "script": render_job(spec, job, remote_dir),
            }
            for job in plan_jobs(spec)
        ],
    }


def _endpoint(spec: SubmissionSpec, workspace: Workspace) -> Endpoint:
    ssh = spec.machine.ssh
    assert ssh is not None  # SSHContext
    if ssh.totp and not workspace.credentials().exists(TOTP_SECRET_FILE):
        raise BadInput(
            "machine.json names a totp_secret, but the workspace has no credentials/"
            f"{TOTP_SECRET_FILE}",
            type="totp_secret_missing",
            hint=f"store the TOTP secret in {workspace.credentials_dir / TOTP_SECRET_FILE} "
            "(0600); codes are generated from there, never from machine.json",
        )
    return Endpoint(ssh.hostname, ssh.port, ssh.username, ssh.hostname)


def _upload_once(run: Session) -> None:
    group = run.ledger.group(run.spec.hash)
    details = group["details"] if group else {}
    if details.get("uploaded"):
        run.remote_dir = details["remote_dir"]
        return
    wanted = transfer.remote_root_path(run.spec.machine.remote_root or "", run.spec.hash)
    task_dirs = sorted({t.task_work_path for t in run.spec.tasks})
    run.remote_dir = transfer.make_remote_dirs(run.remote, wanted, task_dirs)
    scripts = {job.script_name: render_job(run.spec, job, run.remote_dir) for job in run.jobs}
    names = transfer.forward_names(run.spec, run.base)
    sent = transfer.upload_inputs(run.remote, run.remote_dir, run.base, names, scripts)
    run.ledger.save_group(
        run.spec.hash,
        KIND,
        {
            "remote_dir": run.remote_dir,
            "local_base": str(run.base),
            "batch_type": run.spec.machine.batch_type,
            "host": run.endpoint.host,
            "jobs": [{"index": j.index, "hash": j.hash} for j in run.jobs],
            "uploaded": True,
            "uploaded_bytes": sent,
        },
    )


def _records(run: Session) -> dict[str, Submission]:
    return status.latest_attempts(run.ledger.select(group_key=run.spec.hash, phases=PHASES))


def _job_details(run: Session, job: JobPlan) -> dict[str, Any]:
    return {
        "kind": KIND,
        "job_hash": job.hash,
        "job_index": job.index,
        "remote_dir": run.remote_dir,
        "batch_type": run.spec.machine.batch_type,
        "backward": [p for t in job.tasks for p in transfer.backward_patterns(t)],
    }


def _submit_what_is_due(run: Session, resubmit_failed: bool) -> list[dict[str, Any]]:
    tags = transfer.task_states(run.remote, run.remote_dir, run.spec.tasks)
    latest = _records(run)
    actions = []
    for job in run.jobs:
        record = latest.get(job.hash)
        need = status.job_needs(job, tags, record)
        attempt = record.details.get("attempt", 1) if record else 1
        if need == "failed" and resubmit_failed:
            attempt += 1
        elif need != "submit":
            actions.append({"job_index": job.index, "action": need})
            continue
        outcome = send_job(
            run.ledger,
            run.remote,
            run.endpoint,
            submission_hash=run.spec.hash,
            remote_dir=run.remote_dir,
            batch_type=run.spec.machine.batch_type,
            job=job,
            attempt=attempt,
            details=_job_details(run, job),
        )
        actions.append(
            {
                "job_index": job.index,
                "action": "resubmitted" if attempt > 1 and not outcome.reused else outcome.how,
                "job_id": outcome.submission.job_id,
                "attempt": attempt,
            }
        )
    return actions


def _download_due(run: Session, rows: list[dict[str, Any]]) -> FetchedFiles:
    """Backward files of newly finished tasks, logs of newly failed ones, and the common
    backward files once everything finished — one stream; remembered in the ledger."""
    details = (run.ledger.group(run.spec.hash) or {"details": {}})["details"]
    done: dict[str, str] = dict(details.get("downloaded", {}))
    tasks = {t.hash: t for t in run.spec.tasks}
    patterns: list[str] = []
    for row in rows:
        state = row["state"]
        if state not in ("finished", "failed") or done.get(row["task_hash"]) == state:
            continue
        task = tasks[row["task_hash"]]
        patterns += (
            transfer.backward_patterns(task) if state == "finished" else transfer.log_patterns(task)
        )
        done[row["task_hash"]] = state
    complete = bool(rows) and all(r["state"] == "finished" for r in rows)
    if complete and not details.get("common_downloaded"):
        patterns += list(run.spec.backward_common_files)
    fetched = download_files(run.remote, run.remote_dir, run.base, patterns)
    run.ledger.save_group(
        run.spec.hash,
        KIND,
        {"downloaded": done, "common_downloaded": complete or details.get("common_downloaded")},
    )
    return fetched


def _refresh(run: Session, poller: Poller) -> list[dict[str, Any]]:
    active = [
        r
        for r in _records(run).values()
        if r.phase == "submitted" and not st.is_terminal(r.state or "")
    ]
    return [p.to_dict() for p in poller.poll(active)] if active else []


def submit_dpdispatcher(
    workspace: Workspace,
    spec: SubmissionSpec,
    options: RunOptions,
    *,
    report: Callable[[str], None] = lambda _line: None,
    connect: Connect | None = None,
    bohrium_skill_dir: Path | None = None,
) -> dict[str, Any]:
    """Submit or resume a DPDispatcher submission (see the module docstring); BohriumContext
    submissions go through the bohrium-job skill in `bohrium_skill_dir`."""
    base = transfer.local_base(spec)
    names = transfer.forward_names(spec, base)
    if options.dry_run:
        return dry_run(spec, base, names)
    if spec.machine.context_type == "BohriumContext":
        done = run_bohrium(
            workspace,
            spec,
            skill_dir=bohrium_skill_dir or Path("bohrium-job"),
            resubmit_failed=options.resubmit_failed,
            wait=options.wait,
            timeout=options.timeout,
            report=report,
        )
        notes = [*spec.machine.notes, *done["notes"]]
        where = {"platform": "bohrium", "local_base": done["base"], "notes": notes}
        return _report(
            spec,
            where,
            done["rows"],
            done["actions"],
            done["refreshed"],
            done["fetched"],
            done["waited"],
        )
    endpoint = _endpoint(spec, workspace)
    opener = connect or (
        lambda e: open_remote(workspace, e, backend=options.backend, report=report)
    )
    remote = opener(endpoint)
    try:
        with open_ledger(workspace) as ledger:
            run = Session(spec, plan_jobs(spec), endpoint, remote, ledger, base)
            poller = Poller(
                workspace, ledger, report=report, connect=lambda _e: remote, own_connections=False
            )
            _upload_once(run)
            refreshed = _refresh(run, poller)
            actions = _submit_what_is_due(run, options.resubmit_failed)
            waited = None
            if options.wait:
                targets = [r for r in _records(run).values() if r.phase == "submitted"]
                waited = watch(
                    ledger, poller, targets, WatchPlan(timeout=options.timeout), report=report
                )
            tags = transfer.task_states(remote, run.remote_dir, spec.tasks)
            rows = status.task_rows(run.jobs, tags, _records(run))
            got = _download_due(run, rows)
            where = {
                "host": endpoint.host,
                "remote_dir": run.remote_dir,
                "local_base": str(base),
                "notes": list(spec.machine.ssh.notes if spec.machine.ssh else ()),
                **kept_note(base, got.not_overwritten, KEPT_HINT),
            }
            return _report(spec, where, rows, actions, refreshed, got.fetched, waited)
    finally:
        remote.close()


def _report(
    spec: SubmissionSpec,
    where: dict[str, Any],
    rows: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    refreshed: list[dict[str, Any]],
    fetched: list[str],
    waited: dict[str, Any] | None,
) -> dict[str, Any]:
    failed = [r for r in rows if r["state"] == "failed"]
    result: dict[str, Any] = {
        "submission_hash": spec.hash,
        "batch_type": spec.machine.batch_type,
        **where,
        "complete": all(r["state"] == "finished" for r in rows),
        "counts": status.summary(rows),
        "jobs": actions,
        "tasks": rows,
        "failed_tasks": [r["task_work_path"] for r in failed],
        "downloaded": fetched,
        "refreshed": refreshed,
    }
    if waited is not None:
        result["watch"] = {
            k: waited[k]
            for k in ("complete", "timed_out", "polls", "poll_failures", "elapsed_seconds")
        }
    if failed:
        result["hint"] = (
            "failed tasks are not rerun automatically: fix the cause (see each task's errlog, "
            "downloaded next to its inputs), then run again with --resubmit-failed; finished "
            "tasks are skipped"
        )
    return result
