"""Support for the bad-input fuzz test: every script's click command loaded in this process,
its options and arguments listed, a run under the output contract, and the three witnesses
of "nothing changed" (workspace bytes, simulators' state-changing requests, sshd sessions
of the test's own key). Import from here."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from hpcskills.core import cli, redact
from hpcskills.sim.httpbase import SimulatorBase

from scriptrun import SKILLS, keep_output

CONTRACT_EXITS = {0, 2, 3, 4, 5, 6}  # 1 is "bug"


@dataclass(frozen=True)
class Command:
    """One leaf click command of a script: `label` is `skill/script.py [subcommand]`."""

    label: str
    script: Path
    command: click.Command  # the script's `main`, which `cli.run` gets
    prefix: tuple[str, ...]  # the subcommand name, for groups
    leaf: click.Command

    def params(self) -> list[click.Parameter]:
        """What a fuzzer may set: every option and argument except flags, --workspace."""
        return [
            param
            for param in self.leaf.params
            if param.name not in {"workspace", "human"}
            and not (isinstance(param, click.Option) and (param.is_flag or param.count))
        ]

    def option_names(self) -> set[str]:
        """Every spelling of every option (a value equal to one is parsed as that option)."""
        names = {"--help"}
        for param in self.leaf.params:
            if isinstance(param, click.Option):
                names.update(param.opts, param.secondary_opts)
        return names


def _load_main(path: Path) -> click.Command:
    """The script's click command, imported with its own skill's `_pack` module."""
    directory = str(path.parent)
    saved = sys.modules.pop("_pack", None)
    sys.path.insert(0, directory)
    try:
        name = f"fuzz_{path.parent.parent.name.replace('-', '_')}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(directory)
        sys.modules.pop("_pack", None)
        if saved is not None:
            sys.modules["_pack"] = saved
    return module.main


def every_command() -> list[Command]:
    """Every leaf command of every script of every skill (groups give one per subcommand)."""
    found = []
    for path in sorted(SKILLS.glob("*/scripts/*.py")):
        if path.name.startswith("_"):
            continue
        main = _load_main(path)
        label = f"{path.parent.parent.name}/{path.name}"
        if isinstance(main, click.Group):
            for name, sub in sorted(main.commands.items()):
                found.append(Command(f"{label} {name}", path, main, (name,), sub))
        else:
            found.append(Command(label, path, main, (), main))
    return found


@dataclass
class Outcome:
    """A finished in-process run."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"argv={self.argv!r}\nexit={self.code}\nstdout={self.stdout}\nstderr={self.stderr}"


def run_in_process(command: Command, argv: Sequence[str]) -> Outcome:
    """`cli.run` on the script's command, as `python script.py ARGV` with empty stdin; like a
    new process, it starts without the secrets earlier runs registered for masking (a fuzzed
    value taken for a password would otherwise be masked in every later run's output)."""
    out, err = io.StringIO(), io.StringIO()
    full = [*command.prefix, *argv]
    saved_argv, saved_stdin = sys.argv, sys.stdin
    known = set(redact._known)
    sys.argv, sys.stdin = [str(command.script), *full], io.StringIO("")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.run(command.command, full)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = -1  # cli.run always exits
    finally:
        sys.argv, sys.stdin = saved_argv, saved_stdin
        redact._known.clear()
        redact._known.update(known)
    keep_output(f"{command.label} {full!r}", out.getvalue() + err.getvalue())
    return Outcome(full, code, out.getvalue(), err.getvalue())


def tree_hash(root: Path) -> str:
    """Names, modes and bytes of every file and directory under `root` (sockets by name)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}\0{info.st_mode:o}\0".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def platform_writes(sims: Sequence[SimulatorBase]) -> list[list[str]]:
    """Every simulator's log of state-changing requests so far."""
    return [sim.state_changing_requests() for sim in sims]


def key_fingerprint(public_key: Path) -> str:
    """`SHA256:...` of a public key, as sshd logs it."""
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True, check=True
    )
    return listed.stdout.split()[1]


class SshdWatch:
    """The sshd logs of the local site, read from where they ended at `mark()`, reduced to
    what the test's own key did: its logins, and the sessions (commands, sftp) on them.

    Other tests log in at the same time with other keys; a login is ours when sshd's
    "Accepted publickey" line names our key's fingerprint, and a session is ours when it
    starts on the client port of one of our logins."""

    def __init__(self, logs: Sequence[Path], fingerprint: str) -> None:
        self.logs = list(logs)
        self.fingerprint = fingerprint
        self._offsets: list[int] = []

    def mark(self) -> None:
        self._offsets = [log.stat().st_size for log in self.logs]

    def _new_lines(self) -> Iterator[str]:
        for log, offset in zip(self.logs, self._offsets, strict=True):
            with log.open("rb") as handle:
                handle.seek(offset)
                yield from handle.read().decode(errors="replace").splitlines()

    def ours(self) -> tuple[list[str], list[str]]:
        """(our logins, the sessions started on them) since `mark()`."""
        lines = list(self._new_lines())
        logins = [ln for ln in lines if "Accepted publickey" in ln and self.fingerprint in ln]
        ports = {m.group(1) for ln in logins if (m := re.search(r" port (\d+) ", ln))}
        sessions = [
            ln for ln in lines
            if ln.startswith("Starting session:")
            and (m := re.search(r" port (\d+) ", ln)) and m.group(1) in ports
        ]
        return logins, sessions
