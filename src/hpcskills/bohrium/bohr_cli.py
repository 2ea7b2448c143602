"""The optional `bohr` CLI backend: same operations as `backend.ApiBackend`, run through bohr.

bohr prints tables unless given `--json`, prints `JobId:  N` text after a submit, and can
print `Error: ...` and still exit 0 — so stdout is always checked. The access key goes to
bohr in its environment (ACCESS_KEY), never on its command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpcskills.bohrium import idempotency
from hpcskills.bohrium.backend import Report, Submission
from hpcskills.bohrium.config import BohriumConfig
from hpcskills.bohrium.envelope import Hinter
from hpcskills.core.errors import AuthRequired, BadInput, HpcError, NotFound, RemoteError
from hpcskills.core.redact import redact

DEFAULT_TIMEOUT = 120.0
LONG_TIMEOUT = 1500.0  # submit and download (the agent's exec tool stops at 1800 s)
# list_jobs status flags → bohr job list flags (bohr has none for scheduling)
LIST_FLAGS = {"running": "-r", "failed": "-f", "finished": "-i", "pending": "-p"}
STATUS_CODES = {"running": 1, "failed": -1, "finished": 2, "pending": 0, "scheduling": 3}
_ERROR_LINE = re.compile(r"^\s*Error:\s*(.*)$", re.M | re.I)
_ID_LINE = re.compile(r"^\s*(JobId|JobGroupId|GroupId|BohrJobId)\s*:\s*(\d+)\s*$", re.M | re.I)
_VERSION = re.compile(r"v?(\d+\.\d+(?:\.\d+)?[\w.-]*)")


def find_bohr() -> Path | None:
    """`bohr` on PATH, else `~/.bohrium/bohr` (where its installer puts it)."""
    found = shutil.which("bohr")
    if found:
        return Path(found)
    home = Path("~/.bohrium/bohr").expanduser()
    return home if home.is_file() and os.access(home, os.X_OK) else None


def bohr_error(message: str, hint_for: Hinter) -> HpcError:
    """The typed error for bohr's `Error: ...` text (pure)."""
    text = redact(message.strip())[:500] or "bohr failed"
    lowered = text.lower()
    hint = hint_for(text)
    if "not found" in lowered or "not exist" in lowered:
        return NotFound(f"bohr: {text}", hint=hint)
    if re.search(r"access ?key|unauthori[sz]ed|login", lowered):
        return AuthRequired(f"bohr: {text}", type="unauthorized", hint=hint)
    if re.search(r"permission|forbidden", lowered):
        return AuthRequired(f"bohr: {text}", type="permission_denied", hint=hint)
    return RemoteError(f"bohr: {text}", type="bohr_error", hint=hint)


def check_output(stdout: str, stderr: str, returncode: int, hint_for: Hinter) -> str:
    """stdout of a bohr run, or the error it reports (also when it exits 0)."""
    match = _ERROR_LINE.search(stdout) or _ERROR_LINE.search(stderr)
    if match:
        raise bohr_error(match.group(1), hint_for)
    if returncode != 0:
        last = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [f"exit {returncode}"]
        raise bohr_error(last[0], hint_for)
    return stdout


def parse_json_output(stdout: str) -> Any:
    """The JSON document in bohr's stdout (text before it, such as notices, is skipped)."""
    start = min((i for i in (stdout.find("["), stdout.find("{")) if i >= 0), default=-1)
    if start < 0:
        raise RemoteError("bohr printed no JSON", type="bad_response")
    try:
        value, _end = json.JSONDecoder().raw_decode(stdout[start:])
    except json.JSONDecodeError:
        raise RemoteError("bohr printed invalid JSON", type="bad_response") from None
    if isinstance(value, dict) and "code" in value and "data" in value:
        value = value["data"]
    return value


def as_items(value: Any) -> list[dict[str, Any]]:
    """A list of objects from bohr's list output (a list, or an object holding `items`)."""
    if isinstance(value, dict):
        value = value.get("items", value.get("list", [value]))
    if not isinstance(value, list):
        raise RemoteError("bohr printed an unexpected list", type="bad_response")
    return [item for item in value if isinstance(item, dict)]


def parse_ids(stdout: str) -> dict[str, int]:
    """`JobId:  N` / `JobGroupId:  N` lines of bohr's text output."""
    return {name.lower(): int(number) for name, number in _ID_LINE.findall(stdout)}


def parse_version(stdout: str) -> str | None:
    match = _VERSION.search(stdout)
    return match.group(1) if match else None


