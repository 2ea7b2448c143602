"""Run a command no script covers; only read-only commands run without confirmation."""

from __future__ import annotations

from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.command_policy import CopyCheck, Risk, judge
from hpcskills.sjtu.session import ClusterSession

MAX_OUTPUT = 100_000


def _risk(session: ClusterSession, argv: list[str]) -> Risk | None:
    """Why this command needs confirmation; a copy asks the node whether it would overwrite."""
    verdict = judge(argv)
    if not isinstance(verdict, CopyCheck):
        return verdict
    target = verdict.destination
    if session.remote.run(["ls", "-d", "--", target], timeout=30).ok:  # also a dangling link
        return Risk("overwrite", f"{argv[0]} would overwrite the existing {target}")
    return None


def _clip(text: str) -> tuple[str, bool]:
    return (text[-MAX_OUTPUT:], True) if len(text) > MAX_OUTPUT else (text, False)


def remote_exec(
    workspace: Workspace,
    session: ClusterSession,
    argv: list[str],
    confirm: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Run argv (each word quoted) on the entry node; anything but a read-only command
    (see command_policy) needs confirmation."""
    if not argv or not argv[0]:
        raise BadInput("no command given", hint="remote_exec.py -- COMMAND ARGS...")
    risk = _risk(session, argv)
    if risk:
        plan = {
            **session.describe(),
            "command": argv,
            "rule": risk.rule,
            "why_confirm": risk.why,
            "impact": "data or jobs may be changed irreversibly",
        }
        require_confirmation(
            workspace,
            "sjtu.remote_exec",
            plan,
            confirm,
            binding={"entry_node": session.choice.name, "argv": argv},
        )
    result = session.remote.run(argv, timeout=timeout)
    stdout, cut_out = _clip(result.stdout)
    stderr, cut_err = _clip(result.stderr)
    return {
        **session.describe(),
        "command": argv,
        "exit_status": result.returncode,
        "stdout": stdout,
        "stderr": stderr,
        "truncated": cut_out or cut_err,
    }
