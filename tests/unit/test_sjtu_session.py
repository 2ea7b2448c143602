"""The one SJTU connection type: entry node, user and endpoint resolved once, then opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.site import SITE_FILE_ENV, load_site
from hpcskills.sjtu.users import remember_user

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"


class FakeRemote:
    first_contact_fingerprint: str | None = None
    closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_open(workspace, endpoint, *, backend, report):
        calls.append({"endpoint": endpoint, "backend": backend, "report": report})
        return FakeRemote()

    monkeypatch.setattr("hpcskills.sjtu.session.open_remote", fake_open)
    return calls


@pytest.fixture
def access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SiteAccess:
    monkeypatch.delenv(SITE_FILE_ENV, raising=False)
    workspace = Workspace(tmp_path)
    remember_user(workspace, "hpcuser")
    return SiteAccess(workspace, load_site(SITE_FILE), print, "paramiko")


def test_open_resolves_node_user_and_endpoint_once(access: SiteAccess, opened: list) -> None:
    session = access.open(partition="debug100")
    assert (session.choice.name, session.choice.node_group, session.user) == (
        "sylogin",
        "sy",
        "hpcuser",
    )
    endpoint = opened[0]["endpoint"]
    assert (endpoint.host, endpoint.port, endpoint.user, endpoint.name) == (
        "sylogin.hpc.sjtu.edu.cn",
        22,
        "hpcuser",
        "sylogin",
    )
    assert opened[0]["backend"] == "paramiko" and opened[0]["report"] is print
    assert session.describe() == {
        "entry_node": "sylogin",
        "host": "sylogin.hpc.sjtu.edu.cn",
        "node_group": "sy",
    }
    assert session.site is access.site and session.workspace is access.workspace


def test_default_node_group_and_storage(access: SiteAccess, opened: list) -> None:
    assert access.open().choice.name == "pilogin"
    assert access.open(storage="/dssg/home/a", business="data").choice.name == "sydata"


def test_open_node_by_name_and_close(access: SiteAccess, opened: list) -> None:
    with access.open_node("data", "chosen with --node data") as session:
        assert session.choice.reason == "chosen with --node data"
        assert opened[0]["endpoint"].name == "data"
    assert session.remote.closed
    with pytest.raises(BadInput) as caught:
        access.open_node("nosuchnode", "")
    assert caught.value.type == "unknown_entry_node"
    assert len(opened) == 1  # nothing opened for a bad name


def test_no_user_known_is_bad_input(tmp_path: Path, opened: list) -> None:
    access = SiteAccess(Workspace(tmp_path / "empty"), load_site(SITE_FILE))
    with pytest.raises(BadInput) as caught:
        access.open(node_group="kp")
    assert caught.value.type == "username_required" and opened == []
