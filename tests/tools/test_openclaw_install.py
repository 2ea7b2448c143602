"""scripts/install_skills.py into a fresh workspace, then the real `openclaw skills list` (in a
throwaway home whose agent workspace is the install target) shows every skill, loaded from
the workspace and eligible once the printed openclaw.json fragment is merged in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from realtools import ROOT, ROUTER, OpenClawHome, skill_folders, tools


def install(workspace: Path, *extra: str) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "install_skills.py"),
            "--workspace",
            str(workspace),
            "--python",
            sys.executable,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["data"]


@pytest.mark.parametrize("mode", [(), ("--link",)], ids=["copy", "link"])
def test_openclaw_lists_every_installed_skill(mode: tuple[str, ...], tmp_path: Path) -> None:
    home = OpenClawHome(tmp_path / "openclaw", tools()["bin"])
    workspace = tmp_path / "workspace"
    data = install(workspace, *mode)
    fragment = data["openclaw_json"]["skills"]
    home.configure(fragment, agents={"defaults": {"workspace": str(workspace)}})

    listed = home.openclaw_json("skills", "list")
    assert Path(listed["workspaceDir"]) == workspace
    skills = {s["name"]: s for s in listed["skills"]}
    expected = {p.name for p in skill_folders()} | {ROUTER}
    assert set(skills) == expected, f"openclaw lists {sorted(skills)}"
    for name, skill in skills.items():
        assert skill["source"] == "openclaw-workspace", (name, skill["source"])
        assert skill["eligible"], (name, skill["missing"])
