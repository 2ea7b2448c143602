"""Submitting a job: spec → lint → (dry run | submit once through the ledger).

The intent is recorded in the workspace ledger before anything is sent; the platform is
asked first for a job carrying the key's tag (a rerun, a lost answer, another machine, a
crash), and a failed or cancelled job under the key is replaced by a new one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcskills.bohrium import idempotency
from hpcskills.bohrium.backend import Submission
from hpcskills.bohrium.context import Context
from hpcskills.bohrium.lint import lint
from hpcskills.bohrium.packing import Inventory, file_listing, scan_input
from hpcskills.bohrium.records import job_record
from hpcskills.bohrium.spec import JobSpec, build_spec, read_job_file
from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import keys
from hpcskills.ledger.once import Outcome, Sent, submit_once
from hpcskills.ledger.records import Submission as Record
from hpcskills.ledger.records import require_job_id
from hpcskills.ledger.store import Ledger, open_ledger

PLATFORM = "bohrium"
CREATED_KEY = "created_job_id"  # created on the platform, its job/add not yet confirmed
SITE = "bohrium"
REUSED_NOTE = (
    "a job with this idempotency key was already submitted; it is returned instead of a "
    "second copy (pass another --idempotency-key to run it again)"
)


@dataclass(frozen=True)
class SubmitRequest:
    """What submit_job.py was asked for."""

    input_dir: Path
    template: str | None = None
    job_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    excludes: tuple[str, ...] = ()
    wrap: bool = True
    dry_run: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Checked:
    """A linted job under its key: the spec (name not yet tagged), its input, files to add."""

    spec: JobSpec
    inventory: Inventory
    extra_files: dict[str, bytes]
    key: str
    aliases: tuple[str, ...]
    summary: dict[str, Any]


def default_name(input_dir: Path) -> str:
    """A job name from the input folder's name."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", input_dir.resolve().name).strip("-.")
    return f"job-{base or 'input'}"


def check_job(ctx: Context, request: SubmitRequest) -> Checked:
    """Build and lint the job; BadInput (nothing uploaded) on lint errors."""
    template = ctx.catalog.template(request.template) if request.template else None
    job_file = read_job_file(request.job_file) if request.job_file else None
    spec = build_spec(
        template=template,
        job_file=job_file,
        overrides=request.overrides,
        default_project=ctx.config.project_id,
    )
    if not spec.job_name:
        spec = spec.with_changes(job_name=default_name(request.input_dir))
    if request.excludes and ctx.backend.name == "cli":
        raise BadInput(
            "bohr uploads the whole input directory; --exclude needs the API backend",
            hint="drop --backend cli, or move the files out of the directory",
        )
    inventory = scan_input(request.input_dir, request.excludes)
    linted = lint(spec, inventory, ctx.catalog, wrap=request.wrap)
    if request.idempotency_key:
        key, aliases = keys.check_key(request.idempotency_key), ()
    else:
        derived = (linted.spec, inventory, linted.extra_files)
        key, aliases = idempotency.derive_key(*derived), (idempotency.released_key(*derived),)
    tagged = linted.spec.with_changes(job_name=keys.tagged_name(linted.spec.job_name or "job", key))
    summary: dict[str, Any] = {
        "spec": tagged.to_job_json(),
        "lint": linted.to_list(),
        "idempotency_key": key,
        "input": file_listing(inventory, linted.extra_files),
    }
    if linted.errors:
        raise BadInput(
            f"the job spec has {len(linted.errors)} error(s); nothing was uploaded",
            type="lint_failed",
            hint="fix the findings marked error (each has a fix), then submit again",
            **summary,
        )
    return Checked(linted.spec, inventory, linted.extra_files, key, aliases, summary)


def ledger_fields(checked: Checked) -> dict[str, Any]:
    """What the ledger keeps of a Bohrium submission (the name and tag of `checked.key`)."""
    spec = checked.summary["spec"]
    return {
        "site": SITE,
        "name": spec.get("job_name"),
        "tag": keys.tag_of(checked.key),
        "spec_hash": keys.derive_key(json.dumps(spec, sort_keys=True)),
        "details": {"project_id": spec.get("project_id"), "machine_type": spec.get("machine_type")},
    }


def send_once(
    ctx: Context, ledger: Ledger, checked: Checked, fields: dict[str, Any]
) -> dict[str, Any]:
    """Submit `checked` at most once per key through the ledger; the script's result."""
    seen: dict[str, Any] = {}

    def lookup(record: Record) -> Sent | None:
        found = ctx.backend.find_submitted(record.tag or "")
        if found is None:
            return None
        seen["job"] = found
        details = {"group_id": found.get("jobGroupId"), "bohr_id": found.get("bohrId")}
        return Sent(require_job_id(found.get("id")), {**details, CREATED_KEY: None})

    def send(record: Record) -> Sent:
        spec = checked.spec.with_changes(job_name=record.name)
        stale = record.details.get(CREATED_KEY)
        submission = Submission(
            spec,
            checked.inventory,
            checked.extra_files,
            record.idempotency_key,
            record.tag or "",
            stale_created=stale if isinstance(stale, int) else None,
            on_created=lambda job_id: ledger.add_details(record.id, {CREATED_KEY: job_id}),
        )
        answer = seen["sent"] = ctx.backend.submit(submission)
        details = {"group_id": answer.get("group_id"), "bohr_id": answer.get("bohr_job_id")}
        return Sent(require_job_id(answer.get("job_id")), {**details, CREATED_KEY: None})

    outcome: Outcome = submit_once(
        ledger,
        PLATFORM,
        checked.key,
        fields,
        send=send,
        lookup=lookup,
        aliases=checked.aliases,
        look_first=True,
    )
    record = outcome.submission
    summary = {**checked.summary, "idempotency_key": record.idempotency_key}
    summary["spec"] = {**summary["spec"], "job_name": record.name}
    if outcome.reused:
        return {
            "submitted": False,
            "reused": True,
            "note": REUSED_NOTE,
            "job": job_record(seen["job"]),
            **summary,
            "ledger_id": record.id,
        }
    return {
        "submitted": True,
        "reused": False,
        "backend": ctx.backend.name,
        **seen["sent"],
        **summary,
        "ledger_id": record.id,
    }


def dry_run_result(checked: Checked) -> dict[str, Any]:
    """What would be sent, with the generated files; nothing is sent or recorded."""
    wrappers = {name: data.decode() for name, data in checked.extra_files.items()}
    return {"dry_run": True, **checked.summary, "generated_files": wrappers}


def submit_job(ctx: Context, request: SubmitRequest, workspace: Workspace) -> dict[str, Any]:
    """Lint the job; stop on errors; dry-run, or submit it once (see the module docstring)."""
    checked = check_job(ctx, request)
    if request.dry_run:
        return dry_run_result(checked)
    with open_ledger(workspace) as ledger:
        return send_once(ctx, ledger, checked, ledger_fields(checked))
