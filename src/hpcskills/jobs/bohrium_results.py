"""A finished Bohrium job's result archive, fetched for watch_jobs.py --fetch-outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.backend import ApiBackend
from hpcskills.bohrium.config import load_config
from hpcskills.core.cli import log
from hpcskills.ledger.records import Submission


def download_bohrium(record: Submission, output_dir: Path) -> dict[str, Any]:
    """`OUTPUT_DIR/bohrium-<id>/out.zip` (bohr's layout), resumable."""
    backend = ApiBackend(BohriumApi(load_config()), log)
    job = backend.job(int(str(record.job_id)))
    target = output_dir / f"bohrium-{record.job_id}" / "out.zip"
    fetched = backend.fetch_result(job, target)
    return {"job_id": record.job_id, "directory": str(target.parent), **fetched}
