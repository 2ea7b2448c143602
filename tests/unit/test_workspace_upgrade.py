"""A workspace made by the released 0.1.0 opens with the current code and is upgraded in
place: every record still reads, files end up versioned and 0600."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from hpcskills.core import confirm
from hpcskills.core.confirm import issue_token, require_confirmation, workspace_secret
from hpcskills.core.state import SCHEMA_VERSION
from hpcskills.core.workspace import Workspace
from hpcskills.ledger import db
from hpcskills.ledger.store import open_ledger
from hpcskills.sjtu import copies, rsync_jobs
from hpcskills.sjtu.certificates import REQUEST_FILE, pending_request
from hpcskills.sjtu.users import PROFILE_FILE, remembered_user
from hpcskills.ssh.totp import last_used_file, spent_step, totp_code

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "workspace-0.1.0"
JOURNAL = copies._journal_name("upload", "data1", "/lustre/home/acct/alice/run")
TRANSFER = "x20261201-080000-abc123.json"
RECORDS = [PROFILE_FILE, REQUEST_FILE, f"partial/{JOURNAL}", f"transfers/{TRANSFER}"]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    shutil.copytree(FIXTURE / ".hpcskills", tmp_path / "ws" / ".hpcskills")
    state = tmp_path / "ws" / ".hpcskills"
    for path in [state, *state.rglob("*")]:  # a checkout keeps no 0600; 0.1.0 left the
        path.chmod(0o755 if path.is_dir() else 0o644)  # ledger 0644 anyway
    for name in RECORDS:
        assert "schema" not in json.loads((state / name).read_text())  # unversioned
    return Workspace(tmp_path / "ws")


def test_the_fixture_is_what_0_1_0_wrote() -> None:
    state = FIXTURE / ".hpcskills"
    assert (state / "totp-last-step").read_text() == "58819200"
    assert len(bytes.fromhex((state / confirm.SECRET_FILE).read_text())) == 32


def test_a_0_1_0_workspace_opens_and_is_upgraded(ws: Workspace) -> None:
    state = ws.state_dir
    old_secret = bytes.fromhex((state / confirm.SECRET_FILE).read_text())
    token = issue_token(old_secret, "sjtu.cancel_jobs", {"jobs": ["1"]}, 1_764_576_000)

    with open_ledger(ws) as ledger:
        assert db.current_version(ledger.conn) == db.SCHEMA_VERSION
        (row,) = ledger.select(platforms=["slurm"])
        assert (row.job_id, row.state, row.name, row.remote_user) == (
            "4242", "RUNNING", "relax", "alice",
        )
    assert remembered_user(ws) == "alice"
    assert pending_request(ws) is None  # it was issued
    assert ws.state().read(REQUEST_FILE)["valid_to"] == "2026-12-02T08:00:30+00:00"
    assert copies._journal(ws).read(JOURNAL) == ["a.dat", "sub/b.dat"]
    assert rsync_jobs._records(ws).read(TRANSFER)["node"] == "data1"
    assert workspace_secret(ws) == old_secret  # plans confirmed before the upgrade still fit
    require_confirmation(ws, "sjtu.cancel_jobs", {"jobs": ["1"]}, token, now=1_764_576_010)
    assert spent_step(last_used_file(state)) == 58819200
    totp_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", last_used_file(state), now=lambda: 1.8e9)

    for name in [*RECORDS, confirm.SECRET_FILE, "totp-last-step"]:
        assert json.loads((state / name).read_text())["schema"] == SCHEMA_VERSION, name
    files = [p for p in state.rglob("*") if p.is_file()]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {
        p.name: 0o600 for p in files
    }
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert remembered_user(ws) == "alice"  # and the upgraded files read back
    assert copies._journal(ws).read(JOURNAL) == ["a.dat", "sub/b.dat"]
