"""The pack's state store: versioned records, 0600, atomic, exit 5 (never 4) when damaged."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hpcskills.core.errors import EXIT_AUTH, EXIT_REMOTE, AuthRequired
from hpcskills.core.state import SCHEMA_VERSION, StateError, StateStore
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu import copies, rsync_jobs
from hpcskills.sjtu.certificates import REQUEST_FILE, pending_request
from hpcskills.sjtu.users import PROFILE_FILE, remember_user, remembered_user

from scriptrun import run_script


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return Workspace(tmp_path / "ws").state()


def test_a_record_is_written_versioned_private_and_read_back(store: StateStore) -> None:
    path = store.write("thing.json", {"a": [1, 2]})
    assert json.loads(path.read_text()) == {"schema": SCHEMA_VERSION, "record": {"a": [1, 2]}}
    assert mode(path) == 0o600 and mode(store.directory) == 0o700
    assert store.read("thing.json") == {"a": [1, 2]}
    assert store.read("absent.json") is None
    assert [p.name for p in store.directory.iterdir()] == ["thing.json"]  # no temp left


def test_an_unversioned_file_is_upgraded_in_place(store: StateStore) -> None:
    store.directory.mkdir(parents=True)
    old = store.directory / "old.json"
    old.write_text('["a.dat", "b.dat"]')
    old.chmod(0o644)
    assert store.read("old.json") == ["a.dat", "b.dat"]
    assert json.loads(old.read_text()) == {"schema": 1, "record": ["a.dat", "b.dat"]}
    assert mode(old) == 0o600
    assert store.read("old.json") == ["a.dat", "b.dat"]


def test_a_current_file_with_a_loose_mode_is_made_private(store: StateStore) -> None:
    path = store.write("x.json", 1)
    path.chmod(0o644)
    assert store.read("x.json") == 1
    assert mode(path) == 0o600


def test_a_legacy_parser_reads_non_json_files(store: StateStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "n").write_text("42\n")
    assert store.read("n", legacy=lambda text: {"n": int(text)}) == {"n": 42}
    assert store.read("n") == {"n": 42}


@pytest.mark.parametrize(
    "content",
    ["", "{not json", '{"schema": "1", "record": 1}', '{"schema": true, "record": 1}', "\xff"],
)
def test_a_damaged_file_is_exit_5_naming_the_file_never_auth(
    store: StateStore, content: str
) -> None:
    store.directory.mkdir(parents=True)
    path = store.directory / "bad.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(StateError) as caught:
        store.read("bad.json")
    error = caught.value
    assert error.exit_code == EXIT_REMOTE == 5 and error.type == "state_corrupt"
    assert not isinstance(error, AuthRequired) and error.exit_code != EXIT_AUTH
    assert str(path) in error.message and "move" in (error.hint or "")
    assert path.read_bytes() == content.encode("latin-1")  # left for the user to look at


def test_a_file_from_a_newer_pack_is_refused(store: StateStore) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "new.json").write_text('{"schema": 99, "record": {}}')
    with pytest.raises(StateError) as caught:
        store.read("new.json")
    assert caught.value.type == "state_too_new" and caught.value.exit_code == 5


def test_create_is_exclusive(store: StateStore) -> None:
    assert store.create("once", {"v": 1})
    assert not store.create("once", {"v": 2})
    assert store.read("once") == {"v": 1}
    assert store.names() == ["once"]
    assert [p.name for p in store.directory.iterdir()] == ["once"]


def test_names_and_sub_stores(store: StateStore) -> None:
    assert store.sub("transfers").names() == []
    store.sub("transfers").write("b.json", 1)
    store.sub("transfers").write("a.json", 2)
    assert store.sub("transfers").names(".json") == ["a.json", "b.json"]
    assert mode(store.directory / "transfers") == 0o700
    with pytest.raises(ValueError):
        store.path("../escape")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


def damage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text("{truncated")


def test_users_of_the_store_report_a_damaged_file_as_state_corrupt(ws: Workspace) -> None:
    remember_user(ws, "alice")
    assert remembered_user(ws) == "alice"
    damage(ws.state_dir / PROFILE_FILE)
    with pytest.raises(StateError):
        remembered_user(ws)
    damage(ws.state_dir / REQUEST_FILE)
    with pytest.raises(StateError):
        pending_request(ws)
    damage(ws.state_dir / "partial" / "upload-0.json")
    with pytest.raises(StateError):
        copies._journal(ws).read("upload-0.json")
    damage(ws.state_dir / "transfers" / "t.json")
    with pytest.raises(StateError) as caught:
        rsync_jobs._records(ws).read("t.json")
    assert caught.value.exit_code == 5


def test_a_script_reports_a_damaged_state_file_as_exit_5(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    record = ws / ".hpcskills" / "transfers" / "20260101-000000-abcdef.json"
    damage(record)
    result = run_script(
        "sjtu-slurm", "transfer.py", "status", "20260101-000000-abcdef", "--workspace", str(ws)
    )
    assert result.returncode == 5, result.describe()
    assert result.error["type"] == "state_corrupt" and str(record) in result.error["message"]
