"""The README stays true as the pack grows: its first lines are the two commands, its table
lists every script of every skill next to a link to that skill's SKILL.md, links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanrules import skill_folders

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SCRIPTS = sorted(
    script for folder in skill_folders() for script in (folder / "scripts").glob("[!_]*.py")
)


def test_the_first_lines_are_the_two_commands() -> None:
    lines = README.splitlines()
    assert lines[2] == "```bash"
    assert lines[3].startswith("scripts/demo ") and lines[4].startswith("scripts/test ")
    assert lines[5] == "```"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_every_script_is_in_the_table_with_its_skill_md(script: Path) -> None:
    skill = script.parents[1].name
    row = rf"^\| \[{skill}\]\(skills/{skill}/SKILL\.md\) \| `{re.escape(script.name)}` \|"
    assert re.search(row, README, re.MULTILINE), (
        f"README.md: add a row '| [{skill}](skills/{skill}/SKILL.md) | `{script.name}` | ... |'"
    )


def test_every_relative_link_resolves() -> None:
    targets = re.findall(r"\]\(([^)#:]+)\)", README)
    assert "SKILL.md" in targets
    missing = sorted({t for t in targets if not (ROOT / t).exists()})
    assert not missing, f"README.md links to missing files: {missing}"
