"""A stand-in Slurm on this machine for unit tests: each fake command records its argv and
prints a canned answer, and `LocalShell` runs the client's argv (batched sh scripts
included) for real with /bin/sh, counting the execs as a remote would."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hpcskills.ssh.base import CommandResult

FAKE = """#!/bin/sh
printf '%s\\n' "$*" >> "{calls}"
cat "{stdout}" 2>/dev/null
cat "{stderr}" >&2 2>/dev/null
exit "$(cat "{status}" 2>/dev/null || echo 0)"
"""


@dataclass
class LocalShell:
    """Runs argv locally with fake Slurm commands first on PATH; counts the execs."""

    root: Path
    execs: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "bin").mkdir(parents=True, exist_ok=True)

    def answer(self, program: str, stdout: str = "", stderr: str = "", status: int = 0) -> None:
        """What `program` prints and returns from now on."""
        base = self.root / program
        for suffix, text in (("out", stdout), ("err", stderr), ("rc", str(status))):
            base.with_suffix("." + suffix).write_text(text)
        script = self.root / "bin" / program
        script.write_text(
            FAKE.format(
                calls=base.with_suffix(".calls"),
                stdout=base.with_suffix(".out"),
                stderr=base.with_suffix(".err"),
                status=base.with_suffix(".rc"),
            )
        )
        script.chmod(0o755)

    def calls(self, program: str) -> list[str]:
        """The argument strings `program` was called with, in order."""
        path = (self.root / program).with_suffix(".calls")
        return path.read_text().splitlines() if path.exists() else []

    def __call__(self, argv: list[str]) -> CommandResult:
        self.execs.append(list(argv))
        env = {"PATH": f"{self.root / 'bin'}:{os.defpath}", "LC_ALL": "C"}
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
        return CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
