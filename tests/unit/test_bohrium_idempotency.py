"""Idempotency keys carried in job names, and finding the job again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcskills.bohrium.idempotency import check_key, derive_key, find_tagged, tag_of, tagged_name
from hpcskills.bohrium.packing import scan_input
from hpcskills.bohrium.spec import JobSpec
from hpcskills.core.errors import BadInput


def test_key_follows_spec_and_input(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    spec = JobSpec(command="run", job_name="x")
    key = derive_key(spec, scan_input(tmp_path), {})
    assert key == derive_key(spec, scan_input(tmp_path), {})
    assert key != derive_key(spec.with_changes(command="other"), scan_input(tmp_path), {})
    assert key != derive_key(spec, scan_input(tmp_path), {"run.sh": b"x"})
    os.utime(tmp_path / "a.txt", ns=(1, 1))
    assert key != derive_key(spec, scan_input(tmp_path), {})


def test_generated_file_already_in_the_input_counts_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    spec = JobSpec(command="bash run.sh")
    before = derive_key(spec, scan_input(tmp_path), {"run.sh": b"cmd\n"})
    (tmp_path / "run.sh").write_bytes(b"cmd\n")  # bohr's input after the first submit
    assert derive_key(spec, scan_input(tmp_path), {"run.sh": b"cmd\n"}) == before


def test_tags_and_lookup() -> None:
    tag = tag_of("my-key")
    assert tag.startswith("-hs") and len(tag) == 15
    assert tagged_name("run", "my-key") == f"run{tag}"
    assert tagged_name(f"run{tag}", "my-key") == f"run{tag}"
    jobs = [
        {"jobName": f"run{tag}", "status": 8, "id": 1},
        {"jobName": "other", "status": 1, "id": 2},
        {"jobName": f"run{tag}", "status": 1, "id": 3},
    ]
    assert find_tagged(jobs, tag)["id"] == 3  # the one still uploading is not a submission
    assert find_tagged(jobs[:2], tag) is None
    failed = [
        {"jobName": f"run{tag}", "status": -1, "id": 4},
        {"jobName": f"run{tag}", "status": 2, "id": 5},
    ]
    assert find_tagged(failed, tag)["id"] == 5  # a failed copy may be run again
    assert find_tagged(failed[:1], tag) is None
    assert check_key("rerun-2") == "rerun-2"
    with pytest.raises(BadInput):
        check_key("has space")
