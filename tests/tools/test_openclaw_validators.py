"""The Agent Skills reference validator (`skills-ref validate`) and OpenClaw's own
`quick_validate.py` accept every skill folder and the top-level router."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from realtools import ROUTER, SYSTEM_PATH, run_tool, skill_folders, stage_router, tools

FOLDERS = [*skill_folders(), None]  # None: the router, staged as its own folder
IDS = [p.name for p in FOLDERS[:-1]] + [ROUTER]


def folder_or_router(folder: Path | None, tmp_path: Path) -> Path:
    return folder if folder is not None else stage_router(tmp_path)


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_skills_ref_validate(folder: Path | None, tmp_path: Path) -> None:
    paths = tools()
    target = folder_or_router(folder, tmp_path)
    env = {"HOME": str(tmp_path), "PATH": SYSTEM_PATH}
    proc = run_tool([paths["skills_ref"], "validate", str(target)], env)
    assert proc.returncode == 0, f"skills-ref validate {target}:\n{proc.stdout}{proc.stderr}"
    assert "Valid skill" in proc.stdout


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_openclaw_quick_validate(folder: Path | None, tmp_path: Path) -> None:
    """Run with the venv's Python, which has PyYAML (the validator's strict YAML path)."""
    paths = tools()
    target = folder_or_router(folder, tmp_path)
    env = {"HOME": str(tmp_path), "PATH": SYSTEM_PATH}
    proc = run_tool([sys.executable, paths["quick_validate"], str(target)], env)
    assert proc.returncode == 0, f"quick_validate {target}:\n{proc.stdout}{proc.stderr}"
    assert proc.stdout.strip() == "Skill is valid!"


def test_quick_validate_uses_pyyaml() -> None:
    """Without PyYAML the validator falls back to a lenient parser; make sure it is there."""
    import yaml

    assert yaml.safe_load("a: 1") == {"a": 1}