class CliBackend:
    """Job operations through the bohr binary."""

    name = "cli"

    def __init__(
        self,
        config: BohriumConfig,
        report: Report,
        *,
        hint_for: Hinter,
        binary: Path | None = None,
    ) -> None:
        found = binary or find_bohr()
        if found is None:
            raise BadInput(
                "--backend cli needs the bohr binary, and it is not installed",
                type="bohr_missing",
                hint="use the default API backend (it needs no bohr); bohr is installed with "
                "Bohrium's own installer script, which only the user should run",
            )
        self.binary = found
        self.config = config
        self.report = report
        self.hint_for = hint_for

    def environment(self) -> dict[str, str]:
        """bohr's environment: ours plus the resolved key and hosts."""
        return {
            **os.environ,
            "ACCESS_KEY": self.config.require_key(),
            "OPENAPI_HOST": self.config.openapi_host,
            "TIEFBLUE_HOST": self.config.tiefblue_host,
        }

    def run(
        self, args: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT, cwd: Path | None = None
    ) -> str:
        """Run `bohr ARGS` and return its checked stdout."""
        try:
            proc = subprocess.run(
                [str(self.binary), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RemoteError(
                f"bohr {' '.join(args[:2])} did not finish in {timeout:.0f} s",
                type="timeout",
                retryable=True,
            ) from None
        except OSError as exc:
            raise BadInput(
                f"cannot run {self.binary}: {exc.strerror}", type="bohr_missing"
            ) from None
        return check_output(proc.stdout, proc.stderr, proc.returncode, self.hint_for)

    # -- reading ---------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: str | None = None,
        group_id: int | None = None,
        project_id: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        args = ["job", "list", "--json", "-n", str(limit or 10000)]
        if status in LIST_FLAGS:
            args.append(LIST_FLAGS[status])
        if group_id is not None:
            args += ["-j", str(group_id)]
        jobs = as_items(parse_json_output(self.run(args)))
        if status == "scheduling":  # bohr has no flag for it
            jobs = [j for j in jobs if j.get("status") == STATUS_CODES["scheduling"]]
        if project_id is not None:
            jobs = [j for j in jobs if j.get("projectId") in (None, project_id)]
        return jobs[:limit] if limit else jobs

    def job(self, job_id: int) -> dict[str, Any]:
        items = as_items(
            parse_json_output(self.run(["job", "describe", "-j", str(job_id), "--json"]))
        )
        if not items:
            raise NotFound(f"bohr: job {job_id} not found")
        return items[0]

    def log_tail(self, job_id: int, max_bytes: int) -> str:
        return self.run(["job", "log", "-j", str(job_id)])[-max_bytes:]

    def save_log(self, job_id: int, target: Path) -> dict[str, Any]:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".bohr-log-{job_id}-", dir=target.parent) as tmp:
            self.run(["job", "log", "-j", str(job_id), "-o", tmp], timeout=LONG_TIMEOUT)
            written = sorted(p for p in Path(tmp).rglob("*") if p.is_file())
            if not written:
                raise RemoteError(f"bohr wrote no log file for job {job_id}", type="bad_response")
            os.replace(written[0], target)
        return {"path": str(target), "bytes": target.stat().st_size, "skipped": False}

    def find_submitted(self, tag: str) -> dict[str, Any] | None:
        jobs = self.list_jobs(limit=idempotency.LOOKUP_PAGES * 100)
        return idempotency.find_tagged(jobs, tag)

    # -- changing --------------------------------------------------------------------------

    def stop(self, action: str, job_id: int) -> None:
        self.run(["job", action, str(job_id)])

    def fetch_result(self, job: dict[str, Any], target: Path) -> dict[str, Any]:
        """`bohr job download` into a hidden folder, then the finished out.zip into place."""
        if target.exists():
            return {"path": str(target), "bytes": target.stat().st_size, "skipped": True}
        job_id = str(job.get("id") or job.get("jobId"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(
            prefix=f".bohr-download-{job_id}-", dir=target.parent
        ) as tmp:
            self.run(["job", "download", "-j", job_id, "-o", tmp], timeout=LONG_TIMEOUT)
            archive = Path(tmp) / job_id / "out.zip"
            if not archive.is_file():
                raise RemoteError(f"bohr did not write {job_id}/out.zip", type="bad_response")
            os.replace(archive, target)
        return {"path": str(target), "bytes": target.stat().st_size, "skipped": False}

    def submit(self, submission: Submission) -> dict[str, Any]:
        """`bohr job submit -i job.json -p DIR`; files to add are written into DIR first."""
        root = submission.inventory.root
        written = write_extra_files(root, submission.extra_files)
        with tempfile.TemporaryDirectory(prefix="bohr-submit-") as tmp:
            job_json = Path(tmp) / "job.json"
            job_json.write_text(json.dumps(submission.spec.to_job_json()))
            try:
                out = self.run(
                    ["job", "submit", "-i", str(job_json), "-p", str(root)], timeout=LONG_TIMEOUT
                )
            except RemoteError as exc:
                if not exc.retryable:
                    raise
                found = self.find_submitted(submission.tag)
                if found is None:
                    raise
                return {
                    "job_id": found.get("id"),
                    "group_id": found.get("jobGroupId"),
                    "written_to_input": written,
                    "recovered": "bohr gave no answer; the job was found by its tag",
                }
        ids = parse_ids(out)
        if "jobid" not in ids:
            raise RemoteError("bohr job submit printed no JobId", type="bad_response")
        return {
            "job_id": ids["jobid"],
            "group_id": ids.get("jobgroupid"),
            "written_to_input": written,
        }

    # -- groups ----------------------------------------------------------------------------

    def groups(
        self,
        *,
        limit: int | None = None,
        start: str | None = None,
        end: str | None = None,
        **_ignored: Any,
    ) -> list[dict[str, Any]]:
        args = ["job_group", "list", "--json", "-n", str(limit or 10000)]
        if start:
            args += ["-s", start]
        if end:
            args += ["-e", end]
        return as_items(parse_json_output(self.run(args)))

    def create_group(self, name: str, project_id: int) -> int:
        out = self.run(["job_group", "create", "-n", name, "-p", str(project_id)])
        ids = parse_ids(out)
        group = ids.get("jobgroupid") or ids.get("groupid")
        if group is None:
            numbers = re.findall(r"\b\d+\b", out)
            if not numbers:
                raise RemoteError("bohr job_group create printed no id", type="bad_response")
            group = int(numbers[-1])
        return group

    def stop_group(self, action: str, group_id: int) -> None:
        self.run(["job_group", action, str(group_id)])


def write_extra_files(root: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write generated files (run.sh) into the input directory bohr will zip."""
    written = []
    for name, content in files.items():
        path = root / name
        if path.exists() and path.read_bytes() != content:
            raise BadInput(f"{path} already exists; not overwritten", type="input_conflict")
        path.write_bytes(content)
        path.chmod(0o755)
        written.append(name)
    return written
