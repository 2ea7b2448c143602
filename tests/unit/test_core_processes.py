"""The one process-liveness check (submission owners, certificate workers, scratch dirs)."""

from __future__ import annotations

import os
import subprocess
import sys

from hpcskills.core.processes import process_alive


def test_this_process_is_alive() -> None:
    assert process_alive(os.getpid())


def test_ids_that_name_no_process_are_not_alive() -> None:
    assert not process_alive(0)
    assert not process_alive(-5)


def test_a_reaped_child_is_gone_and_an_unreaped_one_is_a_zombie() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
    assert not process_alive(child.pid)  # a zombie counts as gone
    child.wait()
    assert not process_alive(child.pid)
