"""Submitting a job: spec → lint → (dry run | look up by idempotency key | send)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcskills.bohrium import idempotency
from hpcskills.bohrium.backend import Submission
from hpcskills.bohrium.context import Context
from hpcskills.bohrium.lint import lint
from hpcskills.bohrium.packing import file_listing, scan_input
from hpcskills.bohrium.records import job_record
from hpcskills.bohrium.spec import build_spec, read_job_file
from hpcskills.core.errors import BadInput


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


def default_name(input_dir: Path) -> str:
    """A job name from the input folder's name."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", input_dir.resolve().name).strip("-.")
    return f"job-{base or 'input'}"


def submit_job(ctx: Context, request: SubmitRequest) -> dict[str, Any]:
    """Lint the job; stop on errors; dry-run, reuse a job already sent, or send it."""
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
    checked = lint(spec, inventory, ctx.catalog, wrap=request.wrap)
    key = (
        idempotency.check_key(request.idempotency_key)
        if request.idempotency_key
        else idempotency.derive_key(checked.spec, inventory, checked.extra_files)
    )
    tag = idempotency.tag_of(key)
    final = checked.spec.with_changes(
        job_name=idempotency.tagged_name(checked.spec.job_name or "job", key)
    )
    summary: dict[str, Any] = {
        "spec": final.to_job_json(),
        "lint": checked.to_list(),
        "idempotency_key": key,
        "input": file_listing(inventory, checked.extra_files),
    }
    if checked.errors:
        raise BadInput(
            f"the job spec has {len(checked.errors)} error(s); nothing was uploaded",
            type="lint_failed",
            hint="fix the findings marked error (each has a fix), then submit again",
            **summary,
        )
    if request.dry_run:
        wrappers = {name: data.decode() for name, data in checked.extra_files.items()}
        return {"dry_run": True, **summary, "generated_files": wrappers}
    existing = ctx.backend.find_submitted(tag)
    if existing is not None:
        return {
            "submitted": False,
            "reused": True,
            "note": "a job with this idempotency key was already submitted; it is returned "
            "instead of a second copy (pass another --idempotency-key to run it again)",
            "job": job_record(existing),
            **summary,
        }
    sent = ctx.backend.submit(Submission(final, inventory, checked.extra_files, key, tag))
    return {"submitted": True, "reused": False, "backend": ctx.backend.name, **sent, **summary}
