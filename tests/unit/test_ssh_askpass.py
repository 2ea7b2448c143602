"""The SSH_ASKPASS helper: one-time codes for code prompts, nothing for anything else, and
no secret anywhere but in the secret file."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path

import pyotp
import pytest

from hpcskills.ssh.askpass import REFUSAL_NOTE, askpass_env, main, write_wrapper
from hpcskills.ssh.totp import spent_step

CODE_PROMPT = "(alice@login.example.org) Verification code: "


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, Path, Path]:
    """A secret, the file holding it (0600), and where the last used step goes."""
    secret = pyotp.random_base32()
    secret_file = tmp_path / "totp_secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    return secret, secret_file, tmp_path / "last"


def ask(prompt_args: list[str], secret_file: Path, last_used: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(prompt_args, secret_file, last_used, out, err)
    return status, out.getvalue(), err.getvalue()


def test_a_code_prompt_gets_the_current_code(files: tuple[str, Path, Path]) -> None:
    secret, secret_file, last_used = files
    status, out, err = ask([CODE_PROMPT], secret_file, last_used)
    assert status == 0 and not err and out.endswith("\n")
    now = time.time()
    assert out.strip() in {pyotp.TOTP(secret).at(now + delta) for delta in (-30, 0)}
    assert spent_step(last_used) >= 0


@pytest.mark.parametrize(
    "prompt",
    [
        "(alice@codehost) Password: ",
        "Enter passphrase for key '/home/alice/.ssh/id_ed25519': ",
        "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
        "",
    ],
)
def test_other_prompts_are_refused(files: tuple[str, Path, Path], prompt: str) -> None:
    secret, secret_file, last_used = files
    status, out, err = ask([prompt], secret_file, last_used)
    assert status == 1 and out == ""
    assert err.startswith(REFUSAL_NOTE) and secret not in err
    assert not last_used.exists()  # no code was spent


def test_no_prompt_or_no_secret_file_is_refused(
    files: tuple[str, Path, Path], tmp_path: Path
) -> None:
    _secret, secret_file, last_used = files
    assert ask([], secret_file, last_used)[:2] == (1, "")
    status, out, err = ask([CODE_PROMPT], tmp_path / "nope", last_used)
    assert (status, out) == (1, "") and "FileNotFoundError" in err


def test_a_bad_secret_fails_without_showing_it(tmp_path: Path) -> None:
    bad = "NOT-BASE32-!!-SECRET-TEXT"
    secret_file = tmp_path / "totp_secret"
    secret_file.write_text(bad)
    status, out, err = ask([CODE_PROMPT], secret_file, tmp_path / "last")
    assert (status, out) == (1, "") and bad not in err


def test_the_wrapper_is_a_private_program_ssh_can_run(
    files: tuple[str, Path, Path], tmp_path: Path
) -> None:
    secret, secret_file, last_used = files
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    env = askpass_env(state, secret_file, last_used, {"PATH": os.environ.get("PATH", "")})
    wrapper = Path(env["SSH_ASKPASS"])
    assert wrapper == write_wrapper(state, secret_file, last_used)  # rewritten in place
    assert wrapper.stat().st_mode & 0o777 == 0o700
    assert env["SSH_ASKPASS_REQUIRE"] == "force"
    assert secret not in "".join(env.values()) + wrapper.read_text()  # never the secret

    def run(prompt: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(wrapper), prompt],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )

    answered = run(CODE_PROMPT)
    assert answered.returncode == 0, answered.stderr
    assert len(answered.stdout.strip()) == 6 and answered.stdout.strip().isdigit()
    refused = run("(alice@host) Password: ")
    assert refused.returncode == 1 and refused.stdout == ""
    assert secret not in refused.stderr + answered.stderr
