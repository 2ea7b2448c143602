"""Click options shared by the SJTU cluster scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from hpcskills.core.errors import BadInput
from hpcskills.core.params import NonEmptyText
from hpcskills.slurm.commands import check_job_ids
from hpcskills.slurm.units import SINCE_HINT, sacct_start
from hpcskills.ssh.connect import BACKENDS

F = TypeVar("F", bound=Callable[..., Any])


def backend_option(func: F) -> F:
    """`--backend auto|openssh|paramiko` (default: $HPCSKILLS_SSH_BACKEND, else auto)."""
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default=None,
        help="SSH backend (default auto: OpenSSH with a shared connection when available).",
    )(func)


def node_group_option(func: F) -> F:
    """`--node-group pi|sy|kp`: whose entry node to use."""
    return click.option(
        "--node-group",
        type=NonEmptyText(),
        default=None,
        metavar="GROUP",
        help="Node group whose entry node to use: pi (default), sy or kp.",
    )(func)


def job_ids_argument(func: F) -> F:
    """One or more numeric job ids (array tasks like 123_4 allowed)."""
    return click.argument(
        "job_ids", nargs=-1, required=True, metavar="JOBID...", callback=_job_ids
    )(func)


def job_ids_option(flag: str, name: str, help_text: str) -> Callable[[F], F]:
    """A repeatable option of job ids (`--after-ok 12 --after-ok 13` or `--after-ok 12,13`),
    checked before any connection."""

    def split(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]):
        words = tuple(w for v in value for w in v.replace(",", " ").split())
        return _job_ids(ctx, param, words)

    return click.option(flag, name, multiple=True, metavar="JOBID", callback=split,
                        help=help_text + " Repeatable or comma-separated.")


def job_id_argument(func: F) -> F:
    """One numeric job id (or array task 123_4), checked before any connection."""
    return click.argument("job_id", metavar="JOBID", callback=_job_id)(func)


def _job_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    return _job_ids(ctx, param, (value,))[0]


def _job_ids(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]):
    try:
        return tuple(check_job_ids(value)) if value else value
    except BadInput as exc:
        raise click.BadParameter(f"{exc.message} ({exc.hint})") from None


def since_option(func: F) -> F:
    """`--since AGE|DATE|now-N<unit>`, checked here (before any connection)."""
    return click.option(
        "--since",
        callback=_since,
        help="Add finished jobs since then: 2h, 3d, 1w, 2026-11-01 or now-7days.",
    )(func)


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and sacct_start(value) is None:
        raise click.BadParameter(f"{value[:40]!r} is not {SINCE_HINT}")
    return value
