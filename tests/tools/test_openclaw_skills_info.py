"""`openclaw skills info NAME --json` in a throwaway OpenClaw home, bundled skills and plugins
off, our folders loaded through `skills.load.extraDirs`: each skill parses (no "Skipping
invalid skill"), is not eligible with exactly its declared required env missing, and becomes
eligible once `skills.entries.<name>` supplies it (apiKey for primaryEnv, env for the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from realtools import SKILLS, OpenClawHome, skill_folders, stage_router, tools

from hpcskills.skillmeta import SkillMeta, load_skill

FOLDERS = [*skill_folders(), None]  # None: the router
IDS = [p.name for p in FOLDERS[:-1]] + ["hpc-skills"]


def filled_entry(meta: SkillMeta) -> dict[str, Any]:
    """A skills.entries value that supplies every required env var (placeholder values)."""
    entry: dict[str, Any] = {}
    if meta.primary_env:
        entry["apiKey"] = "placeholder-not-a-real-key"
    env = {v: "placeholder" for v in meta.required_env if v != meta.primary_env}
    return {**entry, "env": env} if env else entry


@pytest.fixture
def home(tmp_path: Path) -> OpenClawHome:
    return OpenClawHome(tmp_path / "openclaw", tools()["bin"])


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_skill_info_gating(folder: Path | None, home: OpenClawHome, tmp_path: Path) -> None:
    folder = folder if folder is not None else stage_router(tmp_path / "router")
    meta = load_skill(folder)
    extra_dirs = [str(SKILLS), str(folder.parent)]
    home.configure({"load": {"extraDirs": extra_dirs}})

    info = home.openclaw_json("skills", "info", meta.name)
    assert info["name"] == meta.name and Path(info["baseDir"]) == folder
    assert info["source"] == "openclaw-extra" and not info["bundled"]
    requires = meta.openclaw.get("requires", {})
    assert info["requirements"]["bins"] == requires.get("bins", []), "metadata not parsed"
    assert info["requirements"]["env"] == meta.required_env
    assert info.get("primaryEnv") == meta.primary_env
    assert info["missing"]["bins"] == [] and info["missing"]["anyBins"] == []
    assert info["missing"]["env"] == meta.required_env
    assert info["eligible"] is (not meta.required_env)

    if meta.required_env:
        home.configure(
            {"load": {"extraDirs": extra_dirs}, "entries": {meta.name: filled_entry(meta)}}
        )
        info = home.openclaw_json("skills", "info", meta.name)
        assert info["missing"]["env"] == []
        assert info["eligible"] is True, info
