"""The script contract: one JSON document on stdout, diagnostics on stderr, exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from hpcskills.core import render
from hpcskills.core.confirm import confirmation_scope
from hpcskills.core.errors import EXIT_OK, BadInput, HpcError
from hpcskills.core.redact import redact
from hpcskills.core.workspace import Workspace

DEBUG_ENV = "HPCSKILLS_DEBUG"
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


def run(
    command: click.Command,
    argv: Sequence[str] | None = None,
    human_columns: Sequence[str] = (),
) -> NoReturn:
    """Run a click command under the output contract and exit with its code.

    The command's callback returns the `data` of the success document, or raises HpcError.
    `human_columns` narrows the `--human` tables to the columns a person needs.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    human = "--human" in args
    prog = os.path.basename(sys.argv[0]) or command.name or "script"
    with confirmation_scope() as after_failure:
        try:
            with command.make_context(prog, args) as ctx:
                data = command.invoke(ctx)
        except click.exceptions.Exit as exc:  # --help and friends
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            _emit_error(_usage_error(exc), human)
        except click.exceptions.Abort:
            _emit_error(after_failure(HpcError("interrupted", type="interrupted")), human)
        except HpcError as exc:
            _emit_error(after_failure(exc), human)
        except KeyboardInterrupt:
            _emit_error(after_failure(HpcError("interrupted", type="interrupted")), human)
        except Exception as exc:  # a bug: report it without leaking secrets
            if os.environ.get(DEBUG_ENV):
                log("".join(traceback.format_exception(exc)))
            bug = HpcError(
                f"unexpected {type(exc).__name__}: {exc}",
                type="bug",
                hint=f"set {DEBUG_ENV}=1 to see the traceback on stderr, and report it",
            )
            _emit_error(after_failure(bug), human)
    _print_stdout(render.human(data, human_columns) if human else render.ok_document(data))
    sys.exit(EXIT_OK)


def workspace_option(func: F) -> F:
    """`--workspace DIR` (else $OPENCLAW_WORKSPACE, else ~/.openclaw/workspace)."""
    return click.option(
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False),
        default=None,
        callback=lambda _ctx, _param, value: Workspace.resolve(value),
        help="OpenClaw workspace (default: $OPENCLAW_WORKSPACE or ~/.openclaw/workspace).",
    )(func)


def human_option(func: F) -> F:
    """`--human`: print a readable table instead of JSON."""
    return click.option(
        "--human", is_flag=True, expose_value=False, help="Print a readable table, not JSON."
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
