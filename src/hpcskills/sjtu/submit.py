"""Submitting batch jobs: a rendered resources spec or the user's own script."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.job_rules import (
    check_job,
    check_run_options,
    refuse_cold_storage,
    require_node_group,
)
from hpcskills.sjtu.session import ClusterSession
from hpcskills.sjtu.site import SiteProfile
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.runopts import RunOptions
from hpcskills.slurm.script import JobSpec, render_sbatch, spec_from_mapping

DEFAULT_JOB_DIR = "hpcskills-jobs"
UPLOAD_SCRIPT = 'mkdir -p -- "$1" && cd -- "$1" && cat > "$2" && pwd -P'
_PARTITION_LINE = re.compile(r"^#SBATCH\s+(?:-p\s*|--partition[=\s]+)(\S+)", re.M)
_NAME_LINE = re.compile(r"^#SBATCH\s+(?:-J\s*|--job-name[=\s]+)(\S+)", re.M)


@dataclass(frozen=True)
class Prepared:
    """A batch script ready to upload, with the node group it must be submitted from and
    how it runs (array, dependencies, hold: sbatch options, not #SBATCH lines)."""

    script: str
    partition: str
    node_group: str
    name: str
    workdir: str | None
    warnings: list[str] = field(default_factory=list)
    run: RunOptions = field(default_factory=RunOptions)


def prepare_spec(site: SiteProfile, spec: JobSpec) -> Prepared:
    """Validate a resources spec against the site and render its #SBATCH script."""
    check = check_job(site, spec)
    return Prepared(
        render_sbatch(check.spec),
        check.spec.partition,
        check.node_group,
        check.spec.name or "job",
        check.spec.workdir,
        check.warnings,
    )


def prepare_script(site: SiteProfile, text: str, partition: str | None) -> Prepared:
    """Check the user's own script: its partition (flag or #SBATCH line), no cold storage."""
    if not text.startswith("#!"):
        raise BadInput("the batch script must start with a #! line (e.g. #!/bin/bash)")
    found = _PARTITION_LINE.search(text)
    if (
        partition
        and found
        and site.partition(found.group(1)).name != site.partition(partition).name
    ):
        raise BadInput(
            f"--partition {partition} contradicts the script's #SBATCH --partition={found.group(1)}"
        )
    chosen = partition or (found.group(1) if found else None)
    if not chosen:
        raise BadInput(
            "no partition: pass --partition or put #SBATCH --partition in the script",
            type="partition_required",
        )
    own = site.partition(chosen)
    refuse_cold_storage(site, texts=[text])
    name = _NAME_LINE.search(text)
    warnings = []
    if partition and not found:
        text = text.replace("\n", f"\n#SBATCH --partition={own.name}\n", 1)
        warnings.append(f"added #SBATCH --partition={own.name}")
    return Prepared(
        text,
        own.name,
        own.node_group,
        name.group(1) if name else "job",
        None,
        warnings,
    )


def script_file_name(name: str, now: float | None = None) -> str:
    """A unique, shell-harmless file name for the uploaded script."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] or "job"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{safe}-{stamp}-{secrets.token_hex(3)}.sbatch"


def submit(
    session: ClusterSession, prepared: Prepared, sbatch_options: Sequence[str] = ()
) -> dict[str, Any]:
    """Upload the script to the work dir and sbatch it (never retried: a retry could
    create a second job). `sbatch_options` (e.g. the idempotency tag in --job-name)
    override the script's #SBATCH lines."""
    require_node_group(
        session.site, session.site.partition(prepared.partition), session.choice.node_group
    )
    directory = prepared.workdir or DEFAULT_JOB_DIR
    file_name = script_file_name(prepared.name)
    upload = session.remote.run(
        ["sh", "-c", UPLOAD_SCRIPT, "sh", directory, file_name], stdin=prepared.script.encode()
    )
    upload.check("uploading the batch script")
    remote_dir = upload.stdout.strip().splitlines()[-1]
    script_path = f"{remote_dir}/{file_name}"
    client = SlurmClient.over(session.remote)
    options = [*prepared.run.sbatch_options(), *sbatch_options]
    job_id = client.submit(script_path, options, workdir=remote_dir)
    return {
        **session.describe(),
        "job_id": job_id,
        "partition": prepared.partition,
        "script_path": script_path,
        "warnings": prepared.warnings,
    }


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"spec file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"spec file {path} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadInput(f"spec file {path} must hold a JSON object")
    return value


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` words → mapping; BadInput for words without `=`."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"--env {pair!r} is not KEY=VALUE")
        env[key] = value
    return env


def prepare(
    site: SiteProfile,
    *,
    script_file: Path | None,
    spec_file: Path | None,
    fields: dict[str, Any],
    run: RunOptions | None = None,
) -> Prepared:
    """The submission from a script file, or from a spec file with flags laid over it, run
    as `run` says (array size checked against the site)."""
    prepared = _prepare_job(site, script_file=script_file, spec_file=spec_file, fields=fields)
    if run is None:
        return prepared
    warnings = check_run_options(site, run)
    return replace(prepared, run=run, warnings=[*prepared.warnings, *warnings])


def _prepare_job(
    site: SiteProfile,
    *,
    script_file: Path | None,
    spec_file: Path | None,
    fields: dict[str, Any],
) -> Prepared:
    given = {k: v for k, v in fields.items() if v not in (None, (), {}, [])}
    if script_file is not None:
        extra = sorted(set(given) - {"partition"})
        if spec_file is not None or extra:
            raise BadInput(
                "--script cannot be combined with a spec (" + ", ".join(extra or ["--spec"]) + ")"
            )
        try:
            text = script_file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {script_file}: {type(exc).__name__}") from None
        return prepare_script(site, text, given.get("partition"))
    mapping = read_json_object(spec_file) if spec_file is not None else {}
    return prepare_spec(site, spec_from_mapping({**mapping, **given}))
