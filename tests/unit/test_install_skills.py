"""scripts/install_skills.py: copies or links the skill folders, checks or installs the
package for the scripts' interpreter, creates the credentials dir, prints what to fill in;
and an installed folder still works alone (JSON package_missing without the package)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from scriptrun import path_without_isolated_install

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "install_skills.py"
SKILL_NAMES = sorted(p.name for p in (ROOT / "skills").iterdir() if (p / "SKILL.md").is_file())


def install(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, str(INSTALLER), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python without the hpc-skills package (nor pip)."""
    path = tmp_path_factory.mktemp("bare") / "venv"
    venv.EnvBuilder(with_pip=False).create(path)
    return str(path / "bin" / "python")


def fake_python(tmp_path: Path, pip_exit: int = 0) -> Path:
    """A stand-in interpreter: the package probe fails until `-m pip install` ran."""
    script = tmp_path / "fakepy"
    script.write_text(
        "#!/bin/sh\n"
        f'state="{tmp_path}/installed"\n'
        'if [ "$1" = "-c" ]; then [ -f "$state" ] && echo 0.1.0 && exit 0; exit 1; fi\n'
        f'if [ "$1 $2 $3" = "-m pip install" ]; then echo "$@" > "{tmp_path}/pip-args"; '
        f'[ {pip_exit} = 0 ] && touch "$state"; echo "pip says no" >&2; exit {pip_exit}; fi\n'
        "exit 2\n"
    )
    script.chmod(0o755)
    return script


def test_workspace_install_copies_every_skill_and_the_router(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    code, doc = install("--workspace", str(ws), "--python", sys.executable)
    assert code == 0 and doc["ok"], doc
    data = doc["data"]
    assert [s["name"] for s in data["skills"]] == [*SKILL_NAMES, "hpc-skills"]
    for name in SKILL_NAMES:
        dest = ws / "skills" / name
        assert not dest.is_symlink() and (dest / "SKILL.md").is_file()
        assert not list(dest.rglob("__pycache__")) and not list(dest.rglob("*.pyc"))
    router = ws / "skills" / "hpc-skills" / "SKILL.md"
    assert router.read_text() == (ROOT / "SKILL.md").read_text()
    assert stat.S_IMODE((ws / "credentials").stat().st_mode) == 0o700
    assert data["package"]["package"] == "present"


def test_entries_to_fill_hold_placeholders_never_values(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _, doc = install("--workspace", str(ws), "--python", sys.executable)
    entries = doc["data"]["openclaw_json"]["skills"]["entries"]
    values = [v for e in entries.values() for v in [e.get("apiKey"), *e.get("env", {}).values()]]
    assert all(v is None or v.startswith("<your ") or v == str(ws) for v in values), values
    if "bohrium-job" in SKILL_NAMES:
        assert entries["bohrium-job"]["apiKey"].startswith("<your ")


def test_rerun_replaces_the_install_and_refuses_foreign_folders(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert install("--workspace", str(ws), "--python", sys.executable)[0] == 0
    (ws / "credentials").chmod(0o755)
    assert install("--workspace", str(ws), "--python", sys.executable)[0] == 0
    assert stat.S_IMODE((ws / "credentials").stat().st_mode) == 0o700
    foreign = ws / "skills" / SKILL_NAMES[0]
    (foreign / "SKILL.md").write_text("---\nname: someone-else\ndescription: x\n---\n")
    code, doc = install("--workspace", str(ws), "--python", sys.executable)
    assert code == 2 and doc["error"]["type"] == "destination_occupied"


def test_link_mode_symlinks_and_says_which_target_to_trust(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    code, doc = install("--workspace", str(ws), "--link", "--python", sys.executable)
    assert code == 0, doc
    for name in SKILL_NAMES:
        assert (ws / "skills" / name).resolve() == ROOT / "skills" / name
    load = doc["data"]["openclaw_json"]["skills"]["load"]
    assert load == {"allowSymlinkTargets": [str(ROOT / "skills")]}


def test_global_install_goes_to_the_state_dir(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path / "home"),
        "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
        "OPENCLAW_WORKSPACE": str(tmp_path / "ws"),
    }
    code, doc = install("--global", "--python", sys.executable, env=env)
    assert code == 0, doc
    assert doc["data"]["skills_dir"] == str(tmp_path / "state" / "skills")
    assert (tmp_path / "state" / "skills" / "hpc-skills" / "SKILL.md").is_file()
    assert doc["data"]["credentials_dir"] == str(tmp_path / "ws" / "credentials")


def test_no_install_reports_the_missing_package(tmp_path: Path, bare_python: str) -> None:
    code, doc = install(
        "--workspace", str(tmp_path / "ws"), "--python", bare_python, "--no-install"
    )
    assert code == 0
    package = doc["data"]["package"]
    assert package["package"] == "missing"
    assert package["install_command"] == [bare_python, "-m", "pip", "install", "--quiet", str(ROOT)]


def test_missing_package_is_installed_from_this_checkout(tmp_path: Path) -> None:
    python = fake_python(tmp_path)
    code, doc = install("--workspace", str(tmp_path / "ws"), "--python", str(python))
    assert code == 0, doc
    assert doc["data"]["package"] == {
        "python": str(python),
        "package": "installed",
        "version": "0.1.0",
    }
    assert (tmp_path / "pip-args").read_text().split() == [
        "-m",
        "pip",
        "install",
        "--quiet",
        str(ROOT),
    ]


def test_a_failed_pip_install_is_a_json_error(tmp_path: Path) -> None:
    python = fake_python(tmp_path, pip_exit=1)
    code, doc = install("--workspace", str(tmp_path / "ws"), "--python", str(python))
    assert code == 5 and doc["error"]["type"] == "package_install_failed"
    assert "pip says no" in doc["error"]["message"] and "--python" in doc["error"]["hint"]


def test_an_unknown_interpreter_is_bad_input(tmp_path: Path) -> None:
    code, doc = install("--workspace", str(tmp_path / "ws"), "--python", str(tmp_path / "nope"))
    assert code == 2 and doc["error"]["type"] == "no_python"


@pytest.mark.parametrize("name", SKILL_NAMES)
def test_an_installed_folder_alone_names_the_install_command(
    name: str, tmp_path: Path, bare_python: str
) -> None:
    """Copied out of the checkout and run by a Python without the package, every script
    prints the package_missing JSON error with the pip command for that interpreter."""
    ws = tmp_path / "ws"
    assert install("--workspace", str(ws), "--python", bare_python, "--no-install")[0] == 0
    scripts = sorted((ws / "skills" / name / "scripts").glob("[!_]*.py"))
    assert scripts
    for script in scripts:
        proc = subprocess.run(
            [bare_python, str(script), "--workspace", str(ws)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
            env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                 "PATH": path_without_isolated_install()},
        )
        assert proc.stdout.startswith("{"), (script, proc.stdout, proc.stderr[-400:])
        doc = json.loads(proc.stdout)
        assert proc.returncode != 0 and not doc["ok"], (script, proc.stdout)
        assert doc["error"]["type"] == "package_missing", (script, doc)
        assert f"{bare_python} -m pip install hpc-skills" in doc["error"]["hint"], doc
