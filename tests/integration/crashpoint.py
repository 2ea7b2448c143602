"""Run a skill script and crash it at one step of the submit-once path (for the kill tests).

    python crashpoint.py STEP HOW SCRIPT [ARGS...]

STEP  after_claim   the intent is in the ledger, nothing sent
      mid_upload    Bohrium: the job is created and its input zip is being written, not sent
      mid_send      sending, before the platform accepted (no sbatch, job/add, bohr job submit)
      accepted      the platform accepted the job, its answer not yet back to submit_once
      before_mark   submit_once holds the job id, the ledger does not
      after_mark    the ledger holds the job id
HOW   interrupt     KeyboardInterrupt raised there (Ctrl-C: handlers run)
      kill          SIGKILL to this process (nothing runs after it)

The first time the step is reached the process crashes; the script runs unchanged otherwise.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.bohr_cli import CliBackend
from hpcskills.bohrium.tiefblue import TiefblueUploader
from hpcskills.ledger.store import Ledger
from hpcskills.ssh.openssh import OpenSshRemote
from hpcskills.ssh.paramiko_backend import ParamikoRemote

STEPS = ("after_claim", "mid_upload", "mid_send", "accepted", "before_mark", "after_mark")


def crash(how: str) -> None:
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise KeyboardInterrupt


def around(owner: Any, name: str, before: bool, how: str, when: Callable[..., bool]) -> None:
    """Crash before (or after) the first call of `owner.name` for which `when(args)` holds."""
    original = getattr(owner, name)
    fired = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hit = not fired and when(*args, **kwargs)
        if hit:
            fired.append(True)
        if hit and before:
            crash(how)
        result = original(*args, **kwargs)
        if hit:
            crash(how)
        return result

    setattr(owner, name, wrapper)


def is_sbatch(_self: Any, argv: list[str], *_a: Any, **_k: Any) -> bool:
    return "sbatch" in argv


def is_bohr_submit(_self: Any, args: list[str], *_a: Any, **_k: Any) -> bool:
    return list(args[:2]) == ["job", "submit"]


def install(step: str, how: str) -> None:
    always: Callable[..., bool] = lambda *_a, **_k: True  # noqa: E731
    if step == "after_claim":
        around(Ledger, "claim", False, how, always)
    elif step == "mid_upload":
        around(TiefblueUploader, "upload", True, how, always)
    elif step in ("mid_send", "accepted"):
        before = step == "mid_send"
        around(BohriumApi, "add_job", before, how, always)
        around(CliBackend, "run", before, how, is_bohr_submit)
        for remote in (OpenSshRemote, ParamikoRemote):
            around(remote, "run", before, how, is_sbatch)
    elif step in ("before_mark", "after_mark"):
        around(Ledger, "mark_submitted", step == "before_mark", how, always)
    else:
        raise SystemExit(f"unknown step {step}")


def main() -> None:
    step, how, script, *args = sys.argv[1:]
    install(step, how)
    sys.argv = [script, *args]
    sys.path.insert(0, str(Path(script).parent))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
