"""Click options shared by the SJTU cluster scripts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

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
        default=None,
        metavar="GROUP",
        help="Node group whose entry node to use: pi (default), sy or kp.",
    )(func)


def job_ids_argument(func: F) -> F:
    """One or more numeric job ids (array tasks like 123_4 allowed)."""
    return click.argument("job_ids", nargs=-1, required=True, metavar="JOBID...")(func)
