"""SSH_ASKPASS helper of the OpenSSH backend: answers one-time-code prompts, nothing else.

ssh (started with SSH_ASKPASS_REQUIRE=force, OpenSSH >= 8.4) runs the program named by
SSH_ASKPASS with the prompt as its only argument, e.g. "(alice@host) Verification code: ".
For such a prompt the helper prints the current TOTP code and exits 0. Any other prompt (a
password, a key passphrase, a host key question) gets nothing and exit 1: ssh then sends an
empty answer and the login fails cleanly instead of sending a wrong secret.

SSH_ASKPASS must be a program without arguments: `write_wrapper` writes a small executable
script into the workspace's state dir that runs `main` with this Python and names two files,
never a secret: the base32 secret (credentials/totp_secret) and the record of the last time
step used (so no code is sent twice). Neither the secret nor its path is put in the
environment of ssh.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from hpcskills.core.credstore import atomic_write
from hpcskills.ssh.totp import is_code_prompt, totp_code

REFUSAL_NOTE = "hpc-skills askpass: not answering"
WRAPPER_NAME = "ssh-askpass"


def main(
    argv: Sequence[str],
    secret_file: Path,
    last_used: Path,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print the code for a code prompt (exit 0); refuse anything else (exit 1)."""
    prompt = argv[0] if len(argv) == 1 else ""
    if not is_code_prompt(prompt):
        err.write(f"{REFUSAL_NOTE} {prompt.strip()[:200]!r}\n")
        return 1
    try:
        code = totp_code(secret_file.read_text().strip(), last_used)
    except (OSError, ValueError) as exc:  # no secret text in either message
        err.write(f"hpc-skills askpass: no code from {secret_file}: {type(exc).__name__}\n")
        return 1
    out.write(code + "\n")
    return 0


def write_wrapper(directory: Path, secret_file: Path, last_used: Path) -> Path:
    """An executable script (0700) in `directory` that runs `main` for these files with this
    interpreter and this copy of the package; rewritten atomically at every call."""
    package_root = Path(__file__).resolve().parents[2]
    text = (
        f"#!{sys.executable}\n"
        "# Written by hpc-skills: ssh's SSH_ASKPASS, answers one-time-code prompts only.\n"
        "import sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(package_root)!r})\n"
        "from hpcskills.ssh.askpass import main\n"
        f"sys.exit(main(sys.argv[1:], Path({str(secret_file)!r}), Path({str(last_used)!r})))\n"
    )
    path = directory / WRAPPER_NAME
    atomic_write(path, text.encode(), mode=0o700)
    return path


def askpass_env(
    directory: Path, secret_file: Path, last_used: Path, base: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The environment for an ssh that must answer code prompts through the helper."""
    return {
        **base,
        "SSH_ASKPASS": str(write_wrapper(directory, secret_file, last_used)),
        "SSH_ASKPASS_REQUIRE": "force",
    }
