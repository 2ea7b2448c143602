"""Shared by this skill's scripts: find the hpc-skills package, or say how to install it.

The package may live in this Python, or in an isolated tool environment (`uv tool install
hpc-skills`, pipx) whose console script `hpc-skills` names its interpreter: then the script
is run again with that interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SKILL_DIR = Path(__file__).resolve().parents[1]


def _tool_python() -> str | None:
    """The interpreter of an isolated install of the package, from its console script."""
    tool = shutil.which("hpc-skills")
    try:
        with open(tool or "", "rb") as script:
            first = script.readline().decode(errors="replace")
    except OSError:
        return None
    python = first[2:].strip() if first.startswith("#!") else ""
    same = os.path.abspath(python) == os.path.abspath(sys.executable)  # venvs share a binary
    return python if python and not same and os.access(python, os.X_OK) else None


try:
    import click  # noqa: F401  (every script's CLI; absent when only the package is on the path)

    import hpcskills.bohrium.context
except ImportError:
    _python = _tool_python()
    if _python:
        os.execv(_python, [_python, *sys.argv])  # noqa: S606 - the same script, argv as given
    print(json.dumps({"ok": False, "error": {
        "type": "package_missing",
        "message": f"the hpc-skills Python package is not installed for {sys.executable}",
        "hint": f"install it: {sys.executable} -m pip install hpc-skills "
                "(or, from a checkout of the pack: pip install /path/to/hpc-skills)",
        "retryable": False,
    }}))
    sys.exit(1)


def context(backend: str = "api", workspace=None) -> hpcskills.bohrium.context.Context:
    """Settings (environment, then openclaw.json), this skill's catalog, and the backend
    (which knows the bohrIds the workspace's ledger holds)."""
    return hpcskills.bohrium.context.open_context(SKILL_DIR, backend, workspace)
