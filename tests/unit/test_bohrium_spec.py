"""The job spec: template < job.json < flags, strict fields, the v2/job/add payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcskills.bohrium.spec import JobSpec, add_payload, build_spec, read_job_file
from hpcskills.core.errors import BadInput


def test_later_sources_win_and_project_falls_back() -> None:
    spec = build_spec(
        template={"job_name": "t", "command": "a", "machine_type": "c2_m4_cpu", "nnode": 1},
        job_file={"command": "b", "max_run_time": "60"},
        overrides={"command": "c", "backward_files": ("x", "y")},
        default_project=154,
    )
    assert (spec.job_name, spec.command, spec.max_run_time, spec.project_id) == ("t", "c", 60, 154)
    assert spec.backward_files == ["x", "y"]
    assert build_spec(overrides={"project_id": 9}, default_project=154).project_id == 9


def test_unknown_fields_and_bad_types_are_bad_input() -> None:
    with pytest.raises(BadInput) as typo:
        build_spec(job_file={"imag_address": "x"})
    assert typo.value.hint == "did you mean 'image_address'?"
    for bad in (
        {"nnode": "two"},
        {"nnode": True},
        {"max_run_time": -1},
        {"backward_files": [1]},
        {"command": ["ls"]},
    ):
        with pytest.raises(BadInput):
            build_spec(job_file=bad)
    assert build_spec(job_file={"dataset_path": "/bohr/x/v1"}).dataset_path == ["/bohr/x/v1"]


def test_read_job_file(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    with pytest.raises(BadInput):
        read_job_file(path)
    path.write_text("[1]")
    with pytest.raises(BadInput):
        read_job_file(path)
    path.write_text('{"job_name": "x"}')
    assert read_job_file(path) == {"job_name": "x"}


def test_add_payload_and_job_json() -> None:
    spec = JobSpec(
        job_name="n",
        command="bash run.sh",
        image_address="r.io/a/b:1",
        machine_type="c2_m4_cpu",
        project_id=154,
        log_file="log",
        backward_files=["out"],
        result_path="/personal",
        max_run_time=30,
    )
    payload = add_payload(spec, 11, "store/input/n.zip", 22)
    assert payload == {
        "jobId": 11,
        "projectId": 154,
        "jobName": "n",
        "jobType": "container",
        "ossPath": ["store/input/n.zip"],
        "inputFileType": 3,
        "inputFileMethod": 1,
        "scassType": "c2_m4_cpu",
        "imageName": "r.io/a/b:1",
        "cmd": "bash run.sh",
        "logFiles": ["log"],
        "outFiles": ["out"],
        "platform": "ali",
        "nnode": 1,
        "maxRunTime": 30,
        "datasetPath": [],
        "jobGroupId": 22,
        "downloadPath": "/personal/9e80b182-75a8-5579-b756-bb139fc87327_temp.zip",
    }
    # a file under the result directory, as the platform's clients send it; fixed per job
    assert add_payload(spec, 11, "k", 22)["downloadPath"] == payload["downloadPath"]
    assert add_payload(spec, 12, "k", 22)["downloadPath"] != payload["downloadPath"]
    assert JobSpec(command="x").to_job_json() == {
        "command": "x",
        "job_type": "container",
        "backward_files": [],
    }
