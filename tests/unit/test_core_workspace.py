"""Workspace resolution: --workspace, else $OPENCLAW_WORKSPACE, else ~/.openclaw/workspace."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from hpcskills.core.cli import run, script
from hpcskills.core.workspace import WORKSPACE_ENV, Workspace, resolve_workspace_path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME, and no workspace in the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(WORKSPACE_ENV, raising=False)
    return home


def test_default_is_under_home(home: Path) -> None:
    assert resolve_workspace_path() == (home / ".openclaw" / "workspace").resolve()
    assert Workspace.resolve(None).root == (home / ".openclaw" / "workspace").resolve()


def test_env_beats_default(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_ws = tmp_path / "from-env"
    monkeypatch.setenv(WORKSPACE_ENV, str(env_ws))
    assert resolve_workspace_path() == env_ws.resolve()


def test_explicit_beats_env(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "from-env"))
    explicit = tmp_path / "explicit"
    assert resolve_workspace_path(explicit) == explicit.resolve()
    assert resolve_workspace_path(str(explicit)) == explicit.resolve()


def test_empty_env_falls_back_to_default(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WORKSPACE_ENV, "")
    assert resolve_workspace_path() == (home / ".openclaw" / "workspace").resolve()


def test_tilde_and_relative_paths_are_made_absolute(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_workspace_path("~/ws") == (home / "ws").resolve()
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace_path("rel") == (tmp_path / "rel").resolve()


def test_layout_of_a_workspace(tmp_path: Path) -> None:
    ws = Workspace.resolve(tmp_path)
    assert ws.credentials_dir == tmp_path.resolve() / "credentials"
    assert ws.state_dir == tmp_path.resolve() / ".hpcskills"
    assert not ws.credentials_dir.exists()  # nothing is created by resolving
    assert ws.ensure_state_dir().stat().st_mode & 0o777 == 0o700


@click.command()
@script
def _where(workspace: Workspace) -> str:
    return str(workspace.root)


def _run_where(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        run(_where, argv)
    assert exited.value.code == 0
    return json.loads(capsys.readouterr().out)["data"]


def test_the_workspace_option_follows_the_same_order(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run_where([], capsys) == str((home / ".openclaw" / "workspace").resolve())
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "env"))
    assert _run_where([], capsys) == str((tmp_path / "env").resolve())
    assert _run_where(["--workspace", str(tmp_path / "cli")], capsys) == str(
        (tmp_path / "cli").resolve()
    )
