"""remote_exec.py on the real local site: read-only commands run, everything else asks first
(security audit 2026-12-04, section 1: `command rm -f FILE` used to delete with exit 0)."""

from __future__ import annotations

import secrets

import pytest

from scriptrun import Result, run_script

SKILL = "sjtu-slurm"


def remote_exec(cluster, *argv: str, confirm: str | None = None) -> Result:
    extra = ["--confirm", confirm] if confirm else []
    return run_script(SKILL, "remote_exec.py", *cluster.ws_args, *extra, "--", *argv,
                      env=cluster.env)


def confirmed(cluster, *argv: str) -> Result:
    """Run argv, confirming the plan if there is one (as the user would)."""
    plan = remote_exec(cluster, *argv)
    if plan.returncode != 3:
        return plan
    return remote_exec(cluster, *argv, confirm=plan.error["confirm"])


def exists(cluster, name: str) -> bool:
    listed = remote_exec(cluster, "ls", "-d", name)
    assert listed.returncode == 0, listed.describe()
    return listed.data["exit_status"] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["command", "rm", "-f"],
        ["exec", "rm", "-f"],
        ["A=/bin/ls", "rm", "-f"],
        ["sort", "-o"],
    ],
    ids=" ".join,
)
def test_wrapped_deletes_need_confirmation_and_change_nothing(cluster, argv) -> None:
    name = f"sec-allowlist-{secrets.token_hex(4)}"
    assert confirmed(cluster, "touch", name).data["exit_status"] == 0
    try:
        result = remote_exec(cluster, *argv, name, *(["/dev/null"] if "sort" in argv else []))
        assert result.returncode == 3, result.describe()
        assert result.error["plan"]["rule"] in {"runs-commands", "command-name", "option"}
        assert result.error["plan"]["why_confirm"]
        assert exists(cluster, name)
    finally:
        assert confirmed(cluster, "rm", "-f", name).data["exit_status"] == 0
    assert not exists(cluster, name)


def test_read_only_commands_run_at_once(cluster) -> None:
    result = remote_exec(cluster, "echo", "a; rm -rf /", "$(id)")
    assert result.returncode == 0, result.describe()
    assert result.data["stdout"] == "a; rm -rf / $(id)\n"


def test_a_copy_asks_only_when_it_would_overwrite(cluster) -> None:
    source, target = (f"sec-copy-{secrets.token_hex(4)}" for _ in range(2))
    assert confirmed(cluster, "touch", source).data["exit_status"] == 0
    try:
        first = remote_exec(cluster, "cp", source, target)
        assert first.returncode == 0 and first.data["exit_status"] == 0, first.describe()
        again = remote_exec(cluster, "cp", source, target)
        assert again.returncode == 3, again.describe()
        assert again.error["plan"]["rule"] == "overwrite"
    finally:
        confirmed(cluster, "rm", "-f", source, target)
