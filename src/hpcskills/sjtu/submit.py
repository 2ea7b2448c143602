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
from hpcskills.core.redact import register_secret
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
from hpcskills.slurm.script import JobSpec, is_env_name, render_sbatch, spec_from_mapping

DEFAULT_JOB_DIR = "hpcskills-jobs"
# the script is written 0600: it may hold --env-file values
UPLOAD_SCRIPT = 'mkdir -p -- "$1" && cd -- "$1" && (umask 077 && cat > "$2") && pwd -P'
_PARTITION_LINE = re.compile(r"^#SBATCH\s+(?:-p\s*|--partition[=\s]+)(\S+)", re.M)
_NAME_LINE = re.compile(r"^#SBATCH\s+(?:-J\s*|--job-name[=\s]+)(\S+)", re.M)


ENV_FILE_PLACEHOLDER = "<from --env-file>"


@dataclass(frozen=True)
class Prepared:
    """A batch script ready to upload, with the node group it must be submitted from and
    how it runs (array, dependencies, hold: sbatch options, not #SBATCH lines);
    `shown_script` is what output may show when the script holds --env-file values."""

    script: str
    partition: str
    node_group: str
    name: str
    workdir: str | None
    warnings: list[str] = field(default_factory=list)
    run: RunOptions = field(default_factory=RunOptions)
    shown_script: str | None = None

    @property
    def visible_script(self) -> str:
        """The script as output may show it (--env-file values replaced)."""
        return self.script if self.shown_script is None else self.shown_script


def _with_env(spec: JobSpec, extra: dict[str, str]) -> JobSpec:
    return replace(spec, env={**spec.env, **extra})


def prepare_spec(
    site: SiteProfile, spec: JobSpec, secret_env: dict[str, str] | None = None
) -> Prepared:
    """Validate a resources spec against the site and render its #SBATCH script; the
    `secret_env` values (from --env-file) are exported too but never shown or checked."""
    secret_env = secret_env or {}
    repeated = sorted(set(secret_env) & set(spec.env))
    if repeated:
        raise BadInput(
            f"{', '.join(map(repr, repeated))} given by --env and by --env-file",
            hint="give each variable once",
        )
    check = check_job(site, spec)
    shown = {key: ENV_FILE_PLACEHOLDER for key in secret_env}
    return Prepared(
        render_sbatch(_with_env(check.spec, secret_env)),
        check.spec.partition,
        check.node_group,
        check.spec.name or "job",
        check.spec.workdir,
        check.warnings,
        shown_script=render_sbatch(_with_env(check.spec, shown)) if secret_env else None,
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


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=VALUE` lines of a local file (blank lines and `#` comments skipped; the value is
    the rest of the line, literally); errors name the line, never a value."""
    try:
        text = path.read_bytes().decode()
    except OSError as exc:
        raise BadInput(f"cannot read --env-file {path}: {type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise BadInput(f"--env-file {path} is not UTF-8 text") from None
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        where = f"--env-file {path}, line {number}"
        if not sep:
            raise BadInput(f"{where} is not KEY=VALUE", type="bad_env_file")
        if not is_env_name(key):
            raise BadInput(
                f"{where}: the text before '=' is not a variable name", type="bad_env_file"
            )
        if key in env:
            raise BadInput(f"{where}: {key!r} is given twice", type="bad_env_file")
        if "\x00" in value:
            raise BadInput(f"{where}: the value of {key!r} holds NUL", type="bad_env_file")
        env[key] = value
        register_secret(value)
    return env


def prepare(
    site: SiteProfile,
    *,
    script_file: Path | None,
    spec_file: Path | None,
    fields: dict[str, Any],
    run: RunOptions | None = None,
    secret_env: dict[str, str] | None = None,
) -> Prepared:
    """The submission from a script file, or from a spec file with flags laid over it (and
    the variables of --env-file), run as `run` says (array size checked against the site)."""
    prepared = _prepare_job(
        site, script_file=script_file, spec_file=spec_file, fields=fields, secret_env=secret_env
    )
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
    secret_env: dict[str, str] | None,
) -> Prepared:
    given = {k: v for k, v in fields.items() if v not in (None, (), {}, [])}
    if script_file is not None:
        if secret_env:
            raise BadInput(
                "--env-file cannot be combined with --script",
                hint="export the variables in your script, or use a spec",
            )
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
    return prepare_spec(site, spec_from_mapping({**mapping, **given}), secret_env)
