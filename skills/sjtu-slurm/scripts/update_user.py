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
              help="File holding the new password; deleted once read (by the plan call too; "
              "bad input found before reading it leaves it).")
@click.option("--wait-timeout", type=click.IntRange(1, 3600), default=None,
              help="How long to wait for the user's 2FA approval (default 600 s).")
@click.argument("extra", nargs=-1, metavar="")
def main(workspace, confirm_token, name, email, jaccount, contact_method, new_password_stdin,
         new_password_textfile, wait_timeout, extra):
    """First call: prints the plan and a confirm token (exit 3), changes nothing. After the
    user agrees: the same call with --confirm TOKEN sends it; the user approves 2FA. A new
    password is read (and its file deleted) by both calls: the token fits only that password."""
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
    user = resolve_user(workspace, name)
    # read once the input passed (exit 2 leaves the file); from here on the file is gone
    new_password = take_secret(new_password_textfile) if password_change else None
    return update_user(workspace, site, user, changes, new_password, confirm_token,
                       wait_timeout or site.twofa_wait_seconds, log)

if __name__ == "__main__":
    run(main)
