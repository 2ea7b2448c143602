#!/usr/bin/env python3
"""Change the SJTU HPC account (email, jAccount, contact method, password): confirmed, 2FA."""

from pathlib import Path

import _pack
import click

from hpcskills.core.cli import confirm_option, log, run, script
from hpcskills.core.params import NonEmptyText
from hpcskills.core.secret_input import choose_source, refuse_argv_secrets, take_secret
from hpcskills.sjtu.account import update_user, validate_changes
from hpcskills.sjtu.users import resolve_user


@click.command(context_settings={"ignore_unknown_options": True})  # a "--..." password too
@script
@confirm_option
@click.option("--name", type=NonEmptyText(), help="HPC username (default: the remembered one).")
@click.option("--email")
@click.option("--jaccount")
@click.option("--contact-method", help="Preferred 2FA channel, e.g. jwb or email.")
@click.option("--new-password-stdin", is_flag=True, help="Read the new password from stdin.")
@click.option("--new-password-textfile", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the new password; deleted after use.")
@click.option("--wait-timeout", type=click.IntRange(1, 3600), default=None,
              help="How long to wait for the user's 2FA approval (default 600 s).")
@click.argument("extra", nargs=-1, metavar="")
def main(workspace, confirm_token, name, email, jaccount, contact_method, new_password_stdin,
         new_password_textfile, wait_timeout, extra):
    """First call: prints the plan and a confirm token (exit 3), changes nothing. After the
    user agrees: the same call with --confirm TOKEN sends it; the user approves 2FA."""
    refuse_argv_secrets(extra, "--new-password-textfile", "--new-password-stdin")
    site = _pack.site()
    password_change = bool(new_password_stdin or new_password_textfile)
    if password_change:
        choose_source(new_password_textfile, new_password_stdin, "--new-password-textfile",
                      "--new-password-stdin")
    changes = validate_changes(
        site, {"email": email, "jAccount": jaccount, "contactMethod": contact_method},
        password_change,
    )
    return update_user(workspace, site, resolve_user(workspace, name), changes,
                       password_change, lambda: take_secret(new_password_textfile),
                       confirm_token, wait_timeout or site.twofa_wait_seconds, log)


if __name__ == "__main__":
    run(main)
