"""The remote layer's pure parts: quoting, failure classification, host key pins, TOTP."""

from __future__ import annotations

import shlex
from pathlib import Path

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.ssh.askpass import REFUSAL_NOTE
from hpcskills.ssh.base import Endpoint, Identity, command_line
from hpcskills.ssh.connect import choose_backend
from hpcskills.ssh.hostkeys import pin, pinned_keys
from hpcskills.ssh.openssh import base_options, classify_failure, control_dir
from hpcskills.ssh.totp import answer_prompts, is_code_prompt, spent_step, totp_code

EP = Endpoint("login.example.org", 2222, "alice", "pilogin")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8GIY+nMg24WM3C65RxwNXeEjF/+xuCh/FIERmHWboy"


@given(st.lists(st.text(min_size=0).filter(lambda t: "\x00" not in t), min_size=1))
def test_command_line_round_trips_through_a_shell_parser(words: list[str]) -> None:
    assert shlex.split(command_line(words)) == words


def test_command_line_quotes_metacharacters() -> None:
    line = command_line(["echo", "a; rm -rf ~", "$(id)", "`id`", "x'y"])
    assert shlex.split(line)[1:] == ["a; rm -rf ~", "$(id)", "`id`", "x'y"]
    assert ";" not in line.replace("'a; rm -rf ~'", "")


def test_classify_changed_host_key(tmp_path: Path) -> None:
    stderr = (
        "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nThe fingerprint for the "
        "ED25519 key sent by the remote host is\nSHA256:abcdefghijklmnopqrstuvwxyz0123456789"
        "ABCDEFG.\nHost key verification failed."
    )
    error = classify_failure(stderr, EP, tmp_path / "known_hosts")
    assert isinstance(error, RemoteError) and error.type == "host_key_changed"
    assert not error.retryable
    assert error.details["offered_fingerprint"].startswith("SHA256:abcdef")


def test_classify_auth_and_network_failures(tmp_path: Path) -> None:
    denied = classify_failure("alice@host: Permission denied (publickey).", EP, tmp_path)
    assert isinstance(denied, AuthRequired) and denied.type == "ssh_auth_failed"
    refused = classify_failure("ssh: connect to host x port 22: Connection refused", EP, tmp_path)
    assert isinstance(refused, RemoteError) and refused.retryable


def test_classify_one_time_code_failures(tmp_path: Path) -> None:
    code = classify_failure("alice@h: Permission denied (keyboard-interactive).", EP, tmp_path)
    assert isinstance(code, AuthRequired) and code.type == "ssh_auth_failed"
    assert "one-time code" in code.message and "totp_secret" in code.hint
    stderr = f"{REFUSAL_NOTE} 'Password:'\nalice@h: Permission denied (keyboard-interactive)."
    prompt = classify_failure(stderr, EP, tmp_path)
    assert isinstance(prompt, AuthRequired) and prompt.type == "unsupported_prompt"


def test_master_options_for_one_time_codes(tmp_path: Path) -> None:
    identity = Identity(tmp_path / "k", tmp_path / "k-cert.pub", tmp_path / "known_hosts")
    plain = " ".join(base_options(identity, tmp_path / "sock", 15))
    assert "BatchMode=yes" in plain and "KbdInteractive" not in plain
    codes = base_options(identity, tmp_path / "sock", 15, answer_codes=True)
    assert "BatchMode=no" in codes and "BatchMode=yes" not in codes  # ssh keeps the first
    assert "PreferredAuthentications=publickey,keyboard-interactive" in codes
    assert "NumberOfPasswordPrompts=1" in codes  # a refused code is not retried


def test_known_hosts_pins_by_host_and_port(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    assert pinned_keys(known_hosts, EP) == []
    fingerprint = pin(known_hosts, EP, KEY)
    assert fingerprint.startswith("SHA256:")
    assert pinned_keys(known_hosts, EP) == [KEY]
    assert pinned_keys(known_hosts, Endpoint("login.example.org", 22, "alice")) == []
    assert known_hosts.stat().st_mode & 0o777 == 0o600
    assert known_hosts.read_text().startswith("[login.example.org]:2222 ssh-ed25519 ")


def test_control_dir_stays_short_enough_for_a_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 120)
    chosen = control_dir(deep)
    assert len(str(chosen)) + 1 + 40 + 17 < 104  # the master's temporary socket name
    assert chosen.stat().st_mode & 0o777 == 0o700


def test_totp_never_reuses_a_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = pyotp.random_base32()
    clock = [1_700_000_010.0]
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr("hpcskills.ssh.totp.time.sleep", fake_sleep)
    last = tmp_path / "last"
    first = totp_code(secret, last, now=lambda: clock[0])
    assert first == pyotp.TOTP(secret).at(clock[0]) and not slept
    second = totp_code(secret, last, now=lambda: clock[0])  # same 30 s step: must wait
    assert slept and clock[0] // 30 == 1_700_000_010 // 30 + 1
    assert second == pyotp.TOTP(secret).at(clock[0])
    assert spent_step(last) == int(clock[0]) // 30


def test_prompts_other_than_codes_are_refused() -> None:
    assert answer_prompts([("Verification code: ", False)], lambda: "123456") == ["123456"]
    with pytest.raises(AuthRequired):
        answer_prompts([("Password: ", False)], lambda: "123456")
    assert is_code_prompt("(alice@login.example.org) Verification code: ")
    assert not is_code_prompt("(alice@codehost) Password: ")  # the host name does not count


def test_backend_choice() -> None:
    assert choose_backend("auto", has_ssh=True, needs_totp=False) == "openssh"
    assert choose_backend("auto", has_ssh=False, needs_totp=False) == "paramiko"
    assert choose_backend("auto", has_ssh=True, needs_totp=True) == "openssh"
    old_ssh = {"has_ssh": True, "needs_totp": True, "ssh_answers_codes": False}
    assert choose_backend("auto", **old_ssh) == "paramiko"
    with pytest.raises(BadInput):
        choose_backend("openssh", **old_ssh)
    with pytest.raises(BadInput):
        choose_backend("openssh", has_ssh=False, needs_totp=False)
    with pytest.raises(BadInput):
        choose_backend("telnet", has_ssh=True, needs_totp=False)
