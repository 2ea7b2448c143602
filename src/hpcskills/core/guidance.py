"""A script's result with guidance for the agent: one sentence on what happened
(`data.summary`) and the exact calls that usually come next (`data.next`).

Engines or scripts return a `Guided` result; `cli.run` renders it (with the paths of the
installed scripts) into the success document. Both fields are optional.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FollowUp:
    """One follow-up call: a script of the same skill (or of `skill`) and its arguments."""

    script: str
    args: tuple[str, ...] = ()
    skill: str | None = None

    def command(self, scripts_dir: Path, common: Sequence[str] = ()) -> str:
        """The exact command line, given the running script's directory and the options
        every call of this session needs (e.g. `--workspace DIR`)."""
        directory = scripts_dir
        if self.skill is not None:
            directory = scripts_dir.parent.parent / self.skill / "scripts"
        return shlex.join(["python3", str(directory / self.script), *self.args, *common])


@dataclass(frozen=True)
class Guided:
    """The `data` of a success document plus its guidance."""

    data: dict[str, Any]
    summary: str | None = None
    next: tuple[FollowUp, ...] = field(default=())

    def render(self, scripts_dir: Path, common: Sequence[str] = ()) -> dict[str, Any]:
        """`data` with `summary` and `next` (command strings) added when present."""
        guidance: dict[str, Any] = {}
        if self.summary:
            guidance["summary"] = self.summary
        if self.next:
            guidance["next"] = [step.command(scripts_dir, common) for step in self.next]
        return {**self.data, **guidance}
