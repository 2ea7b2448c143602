"""Each skill folder's `_pack.py`: a Python without the package either re-runs the script
with an isolated install's interpreter (found via the `hpc-skills` console script), or
prints one JSON `package_missing` error naming the install command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scriptrun import SKILLS, path_without_isolated_install

PROBES = {
    "sjtu-slurm": "select_entry_node.py",
    "bohrium-job": "check_setup.py",
    "hpc-jobs": "jobs.py",
}


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with neither the package nor its dependencies."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


def run(python: str, skill: str, path: str) -> subprocess.CompletedProcess[str]:
    script = SKILLS / skill / "scripts" / PROBES[skill]
    return subprocess.run(
        [python, str(script), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize("skill", sorted(PROBES))
def test_missing_package_is_one_json_error(bare_python: str, skill: str) -> None:
    proc = run(bare_python, skill, path_without_isolated_install())
    assert proc.returncode == 1
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "package_missing"
    assert "pip install hpc-skills" in error["hint"]


@pytest.mark.parametrize("skill", sorted(PROBES))
def test_isolated_install_is_found_through_its_console_script(
    bare_python: str, skill: str, tmp_path: Path
) -> None:
    tool_bin = tmp_path / "bin"
    tool_bin.mkdir()
    console = tool_bin / "hpc-skills"
    console.write_text(f"#!{sys.executable}\nfrom hpcskills.__main__ import main\nmain()\n")
    console.chmod(0o755)
    proc = run(bare_python, skill, f"{tool_bin}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Usage:" in proc.stdout
