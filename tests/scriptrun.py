"""Run skill scripts as an agent does, check the output contract, collect outputs for the
suite-wide secret scan (see conftest.py). Import from here, not from conftest.

Every script run through `run_script` is checked against the output contract (stdout is one
JSON document, or `--help` text) and its stdout/stderr are kept; at the end of the session
the suite fails if any registered secret (passwords, tokens, private keys found in any
credentials dir) appears in any of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SKILLS = ROOT / "skills"

_outputs: list[tuple[str, str]] = []
_secrets: set[str] = set()
_credential_dirs: set[Path] = set()


def register_secret(value: str | None) -> None:
    """A value that must never appear in any script output."""
    if value and len(value.strip()) >= 6:
        _secrets.add(value.strip())


def keep_output(command: str, output: str) -> None:
    """A script run made without `run_script` (e.g. one crashed on purpose), for the scan."""
    _outputs.append((command, output))


def _harvest(directory: Path) -> None:
    for path in directory.glob("*"):
        if path.is_file() and not path.name.endswith(".pub") and path.name != "known_hosts":
            text = path.read_text(errors="replace")
            register_secret(text)
            for line in text.splitlines():
                if len(line) >= 16 and "PRIVATE KEY" not in line and not line.startswith("#"):
                    register_secret(line)


@dataclass
class Result:
    """A finished script run."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    doc: dict[str, Any] | None = field(default=None)

    @property
    def data(self) -> Any:
        assert self.doc and self.doc["ok"], self.describe()
        return self.doc["data"]

    @property
    def error(self) -> dict[str, Any]:
        assert self.doc and not self.doc["ok"], self.describe()
        return self.doc["error"]

    def describe(self) -> str:
        return (
            f"{' '.join(self.argv)}\nrc={self.returncode}\nstdout={self.stdout}\n"
            f"stderr={self.stderr}"
        )


def script_path(skill: str, name: str) -> Path:
    return SKILLS / skill / "scripts" / name


def run_script(
    skill: str,
    name: str,
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    python: str | None = None,
) -> Result:
    """Run `skills/<skill>/scripts/<name>` like an agent does, and check the contract."""
    argv = [python or sys.executable, str(script_path(skill, name)), *args]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        argv,
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    keep_output(" ".join(argv[1:]), proc.stdout + proc.stderr)
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if "--help" not in args:
        lines = proc.stdout.strip().splitlines()
        assert len(lines) == 1 or "--human" in args, f"stdout is not one line:\n{result.describe()}"
        if "--human" not in args:
            result.doc = json.loads(proc.stdout)
            assert result.doc["ok"] == (proc.returncode == 0), result.describe()
            if not result.doc["ok"]:
                assert {"type", "message", "hint", "retryable"} <= set(result.doc["error"])
    assert "Traceback" not in proc.stderr, result.describe()
    for index, arg in enumerate(args):
        if arg == "--workspace" and index + 1 < len(args):
            _credential_dirs.add(Path(args[index + 1]) / "credentials")
    return result


def leaked_secrets() -> list[tuple[str, str]]:
    """(command, secret prefix) for every registered secret found in any captured output."""
    for directory in _credential_dirs:
        if directory.is_dir():
            _harvest(directory)
    return [
        (command, secret[:6] + "...")
        for command, output in _outputs
        for secret in _secrets
        if secret in output
    ]


def path_without_isolated_install() -> str:
    """$PATH without the dirs holding the `hpc-skills` console script, through which a
    Python lacking the package would find an isolated install and re-run with it."""
    dirs = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "hpc-skills").exists())
