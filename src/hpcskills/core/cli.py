"""The script contract: one JSON document on stdout, diagnostics on stderr, exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from hpcskills.core import render
from hpcskills.core.confirm import confirmation_scope
from hpcskills.core.errors import EXIT_OK, BadInput, HpcError
from hpcskills.core.guidance import Guided
from hpcskills.core.redact import redact
from hpcskills.core.workspace import Workspace

DEBUG_ENV = "HPCSKILLS_DEBUG"
HUMAN_KEY = "hpcskills.human"
EXPLICIT_WORKSPACE_KEY = "hpcskills.workspace"
F = TypeVar("F", bound=Callable[..., Any])


def log(message: str) -> None:
    """A diagnostic line for people, on stderr, with secrets masked."""
    print(redact(message), file=sys.stderr, flush=True)


def _print_stdout(text: str) -> None:
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()


def _emit_error(error: HpcError, human: bool) -> NoReturn:
    body = error.to_dict()
    _print_stdout(render.human_error(body) if human else render.error_document(body))
    sys.exit(error.exit_code)


def _usage_error(exc: click.ClickException) -> BadInput:
    ctx = getattr(exc, "ctx", None)
    hint = f"see `{ctx.command_path} --help`" if ctx else "see --help"
    return BadInput(exc.format_message(), type="usage_error", hint=hint)


def human_before_separator(args: Sequence[str]) -> bool:
    """Whether `--human` was asked for, judged from the raw words (only when parsing
    failed): words after `--` are arguments, never options."""
    options = args[: args.index("--")] if "--" in args else args
    return "--human" in options


def _success_data(result: Any, meta: dict[str, Any]) -> Any:
    """The `data` of the success document; a `Guided` result's follow-up calls name this
    skill's scripts and repeat an explicit `--workspace`."""
    if not isinstance(result, Guided):
        return result
    workspace = meta.get(EXPLICIT_WORKSPACE_KEY)
    common = ["--workspace", str(workspace.root)] if workspace else []
    return result.render(Path(sys.argv[0]).resolve().parent, common)


def run(
    command: click.Command,
    argv: Sequence[str] | None = None,
    human_columns: Sequence[str] = (),
) -> NoReturn:
    """Run a click command under the output contract and exit with its code.

    The command's callback returns the `data` of the success document (a dict, or a
    `Guided` result that adds `summary` and `next`), or raises HpcError. `human_columns` narrows
    the `--human` tables to the columns a person needs.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    meta: dict[str, Any] = {}

    def human() -> bool:
        return bool(meta[HUMAN_KEY]) if HUMAN_KEY in meta else human_before_separator(args)

    prog = os.path.basename(sys.argv[0]) or command.name or "script"
    with confirmation_scope() as after_failure:
        try:
            with command.make_context(prog, list(args)) as ctx:  # click consumes its list
                meta = ctx.meta
                data = _success_data(command.invoke(ctx), meta)
        except click.exceptions.Exit as exc:  # --help and friends
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            _emit_error(_usage_error(exc), human())
        except click.exceptions.Abort:
            _emit_error(after_failure(HpcError("interrupted", type="interrupted")), human())
        except HpcError as exc:
            _emit_error(after_failure(exc), human())
        except KeyboardInterrupt:
            _emit_error(after_failure(HpcError("interrupted", type="interrupted")), human())
        except Exception as exc:  # a bug: report it without leaking secrets
            if os.environ.get(DEBUG_ENV):
                log("".join(traceback.format_exception(exc)))
            bug = HpcError(
                f"unexpected {type(exc).__name__}: {exc}",
                type="bug",
                hint=f"set {DEBUG_ENV}=1 to see the traceback on stderr, and report it",
            )
            _emit_error(after_failure(bug), human())
    _print_stdout(render.human(data, human_columns) if human() else render.ok_document(data))
    sys.exit(EXIT_OK)


def _resolve_workspace(ctx: click.Context, param: click.Parameter, value: str | None) -> Workspace:
    workspace = Workspace.resolve(value)
    if param.name and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE:
        ctx.meta[EXPLICIT_WORKSPACE_KEY] = workspace
    return workspace


def workspace_option(func: F) -> F:
    """`--workspace DIR` (else $OPENCLAW_WORKSPACE, else ~/.openclaw/workspace)."""
    return click.option(
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False),
        default=None,
        callback=_resolve_workspace,
        help="OpenClaw workspace (default: $OPENCLAW_WORKSPACE or ~/.openclaw/workspace).",
    )(func)


def _remember_human(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[HUMAN_KEY] = value
    return value


def human_option(func: F) -> F:
    """`--human`: print a readable table instead of JSON (read by `run` once parsed)."""
    return click.option(
        "--human",
        is_flag=True,
        expose_value=False,
        callback=_remember_human,
        help="Print a readable table, not JSON.",
    )(func)


def confirm_option(func: F) -> F:
    """`--confirm TOKEN` from a previous call's plan."""
    return click.option(
        "--confirm",
        "confirm_token",
        metavar="TOKEN",
        default=None,
        help="The confirm token from the plan this command printed (exit 3) on a first call.",
    )(func)


def script(func: F) -> F:
    """Common options of every script: --workspace and --human."""
    return workspace_option(human_option(func))
