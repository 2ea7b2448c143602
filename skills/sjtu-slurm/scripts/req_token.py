#!/usr/bin/env python3
"""Request a new SJTU HPC API token; the password comes from a file or stdin, never argv."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import run, script
from hpcskills.core.secret_input import choose_source, refuse_argv_secrets, take_secret
from hpcskills.sjtu.tokens import request_token


@click.command(context_settings={"ignore_unknown_options": True})  # a "--..." password too
@script
@click.argument("username")
@click.argument("extra", nargs=-1, metavar="")
@click.option(
    "--textfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File whose first line is the password; deleted once read, also if the request "
    "fails (bad input found before reading it leaves it).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def main(workspace, username, extra, textfile, password_stdin):
    """Request a token for USERNAME and save it as credentials/hpc_token.

    The username is remembered for later scripts. Never pass the password as an argument.
    """
    misplaced = [*([username] if username.startswith("-") else []), *extra]
    refuse_argv_secrets(misplaced, "--textfile", "--password-stdin")
    choose_source(textfile, password_stdin, "--textfile", "--password-stdin")
    return request_token(workspace, _pack.site(), username, lambda: take_secret(textfile))


if __name__ == "__main__":
    run(main)
