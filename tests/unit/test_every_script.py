"""Every script of every skill folder: --help works, and bad input is one JSON error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from scriptrun import SKILLS, run_script

SCRIPTS = sorted(
    (path.parent.parent.name, path.name)
    for path in SKILLS.glob("*/scripts/*.py")
    if not path.name.startswith("_")
)


def test_the_pack_has_scripts() -> None:
    assert len(SCRIPTS) >= 20


@pytest.mark.parametrize(("skill", "name"), SCRIPTS)
def test_help(skill: str, name: str) -> None:
    result = run_script(skill, name, "--help")
    assert result.returncode == 0, result.describe()
    assert "Usage:" in result.stdout and "--help" in result.stdout


@pytest.mark.parametrize(("skill", "name"), SCRIPTS)
def test_unknown_flag_is_bad_input(skill: str, name: str, tmp_path: Path) -> None:
    result = run_script(skill, name, "--no-such-flag", "--workspace", str(tmp_path))
    assert result.returncode == 2, result.describe()
    assert result.error["type"] in {"usage_error", "secret_on_argv"}
    assert not (tmp_path / "credentials").exists()  # nothing was changed


def test_a_stray_argument_to_update_user_is_refused_and_masked(tmp_path: Path) -> None:
    result = run_script(
        "sjtu-slurm", "update_user.py", "hunter2-secret", "--workspace", str(tmp_path)
    )
    assert result.returncode == 2 and result.error["type"] == "secret_on_argv"
    assert "hunter2-secret" not in result.stdout + result.stderr
