"""Crashing a skill script at one step of the submit-once path (crashpoint.py) and reading
the ledger afterwards. Import from here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from hpcskills.core.workspace import Workspace
from hpcskills.ledger.records import PHASES, Submission
from hpcskills.ledger.store import open_ledger

from scriptrun import keep_output, script_path

CRASHPOINT = Path(__file__).resolve().parent / "crashpoint.py"


def crash_run(step: str, how: str, skill: str, name: str, *args: str, env: dict[str, str]):
    """The script run through crashpoint.py; checks that it crashed as asked."""
    argv = [sys.executable, str(CRASHPOINT), step, how, str(script_path(skill, name)), *args]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    keep_output(" ".join(argv[1:]), proc.stdout + proc.stderr)
    described = f"rc={proc.returncode}\nstdout={proc.stdout}\nstderr={proc.stderr}"
    if how == "kill":
        assert proc.returncode == -signal.SIGKILL, described
    else:
        assert json.loads(proc.stdout)["error"]["type"] == "interrupted", described
    return proc


def ledger_rows(workspace: Path, platform: str) -> list[Submission]:
    with open_ledger(Workspace(workspace)) as ledger:
        return ledger.select(platforms=[platform], phases=PHASES)
