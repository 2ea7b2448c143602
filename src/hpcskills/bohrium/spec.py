"""The job spec in `bohr`'s job.json vocabulary, built from a template, a file and flags."""

from __future__ import annotations

import difflib
import json
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hpcskills.bohrium.names import check_name
from hpcskills.core.errors import BadInput

INT_FIELDS = frozenset(
    {"project_id", "disk_size", "max_run_time", "max_reschedule_times", "nnode", "job_group_id"}
)
LIST_FIELDS = frozenset({"backward_files", "dataset_path"})


@dataclass(frozen=True)
class JobSpec:
    """What a job runs and where; field names are those of `bohr job submit -i job.json`."""

    job_name: str | None = None
    command: str | None = None
    image_address: str | None = None
    machine_type: str | None = None
    project_id: int | None = None
    job_type: str = "container"
    log_file: str | None = None
    backward_files: list[str] = field(default_factory=list)
    dataset_path: list[str] = field(default_factory=list)
    result_path: str | None = None
    disk_size: int | None = None
    max_run_time: int | None = None
    max_reschedule_times: int | None = None
    nnode: int | None = None
    job_group_id: int | None = None

    def to_job_json(self) -> dict[str, Any]:
        """The job.json form (unset fields left out)."""
        return {k: v for k, v in asdict(self).items() if v not in (None, [])} | {
            "backward_files": list(self.backward_files)
        }

    def with_changes(self, **changes: Any) -> JobSpec:
        return replace(self, **changes)


FIELD_NAMES = tuple(f.name for f in fields(JobSpec))


def _check_value(name: str, value: Any, origin: str) -> Any:
    """The value coerced to the field's type, or BadInput naming the field and origin."""
    if value is None:
        return None
    if name in INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise BadInput(f"{origin}: {name} must be a whole number", type="bad_spec")
        try:
            number = int(value)
        except ValueError:
            raise BadInput(
                f"{origin}: {name} must be a whole number, not {value!r}", type="bad_spec"
            ) from None
        if number < 0:
            raise BadInput(f"{origin}: {name} must not be negative", type="bad_spec")
        return number
    if name in LIST_FIELDS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise BadInput(f"{origin}: {name} must be a list of strings", type="bad_spec")
        return list(items)
    if not isinstance(value, str):
        raise BadInput(f"{origin}: {name} must be a string", type="bad_spec")
    return check_name(value, f"{origin}: job_name") if name == "job_name" else value


def fields_from(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """Checked job.json fields of one source; unknown names are errors with a suggestion."""
    checked: dict[str, Any] = {}
    for name, value in data.items():
        if name not in FIELD_NAMES:
            close = difflib.get_close_matches(name, FIELD_NAMES, n=1)
            raise BadInput(
                f"{origin}: unknown field {name!r}",
                type="bad_spec",
                hint=f"did you mean {close[0]!r}?"
                if close
                else "fields: " + ", ".join(FIELD_NAMES),
            )
        checked[name] = _check_value(name, value, origin)
    return checked


def read_job_file(path: Path) -> dict[str, Any]:
    """The object of a job.json file."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist", type="bad_spec") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not valid JSON: {exc}", type="bad_spec") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} must hold a JSON object", type="bad_spec")
    return data


def build_spec(
    *,
    template: dict[str, Any] | None = None,
    job_file: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    default_project: int | None = None,
) -> JobSpec:
    """Template, then job.json, then flags (later wins); the project falls back to config."""
    merged: dict[str, Any] = {}
    for data, origin in ((template, "template"), (job_file, "job.json"), (overrides, "flags")):
        if data:
            merged.update({k: v for k, v in fields_from(data, origin).items() if v is not None})
    if merged.get("project_id") is None and default_project is not None:
        merged["project_id"] = default_project
    return JobSpec(**merged)


def download_path(result_path: str | None, job_id: int) -> str | None:
    """`downloadPath` as the platform's clients send it: a zip file path under the result
    directory (`<dir>/<uuid>_temp.zip`), the uuid fixed per job so a retry sends the same."""
    if not result_path:
        return None
    name = uuid.uuid5(uuid.NAMESPACE_URL, f"bohrium-job:{job_id}")
    return f"{result_path.rstrip('/')}/{name}_temp.zip"


def add_payload(
    spec: JobSpec, job_id: int, object_key: str, group_id: int | None
) -> dict[str, Any]:
    """The body of `POST v2/job/add` for a created job whose input is at `object_key`."""
    payload: dict[str, Any] = {
        "jobId": job_id,
        "projectId": spec.project_id,
        "jobName": spec.job_name,
        "jobType": spec.job_type,
        "ossPath": [object_key],
        "inputFileType": 3,
        "inputFileMethod": 1,
        "scassType": spec.machine_type,
        "imageName": spec.image_address,
        "cmd": spec.command,
        "logFiles": [spec.log_file] if spec.log_file else [],
        "outFiles": list(spec.backward_files),
        "platform": "ali",
        "diskSize": spec.disk_size,
        "nnode": spec.nnode or 1,
        "maxRunTime": spec.max_run_time,
        "maxRescheduleTimes": spec.max_reschedule_times,
        "datasetPath": list(spec.dataset_path),
        "jobGroupId": group_id or spec.job_group_id,
        "downloadPath": download_path(spec.result_path, job_id),
    }
    return {key: value for key, value in payload.items() if value is not None}
