"""Bohrium submissions entered in the ledger, so jobs.py, watch_jobs.py and the PERSEUS export
see them. The Bohrium path guards against duplicates itself (the job name carries the
idempotency tag and is looked up before any submit); the ledger records its outcome under
the same key and tag."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import keys
from hpcskills.ledger.store import open_ledger

PLATFORM = "bohrium"
SITE = "bohrium"


def submitted_job_id(result: dict[str, Any]) -> str | None:
    """The job id of a submit result, new or reused (pure)."""
    job_id = result.get("job_id") or (result.get("job") or {}).get("job_id")
    return str(job_id) if job_id else None


def record_bohrium(workspace: Workspace, result: dict[str, Any]) -> dict[str, Any]:
    """`result` of bohrium submit_job with `ledger_id` added (unchanged for a dry run). A
    ledger that cannot be written is reported in `ledger_note`: the job exists regardless."""
    job_id, key = submitted_job_id(result), result.get("idempotency_key")
    if result.get("dry_run") or not job_id or not key:
        return result
    spec = result.get("spec") or {}
    fields = {
        "site": SITE,
        "name": spec.get("job_name") or (result.get("job") or {}).get("name"),
        "tag": keys.tag_of(key),
        "spec_hash": keys.derive_key(json.dumps(spec, sort_keys=True)),
        "details": {
            "project_id": spec.get("project_id"),
            "group_id": result.get("group_id") or (result.get("job") or {}).get("group_id"),
            "machine_type": spec.get("machine_type"),
        },
    }
    try:
        with open_ledger(workspace) as ledger:
            claim = ledger.claim(PLATFORM, key, fields, now=time.time())
            record = claim.submission
            if claim.kind != "existing" or record.job_id != job_id:  # new, or run again
                record = ledger.mark_submitted(record.id, job_id)
    except (HpcError, sqlite3.Error, OSError) as exc:
        return {**result, "ledger_note": f"not recorded in the ledger: {exc}"}
    return {**result, "ledger_id": record.id}
