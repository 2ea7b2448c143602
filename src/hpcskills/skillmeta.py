"""Read a skill folder's SKILL.md frontmatter: name, description, `metadata.openclaw`.

Stdlib only (pack tooling such as `scripts/install_skills.py` uses it before the package's
dependencies exist). The pack writes `metadata` as one-line JSON, so a `key: value` reader is
enough; anything else is reported as an error rather than guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKILL_FILE = "SKILL.md"


class FrontmatterError(ValueError):
    """SKILL.md has no frontmatter, or one this reader does not understand."""


def frontmatter_lines(text: str) -> list[str]:
    """The lines between the opening `---` and the closing `---`."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FrontmatterError("SKILL.md does not start with a '---' frontmatter block")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return lines[1:index]
    raise FrontmatterError("the frontmatter block is not closed by '---'")


def parse_frontmatter(text: str) -> dict[str, str]:
    """Top-level `key: value` pairs (quotes stripped); multi-line values are refused."""
    fields: dict[str, str] = {}
    for line in frontmatter_lines(text):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1].isspace() or ":" not in line:
            raise FrontmatterError(f"not a one-line 'key: value' field: {line!r}")
        key, value = (part.strip() for part in line.split(":", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[key] = value
    return fields


@dataclass(frozen=True)
class SkillMeta:
    """What a SKILL.md declares."""

    folder: Path
    fields: dict[str, str]
    openclaw: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.fields.get("name", "")

    @property
    def description(self) -> str:
        return self.fields.get("description", "")

    @property
    def required_env(self) -> list[str]:
        """`requires.env`: OpenClaw marks the skill not eligible until these are set."""
        return list(self.openclaw.get("requires", {}).get("env", []))

    @property
    def optional_env(self) -> list[str]:
        """`envVars` entries with `required: false`."""
        return [v["name"] for v in self.openclaw.get("envVars", []) if not v.get("required")]

    @property
    def primary_env(self) -> str | None:
        """The env var `skills.entries.<name>.apiKey` stands for."""
        return self.openclaw.get("primaryEnv")

    @property
    def declared_env(self) -> set[str]:
        """Every env var name the frontmatter declares, in any of the three places."""
        names = set(self.required_env) | {v["name"] for v in self.openclaw.get("envVars", [])}
        return names | ({self.primary_env} if self.primary_env else set())


def load_skill(folder: Path) -> SkillMeta:
    """Read `folder/SKILL.md`; `metadata` must be JSON with an `openclaw` object if present."""
    fields = parse_frontmatter((folder / SKILL_FILE).read_text(encoding="utf-8"))
    openclaw: dict[str, Any] = {}
    if "metadata" in fields:
        try:
            metadata = json.loads(fields["metadata"])
        except json.JSONDecodeError as exc:
            raise FrontmatterError(f"metadata is not one-line JSON: {exc}") from None
        openclaw = metadata.get("openclaw", {}) if isinstance(metadata, dict) else {}
    return SkillMeta(folder=folder, fields=fields, openclaw=openclaw)
