"""Every file the pack keeps in `.hpcskills/` is 0600: the ledger (with -wal and -shm), the
ssh lock files and the TOTP step record, also when an older version left them 0644."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hpcskills.core.state import StateError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import db
from hpcskills.ledger.store import LEDGER_FILE, open_ledger
from hpcskills.ssh.base import Endpoint, Identity
from hpcskills.ssh.openssh import OpenSshRemote
from hpcskills.ssh.totp import spent_step, totp_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> object:
    old = os.umask(0o022)  # what made 0.1.0's files 0644
    yield
    os.umask(old)


def test_the_ledger_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with open_ledger(ws) as ledger:
        ledger.claim("slurm", "k" * 32, {"site": "sjtu"}, now=1.0)
        files = sorted(ws.state_dir.glob(LEDGER_FILE + "*"))
        assert [p.name for p in files] == [LEDGER_FILE, LEDGER_FILE + "-shm", LEDGER_FILE + "-wal"]
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_old_0644_ledger_is_made_0600(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    open_ledger(ws).close()
    path = ws.state_dir / LEDGER_FILE
    path.chmod(0o644)
    with open_ledger(ws) as ledger:
        assert db.current_version(ledger.conn) == db.SCHEMA_VERSION
        assert mode(path) == 0o600


@pytest.mark.parametrize("damage", ["garbage", "directory"])
def test_a_damaged_ledger_is_state_corrupt_exit_5(tmp_path: Path, damage: str) -> None:
    ws = Workspace(tmp_path / "ws")
    path = ws.ensure_state_dir() / LEDGER_FILE
    if damage == "directory":
        path.mkdir()
    else:
        path.write_text("this is not a database " * 100)
    with pytest.raises(StateError) as caught:
        open_ledger(ws)
    assert caught.value.exit_code == 5 and caught.value.type == "state_corrupt"
    assert str(path) in caught.value.message


def test_a_newer_ledger_is_exit_5(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with open_ledger(ws) as ledger:
        ledger.conn.execute("INSERT INTO schema_version VALUES (99)")
    with pytest.raises(StateError) as caught:
        open_ledger(ws)
    assert caught.value.type == "ledger_too_new" and caught.value.exit_code == 5


def test_the_ssh_lock_file_is_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "credentials"
    identity = Identity(creds / "id", creds / "id-cert.pub", creds / "known_hosts")
    remote = OpenSshRemote(Endpoint("h.example.org", 22, "alice", "login"), identity, tmp_path)
    started: list[bool] = []
    monkeypatch.setattr(remote, "_master_alive", lambda: False)
    monkeypatch.setattr(remote, "_start_master", lambda: started.append(True))
    lock = remote.control_path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    lock.chmod(0o644)  # as 0.1.0 left it
    remote.ensure_master()
    assert started == [True]
    assert mode(lock) == 0o600
    lock.unlink()
    remote._master_checked = False
    remote.ensure_master()
    assert mode(lock) == 0o600  # created 0600 too


def test_the_totp_step_record_is_versioned_0600_and_reads_0_1_0(tmp_path: Path) -> None:
    last = tmp_path / "totp-last-step"
    last.write_text("58819200")  # 0.1.0: the bare step, 0644
    last.chmod(0o644)
    assert spent_step(last) == 58819200
    totp_code(SECRET, last, now=lambda: 1_764_576_100.0)
    assert mode(last) == 0o600
    assert json.loads(last.read_text()) == {"schema": 1, "record": {"step": 1_764_576_100 // 30}}
    assert spent_step(last) == 1_764_576_100 // 30
    assert spent_step(tmp_path / "absent") == -1
