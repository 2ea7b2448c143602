"""Idempotency keys carried in job names, and finding the job again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcskills.bohrium.idempotency import derive_key, find_tagged, released_key
from hpcskills.bohrium.packing import scan_input
from hpcskills.bohrium.spec import JobSpec
from hpcskills.core.errors import BadInput
from hpcskills.ledger.keys import check_key, tag_of, tagged_name

RELEASED_0_1_0 = "bd1e2054a914065b944f5aef02443a749ba508d0c0f6b225a4e9d38950d6451a"


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


def test_keys_follow_the_ledger_rules_and_0_1_0_keys_stay_known(tmp_path: Path) -> None:
    """One rule for every platform: 32 hex digits; the key 0.1.0 derived for the same input
    (the whole SHA-256 of the same fingerprint) is still computed, to be looked up."""
    (tmp_path / "a.txt").write_text("one")
    os.utime(tmp_path / "a.txt", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    spec = JobSpec(command="run", job_name="x")
    key = derive_key(spec, scan_input(tmp_path), {"run.sh": b"x"})
    assert len(key) == 32 and int(key, 16) >= 0
    # the value hpc-skills 0.1.0 derived for exactly this input (bohrium/idempotency.py)
    assert released_key(spec, scan_input(tmp_path), {"run.sh": b"x"}) == RELEASED_0_1_0
    assert key != RELEASED_0_1_0[:32]
    assert check_key(RELEASED_0_1_0) == RELEASED_0_1_0  # a 0.1.0 key is still a valid key
