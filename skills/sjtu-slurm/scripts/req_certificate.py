#!/usr/bin/env python3
"""Request an SSH certificate for the entry nodes; the user must approve 2FA."""

import _pack
import click

from hpcskills.core.cli import log, run, script
from hpcskills.sjtu.certificates import request_certificate
from hpcskills.sjtu.users import resolve_user


@click.command()
@script
@click.argument("username", required=False)
@click.option("--valid-time", type=click.IntRange(60, 366 * 86400), default=None,
              help="Requested validity in seconds (site default: 3600).")
@click.option("--wait-timeout", type=click.IntRange(1, 3600), default=None,
              help="How long to wait for the user's 2FA approval (default 600 s).")
@click.option("--no-wait", is_flag=True,
              help="Return at once with status pending; poll cert_status.py.")
@click.option("--server-keygen", is_flag=True,
              help="Let the server generate the key pair (/gen_key) instead of this machine.")
@click.option("--renew", is_flag=True, help="Replace a certificate that is still valid.")
def main(workspace, username, valid_time, wait_timeout, no_wait, server_keygen, renew):
    """Get an SSH key + certificate into the credentials dir (id_ed25519, id_ed25519-cert.pub).

    The key pair is made on this machine; only the public key is sent. Tell the user
    BEFORE calling: a two-factor request arrives in the JWB app (交我办) or by email.
    """
    site = _pack.site()
    return request_certificate(
        workspace,
        site,
        resolve_user(workspace, username),
        valid_time=valid_time or site.default_cert_valid_seconds,
        wait=wait_timeout or site.twofa_wait_seconds,
        server_keygen=server_keygen,
        renew=renew,
        no_wait=no_wait,
        report=log,
    )


if __name__ == "__main__":
    run(main)
