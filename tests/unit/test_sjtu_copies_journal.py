"""The upload/download resume journal fits only the very transfer that wrote it: another
source (or the same one changed) into the same target asks again before replacing files
(audit 2026-12-04, section 10)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hpcskills.core.errors import ConfirmationRequired, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu import copies
from hpcskills.ssh import transfer as xfer

TARGET = "/lustre/home/acct/alice/run"


def where(source: str) -> dict[str, Any]:
    return {"direction": "upload", "node": "data", "source": source, "target": TARGET}


class Sender:
    """A send callback that records what it was asked for; optionally breaks off."""

    def __init__(self, broken: bool = False) -> None:
        self.sent: list[list[str]] = []
        self.broken = broken

    def __call__(self, names: list[str], _tick: xfer.Progress) -> dict[str, Any]:
        self.sent.append(names)
        if self.broken:
            raise RemoteError("connection lost", type="transfer_incomplete", retryable=True)
        return {}


def copy(ws: Workspace, source: str, wanted: xfer.Listing, present: xfer.Listing, send: Sender,
         token: str | None = None) -> dict[str, Any]:
    access = SimpleNamespace(workspace=ws, report=lambda _line: None)
    return copies._copy(access, where(source), "dir", (wanted, present), send, None, token)


A1 = {"a.dat": xfer.FileState(100, 1000), "b.dat": xfer.FileState(5, 1000)}
HALF = {"a.dat": xfer.FileState(40, 2000)}  # what the interrupted copy left of a.dat


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    with pytest.raises(RemoteError):
        copy(workspace, "/home/me/run", A1, {}, Sender(broken=True))  # interrupted
    return workspace


def test_the_same_transfer_resumes_its_own_files_without_asking(ws: Workspace) -> None:
    send = Sender()
    done = copy(ws, "/home/me/run", A1, {**HALF, "b.dat": A1["b.dat"]}, send)
    assert send.sent == [["a.dat", "b.dat"]]  # every file it had begun is sent again
    assert done["replaced_files"] == 0


def test_another_source_into_the_same_target_asks_first(ws: Workspace) -> None:
    send = Sender()
    with pytest.raises(ConfirmationRequired) as asked:
        copy(ws, "/home/me/other-run", A1, HALF, send)
    assert send.sent == []
    assert [r["path"] for r in asked.value.details["plan"]["replace"]] == [f"{TARGET}/a.dat"]


def test_the_same_source_changed_since_asks_first(ws: Workspace) -> None:
    changed = {**A1, "a.dat": xfer.FileState(120, 3000)}
    send = Sender()
    with pytest.raises(ConfirmationRequired):
        copy(ws, "/home/me/run", changed, HALF, send)
    assert send.sent == []


def test_a_journal_of_0_1_0_resumes_nothing_unasked(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")  # 0.1.0 wrote a bare list under the target's name
    old = copies._journal(ws).path(copies._journal_name("upload", "data", TARGET))
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps(["a.dat"]))
    send = Sender()
    with pytest.raises(ConfirmationRequired):
        copy(ws, "/home/me/run", A1, HALF, send)
    assert send.sent == []
