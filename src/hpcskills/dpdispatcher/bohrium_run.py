"""A DPDispatcher submission with BohriumContext, through the pack's Bohrium path: each job
becomes one Bohrium job whose input is the tasks' forward files, the common files and
`run.sh` (the job's script, run where the input is unpacked). Submits go through the
bohrium-job submit path (lint, then the ledger's submit-once under one key per attempt, the
intent recorded before anything is sent), and a re-run resumes: states from the job list,
results (the backward files in out.zip) unpacked once into the work base. Task states follow
their job's state."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.backend import ApiBackend
from hpcskills.bohrium.context import open_context
from hpcskills.bohrium.download import safe_members
from hpcskills.bohrium.submit import SubmitRequest, check_job, ledger_fields, send_once
from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.dpdispatcher import transfer
from hpcskills.dpdispatcher.inputs import SubmissionSpec
from hpcskills.dpdispatcher.launch import attempt_key
from hpcskills.dpdispatcher.render import JobPlan, plan_jobs, render_job
from hpcskills.dpdispatcher.status import latest_attempts
from hpcskills.jobs.poll import Poller
from hpcskills.jobs.watch import WatchPlan, watch
from hpcskills.ledger.records import PHASES, SUBMITTED, Submission
from hpcskills.ledger.store import Ledger, open_ledger
from hpcskills.slurm import states as st

KIND = "dpdispatcher"
# DPDispatcher's Bohrium input_data / remote_profile names → bohrium-job spec fields
SPEC_FIELDS = {
    "image_name": "image_address",
    "image_address": "image_address",
    "scass_type": "machine_type",
    "machine_type": "machine_type",
    "job_type": "job_type",
    "log_file": "log_file",
    "disk_size": "disk_size",
    "max_run_time": "max_run_time",
    "max_reschedule_times": "max_reschedule_times",
    "job_group_id": "job_group_id",
}
IGNORED = ("platform", "grouped", "on_demand", "job_name", "checkpoint_time", "checkpoint_files")


def spec_overrides(profile: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """bohrium-job spec fields from machine.remote_profile (pure); notes for ignored keys."""
    data = dict(profile.get("input_data") or {})
    overrides = {SPEC_FIELDS[k]: v for k, v in data.items() if k in SPEC_FIELDS}
    project = profile.get("program_id", profile.get("project_id"))
    if project is not None:
        overrides["project_id"] = project
    unknown = sorted(k for k in data if k not in SPEC_FIELDS and k not in IGNORED)
    if unknown:
        raise BadInput(
            f"machine.remote_profile.input_data: unknown keys {', '.join(unknown)}",
            hint="known: " + ", ".join(sorted({*SPEC_FIELDS, *IGNORED})),
        )
    ignored = sorted(k for k in data if k in IGNORED)
    return overrides, [f"input_data {', '.join(ignored)} ignored"] if ignored else []


def stage_input(spec: SubmissionSpec, job: JobPlan, base: Path, target: Path) -> None:
    """The job's input folder: common files, its tasks' forward files, run.sh."""
    names = list(spec.forward_common_files)
    names += [f"{t.task_work_path}/{f}" for t in job.tasks for f in t.forward_files]
    for pattern in names:
        for path in base.glob(pattern):
            if path.is_file():
                copy = target / path.relative_to(base)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
    for task in job.tasks:
        (target / task.task_work_path).mkdir(parents=True, exist_ok=True)
    (target / "run.sh").write_text(render_job(spec, job, None))


def unpack_backward(archive: Path, base: Path, patterns: list[str]) -> list[str]:
    """The members of out.zip that match the backward patterns, unpacked into `base`."""
    with zipfile.ZipFile(archive) as opened:
        wanted = [
            m
            for m in safe_members(opened)
            if not m.is_dir() and any(PurePosixPath(m.filename).match(p) for p in patterns)
        ]
        opened.extractall(base, wanted)
    return sorted(m.filename for m in wanted)


def _task_state(record: Submission | None) -> tuple[str, str | None]:
    if record is None:
        return "not_submitted", None
    if record.phase != SUBMITTED:
        return "unknown", f"submission outcome {record.phase}"
    state = record.state or ""
    if state == st.COMPLETED:
        return "finished", None
    if st.is_terminal(state):
        return "failed", f"job ended {state}"
    return ("running", None) if state == st.RUNNING else ("pending", None)


class BohriumRun:
    """One run of a BohriumContext submission."""

    def __init__(
        self,
        workspace: Workspace,
        spec: SubmissionSpec,
        ledger: Ledger,
        skill_dir: Path,
        report: Callable[[str], None],
    ) -> None:
        if not (skill_dir / "SKILL.md").is_file():
            raise BadInput(
                "BohriumContext needs the bohrium-job skill next to hpc-jobs",
                type="skill_missing",
                hint=f"install the bohrium-job skill into {skill_dir.parent}",
            )
        self.workspace, self.spec, self.ledger, self.report = workspace, spec, ledger, report
        self.context = open_context(skill_dir, "api")
        self.base = transfer.local_base(spec)
        self.jobs = plan_jobs(spec)
        self.overrides, self.notes = spec_overrides(spec.machine.bohrium_profile)

    def records(self) -> dict[str, Submission]:
        return latest_attempts(self.ledger.select(group_key=self.spec.hash, phases=PHASES))

    def send(self, job: JobPlan, attempt: int) -> dict[str, Any]:
        key = attempt_key(self.spec.hash, job, attempt)
        backward = [p for t in job.tasks for p in transfer.backward_patterns(t)]
        with tempfile.TemporaryDirectory(prefix="dp-bohrium-") as tmp:
            stage_input(self.spec, job, self.base, Path(tmp))
            overrides = {
                **self.overrides,
                "job_name": f"dp-{job.hash[:8]}",
                "command": "bash run.sh",
                "backward_files": backward,
            }
            request = SubmitRequest(Path(tmp), overrides=overrides, idempotency_key=key)
            checked = check_job(self.context, request)
            fields = ledger_fields(checked)
            fields.update(spec_hash=job.hash, group_key=self.spec.hash)
            fields["details"] = {
                **fields["details"],
                "kind": KIND,
                "job_hash": job.hash,
                "job_index": job.index,
                "attempt": attempt,
                "backward": backward,
            }
            result = send_once(self.context, self.ledger, checked, fields)
        reused = bool(result.get("reused"))
        return {
            "job_index": job.index,
            "action": "reused" if reused else "submitted" if attempt == 1 else "resubmitted",
            "job_id": str(result["job"]["job_id"] if reused else result["job_id"]),
            "attempt": attempt,
        }

    def submit_due(self, resubmit_failed: bool) -> list[dict[str, Any]]:
        latest, actions = self.records(), []
        for job in self.jobs:
            record = latest.get(job.hash)
            state = (record.state or "") if record else ""
            attempt = record.details.get("attempt", 1) if record else 1
            if record is not None and record.phase == SUBMITTED:
                if state == st.COMPLETED:
                    actions.append({"job_index": job.index, "action": "done"})
                    continue
                if not st.is_terminal(state):
                    actions.append({"job_index": job.index, "action": "wait"})
                    continue
                if not resubmit_failed:
                    actions.append({"job_index": job.index, "action": "failed"})
                    continue
                attempt += 1
            actions.append(self.send(job, attempt))
        return actions

    def download_due(self) -> list[str]:
        group = self.ledger.group(self.spec.hash) or {"details": {}}
        done: list[str] = list(group["details"].get("downloaded_jobs", []))
        backend = ApiBackend(BohriumApi(self.context.config), self.report)
        fetched: list[str] = []
        for record in self.records().values():
            if record.state != st.COMPLETED or record.job_id in done:
                continue
            with tempfile.TemporaryDirectory(prefix="dp-bohrium-out-") as tmp:
                archive = Path(tmp) / "out.zip"
                backend.fetch_result(backend.job(int(str(record.job_id))), archive)
                fetched += unpack_backward(archive, self.base, record.details["backward"])
            done.append(str(record.job_id))
        self.ledger.save_group(self.spec.hash, KIND, {"downloaded_jobs": done, "bohrium": True})
        return fetched

    def task_rows(self) -> list[dict[str, Any]]:
        latest = self.records()
        rows = []
        for job in self.jobs:
            record = latest.get(job.hash)
            state, reason = _task_state(record)
            rows += [
                {
                    "task_work_path": t.task_work_path,
                    "command": t.command,
                    "state": state,
                    "exit_code": None,
                    "reason": reason,
                    "job_index": job.index,
                    "job_id": record.job_id if record else None,
                    "attempt": record.details.get("attempt") if record else None,
                    "task_hash": t.hash,
                }
                for t in job.tasks
            ]
        return rows


def run_bohrium(
    workspace: Workspace,
    spec: SubmissionSpec,
    *,
    skill_dir: Path,
    resubmit_failed: bool,
    wait: bool,
    timeout: float,
    report: Callable[[str], None],
) -> dict[str, Any]:
    """Submit or resume a BohriumContext submission; the per-task report."""
    with open_ledger(workspace) as ledger:
        run = BohriumRun(workspace, spec, ledger, skill_dir, report)
        poller = Poller(workspace, ledger, report=report)
        active = [
            r
            for r in run.records().values()
            if r.phase == SUBMITTED and not st.is_terminal(r.state or "")
        ]
        refreshed = [p.to_dict() for p in poller.poll(active)] if active else []
        actions = run.submit_due(resubmit_failed)
        waited = None
        if wait:
            targets = [r for r in run.records().values() if r.phase == SUBMITTED]
            waited = watch(ledger, poller, targets, WatchPlan(timeout=timeout), report=report)
        fetched = run.download_due()
        rows = run.task_rows()
    return {
        "rows": rows,
        "actions": actions,
        "refreshed": refreshed,
        "fetched": fetched,
        "waited": waited,
        "notes": run.notes,
        "base": str(run.base),
    }
