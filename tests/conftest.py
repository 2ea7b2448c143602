"""Shared fixtures; the script runner and the secret scan live in scriptrun.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scriptrun import Result, leaked_secrets, register_secret, run_script

__all__ = ["Result", "register_secret", "run_script"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh, empty OpenClaw workspace directory."""
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_output() -> Iterator[None]:
    """After the whole suite: no secret appears in any captured script output."""
    yield
    leaks = leaked_secrets()
    assert not leaks, f"secrets leaked into script output: {leaks[:5]}"
