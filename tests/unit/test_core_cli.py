"""The output contract: one JSON document on stdout, exit codes, --human, no tracebacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from hpcskills.core import render
from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import (
    AuthRequired,
    BadInput,
    ConfirmationRequired,
    HpcError,
    NotFound,
    RemoteError,
)
from hpcskills.core.guidance import FollowUp, Guided
from hpcskills.core.redact import register_secret

ROWS = [{"id": "1", "state": "RUNNING"}, {"id": "22", "state": "PENDING", "note": None}]


@click.command()
@script
@confirm_option
@click.option(
    "--fail",
    type=click.Choice(["bad", "confirm", "auth", "remote", "missing", "bug", "ctrlc", "generic"]),
)
@click.option("--count", type=click.IntRange(1, 5), default=1)
@click.option("--rows", is_flag=True)
def tiny(
    workspace: Any, confirm_token: str | None, fail: str | None, count: int, rows: bool
) -> Any:
    """A tiny command for contract tests."""
    log("working on it")
    errors: dict[str, Exception] = {
        "bad": BadInput("bad thing", hint="fix it"),
        "confirm": ConfirmationRequired("confirm first", confirm="123.abc", plan={"x": 1}),
        "auth": AuthRequired("log in", type="no_token", hint="req_token.py"),
        "remote": RemoteError("down", type="service_unavailable", retryable=True),
        "missing": NotFound("no such job"),
        "bug": ZeroDivisionError("division by zero"),
        "ctrlc": KeyboardInterrupt(),
        "generic": HpcError("generic"),
    }
    if fail:
        raise errors[fail]
    if rows:
        return {"title": "jobs", "jobs": ROWS}
    return {"count": count, "workspace": str(workspace.root)}


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        run(tiny, argv)
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def one_document(out: str) -> dict[str, Any]:
    assert out.endswith("\n") and out.count("\n") == 1, out
    return json.loads(out)


def test_success_is_one_json_document_and_diagnostics_go_to_stderr(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(["--workspace", str(tmp_path), "--count", "3"], capsys)
    assert code == 0
    assert one_document(out) == {"ok": True, "data": {"count": 3, "workspace": str(tmp_path)}}
    assert "working on it" in err
    assert "working on it" not in out


@pytest.mark.parametrize(
    ("fail", "exit_code", "error_type", "retryable"),
    [
        ("bad", 2, "bad_input", False),
        ("confirm", 3, "confirmation_required", False),
        ("auth", 4, "no_token", False),
        ("remote", 5, "service_unavailable", True),
        ("missing", 6, "not_found", False),
        ("generic", 1, "error", False),
    ],
)
def test_each_error_class_has_its_exit_code(
    fail: str,
    exit_code: int,
    error_type: str,
    retryable: bool,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = invoke(["--workspace", str(tmp_path), "--fail", fail], capsys)
    assert code == exit_code
    doc = one_document(out)
    assert doc["ok"] is False
    error = doc["error"]
    assert {"type", "message", "hint", "retryable"} <= set(error)
    assert (error["type"], error["retryable"]) == (error_type, retryable)
    assert "Traceback" not in out + err


def test_error_details_are_kept(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = invoke(["--workspace", str(tmp_path), "--fail", "confirm"], capsys)
    error = one_document(out)["error"]
    assert error["confirm"] == "123.abc"
    assert error["plan"] == {"x": 1}


def test_a_bug_exits_1_without_traceback(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HPCSKILLS_DEBUG", raising=False)
    code, out, err = invoke(["--workspace", str(tmp_path), "--fail", "bug"], capsys)
    assert code == 1
    error = one_document(out)["error"]
    assert error["type"] == "bug"
    assert "ZeroDivisionError" in error["message"]
    assert "HPCSKILLS_DEBUG" in error["hint"]
    assert "Traceback" not in out + err


def test_a_bug_shows_the_traceback_on_stderr_only_when_debugging(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPCSKILLS_DEBUG", "1")
    code, out, err = invoke(["--workspace", str(tmp_path), "--fail", "bug"], capsys)
    assert code == 1
    assert "Traceback" in err
    assert "Traceback" not in out
    assert one_document(out)["error"]["type"] == "bug"


def test_interrupt_is_a_json_error(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["--workspace", str(tmp_path), "--fail", "ctrlc"], capsys)
    assert code == 1
    assert one_document(out)["error"]["type"] == "interrupted"


@pytest.mark.parametrize(
    "argv",
    [
        ["--count", "9"],
        ["--no-such-option"],
        ["--fail", "nonsense"],
        ["surplus-argument"],
        ["--count"],
    ],
)
def test_usage_errors_exit_2_with_json(
    argv: list[str], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = invoke(["--workspace", str(tmp_path), *argv], capsys)
    assert code == 2
    error = one_document(out)["error"]
    assert error["type"] == "usage_error"
    assert "--help" in error["hint"]
    assert error["retryable"] is False
    assert "Usage:" not in out


def test_help_exits_0_with_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["--help"], capsys)
    assert code == 0
    assert "A tiny command for contract tests." in out
    assert "--workspace" in out and "--human" in out and "--confirm" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_human_renders_a_table(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["--workspace", str(tmp_path), "--rows", "--human"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "title: jobs"
    assert "jobs:" in lines
    header = lines[lines.index("jobs:") + 1]
    assert header.split() == ["ID", "STATE", "NOTE"]
    assert lines[-2].split() == ["1", "RUNNING", "-"]
    assert lines[-1].split() == ["22", "PENDING", "-"]


def test_human_error(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(["--workspace", str(tmp_path), "--fail", "auth", "--human"], capsys)
    assert code == 4
    assert out.startswith("error (no_token): log in")
    assert "hint: req_token.py" in out


def test_secrets_are_masked_in_error_output(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-registered-value"
    register_secret(secret)

    @click.command()
    @script
    def leaky(workspace: Any) -> Any:
        log(f"trying with {secret}")
        raise RemoteError(
            f"refused Authorization: Bearer tok.abc-123 password={secret}x and {secret}",
            hint=f"retry with {secret}",
        )

    with pytest.raises(SystemExit) as exited:
        run(leaky, ["--workspace", str(tmp_path)])
    out, err = capsys.readouterr()
    assert exited.value.code == 5
    assert secret not in out + err
    assert "tok.abc-123" not in out
    assert "***" in one_document(out)["error"]["message"]


def test_a_bug_message_is_masked(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    @click.command()
    @script
    def buggy(workspace: Any) -> Any:
        raise ValueError("could not parse password=hunter2hunter2 from config")

    with pytest.raises(SystemExit) as exited:
        run(buggy, ["--workspace", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert exited.value.code == 1
    assert "hunter2hunter2" not in out
    assert one_document(out)["error"]["type"] == "bug"


# -- render (pure) ---------------------------------------------------------------------------


def test_documents() -> None:
    assert json.loads(render.ok_document({"a": "交我算"})) == {"ok": True, "data": {"a": "交我算"}}
    assert "交我算" in render.ok_document("交我算")  # no \\u escapes for people reading it
    error = {"type": "x", "message": "m", "hint": None, "retryable": False}
    assert json.loads(render.error_document(error)) == {"ok": False, "error": error}


def test_table_aligns_columns_in_first_seen_order() -> None:
    text = render.table([{"a": 1, "bb": "x"}, {"bb": "longer", "c": [1]}])
    lines = text.splitlines()
    assert lines[0].split() == ["A", "BB", "C"]
    assert lines[1].split() == ["1", "x", "-"]
    assert lines[2].split() == ["-", "longer", "[1]"]
    assert lines[0].index("BB") == lines[1].index("x") == lines[2].index("longer")


def test_human_of_scalars_and_empty() -> None:
    assert render.table([]) == "(none)"
    assert render.human("plain") == "plain"
    assert render.human(None) == "-"
    assert render.human({"a": 1, "b": None}) == "a: 1\nb: -"
    assert render.human(ROWS).splitlines()[0].split() == ["ID", "STATE", "NOTE"]


def test_human_tables_can_be_narrowed_to_the_columns_people_need() -> None:
    from hpcskills.core.render import human

    data = {
        "count": 2,
        "jobs": [{"id": 1, "name": "a", "noise": "x" * 50}, {"id": 2, "name": "b", "noise": "y"}],
    }
    narrowed = human(data, ("id", "name", "missing"))
    assert "noise" not in narrowed.lower() and "NAME" in narrowed and "count: 2" in narrowed
    assert "NOISE" in human(data)  # without a choice every column shows
    assert "NOISE" in human(data, ("missing",))  # a choice the rows lack falls back to all


@click.command()
@script
@confirm_option
@click.option("--then", type=click.Choice(["ok", "fail", "bug"]), default="ok")
@click.argument("words", nargs=-1)
def act(workspace: Any, confirm_token: str | None, then: str, words: tuple[str, ...]) -> Any:
    """A confirmed action over free words (like remote_exec.py -- ARGV)."""
    require_confirmation(workspace, "test.act", {"words": list(words)}, confirm_token)
    if then == "fail":
        raise RemoteError("the action failed", type="remote_failed", hint="try later")
    if then == "bug":
        raise ValueError("oops")
    return Guided(
        {"words": list(words)},
        summary="Acted.",
        next=(FollowUp("job_info.py", ("7", "a b")), FollowUp("x.py", skill="other")),
    )


def call(command: click.Command, argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    with pytest.raises(SystemExit) as exited:
        run(command, argv)
    out, _ = capsys.readouterr()
    return int(exited.value.code or 0), out


def plan_token(ws: str, words: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out = call(act, ["--workspace", ws, "--", *words], capsys)
    assert code == 3
    return json.loads(out)["error"]["confirm"]


def test_human_after_the_separator_is_an_argument(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path)
    token = plan_token(ws, ["echo", "--human"], capsys)
    code, out = call(act, ["--workspace", ws, "--confirm", token, "--", "echo", "--human"], capsys)
    assert code == 0 and one_document(out)["data"]["words"] == ["echo", "--human"]
    code, out = call(act, ["--workspace", ws, "--", "--human"], capsys)  # a plan, in JSON
    assert code == 3 and one_document(out)["error"]["plan"] == {"words": ["--human"]}


def test_human_on_a_usage_error_only_before_the_separator(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = call(act, ["--then", "nope", "--human", "--", "x"], capsys)
    assert code == 2 and out.startswith("error (usage_error)")
    code, out = call(act, ["--then", "nope", "--", "--human"], capsys)
    assert code == 2 and one_document(out)["error"]["type"] == "usage_error"


def test_guidance_renders_summary_and_exact_next_calls(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path)
    token = plan_token(ws, ["w"], capsys)
    code, out = call(act, ["--workspace", ws, "--confirm", token, "--", "w"], capsys)
    data = one_document(out)["data"]
    here = Path(sys.argv[0]).resolve().parent
    assert code == 0 and data["summary"] == "Acted." and data["words"] == ["w"]
    assert data["next"] == [
        f"python3 {here / 'job_info.py'} 7 'a b' --workspace {tmp_path}",
        f"python3 {here.parent.parent / 'other' / 'scripts' / 'x.py'} --workspace {tmp_path}",
    ]
    token = plan_token(ws, ["h"], capsys)
    code, out = call(act, ["--workspace", ws, "--confirm", token, "--human", "--", "h"], capsys)
    lines = out.splitlines()
    assert lines[0] == "Acted." and "next:" in lines and lines[-1].startswith("  python3 ")


def test_guidance_without_an_explicit_workspace(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCLAW_WORKSPACE", str(tmp_path))
    token = plan_token(str(tmp_path), ["w"], capsys)
    code, out = call(act, ["--confirm", token, "--", "w"], capsys)
    assert code == 0 and "--workspace" not in one_document(out)["data"]["next"][0]


@pytest.mark.parametrize("then", ["fail", "bug"])
def test_a_failure_after_confirmation_answers_with_a_fresh_plan(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], then: str
) -> None:
    ws = str(tmp_path)
    token = plan_token(ws, ["w"], capsys)
    argv = ["--workspace", ws, "--confirm", token, "--then", then, "--", "w"]
    code, out = call(act, argv, capsys)
    error = one_document(out)["error"]
    assert code == (5 if then == "fail" else 1)
    assert error["replan"]["plan"] == {"words": ["w"]} and error["replan"]["confirm"] != token
    code, out = call(act, ["--workspace", ws, "--confirm", token, "--", "w"], capsys)
    assert code == 3 and one_document(out)["error"]["type"] == "confirmation_used"
    fresh = error["replan"]["confirm"]
    code, out = call(act, ["--workspace", ws, "--confirm", fresh, "--", "w"], capsys)
    assert code == 0


def test_a_huge_confirm_value_is_a_plan_not_a_bug(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "9" * 5000 + "." + "a" * 40
    code, out = call(act, ["--workspace", str(tmp_path), "--confirm", huge, "--", "w"], capsys)
    assert code == 3 and one_document(out)["error"]["type"] == "confirmation_malformed"
