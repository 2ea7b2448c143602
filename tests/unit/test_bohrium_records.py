"""Output records: no pre-signed URL or token ever copied out; group ids; download rules."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from hpcskills.bohrium.download import unzip
from hpcskills.bohrium.records import group_record, job_record, without_capabilities
from hpcskills.bohrium.results import skip_reason
from hpcskills.core.errors import BadInput, RemoteError

RAW = {
    "id": 5,
    "jobName": "n",
    "status": 2,
    "webStatus": 2,
    "jobGroupId": 9,
    "resultUrl": "https://oss.example/out.zip?Signature=secret-sig",
    "jobFiles": {"logFiles": [{"name": "STDOUTERR", "url": "https://x/y?sig=zz", "size": 3}]},
}


def test_job_records_hold_no_capabilities() -> None:
    record = job_record(RAW, full=True)
    text = json.dumps(record)
    assert "secret-sig" not in text and "sig=zz" not in text
    assert record["has_results"] is True and record["state"] == "COMPLETED"
    assert record["files"]["log"] == [{"name": "STDOUTERR", "size": 3}]
    assert set(job_record(RAW)) == {
        "job_id",
        "name",
        "state",
        "status",
        "web_status",
        "status_label",
        "group_id",
        "machine_type",
        "created",
        "error",
    }
    assert without_capabilities({"a": [{"url": "u", "token": "t", "b": 1}]}) == {"a": [{"b": 1}]}
    assert group_record({"groupId": 3, "groupName": "g", "jobCount": 2})["group_id"] == 3


def test_skip_reasons() -> None:
    assert skip_reason(RAW, needs_url=True) is None
    assert "still running" in (skip_reason({"status": 1}, needs_url=True) or "")
    assert "killed" in (skip_reason({"status": -1, "resultUrl": ""}, needs_url=True) or "")
    assert skip_reason({"status": -1}, needs_url=False) is None


def test_unzip_refuses_paths_outside_the_target(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../escape.txt", "x")
    with pytest.raises(BadInput):
        unzip(bad, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("dir/a.txt", "a")
        archive.writestr("b.txt", "b")
    assert unzip(good, tmp_path / "out").written == 2
    (tmp_path / "out" / "b.txt").write_text("B")  # same size, other bytes: kept
    (tmp_path / "out" / "dir" / "a.txt").unlink()
    (tmp_path / "out" / "dir" / "a.txt").symlink_to(tmp_path / "elsewhere")  # not written through
    again = unzip(good, tmp_path / "out")
    assert again.written == 0 and again.unchanged == 0
    assert sorted(again.not_overwritten) == [
        str(tmp_path / "out" / "b.txt"), str(tmp_path / "out" / "dir" / "a.txt")
    ]
    assert (tmp_path / "out" / "b.txt").read_text() == "B"
    assert not (tmp_path / "elsewhere").exists()
    (tmp_path / "out" / "b.txt").write_text("b")
    assert unzip(good, tmp_path / "out").unchanged == 1  # the same bytes are left alone
    (tmp_path / "junk.zip").write_text("not a zip")
    with pytest.raises(RemoteError):
        unzip(tmp_path / "junk.zip", tmp_path / "out")


def test_group_records_read_lbg_fields() -> None:
    lbg = {"id": 9, "jobName": "exp", "status": [1, 2, 3, 0], "spendTime": 12}
    assert group_record(lbg) == {
        "group_id": 9,
        "name": "exp",
        "project_id": None,
        "created": None,
        "jobs": 6,
    }
    assert group_record({"id": 9, "jobCount": 2})["jobs"] == 2
