"""Read `skills.entries.<name>` from OpenClaw's JSON5 config (`~/.openclaw/openclaw.json`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

from hpcskills.core.errors import BadInput

CONFIG_PATH_ENV = "OPENCLAW_CONFIG_PATH"
DEFAULT_CONFIG_PATH = Path("~/.openclaw/openclaw.json")


@dataclass(frozen=True)
class SkillEntry:
    """What openclaw.json says about one skill."""

    env: dict[str, str] = field(default_factory=dict)
    api_key: str | None = None
    source: Path | None = None


def config_path() -> Path:
    """`$OPENCLAW_CONFIG_PATH`, else `~/.openclaw/openclaw.json`."""
    return Path(os.environ.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH).expanduser()


def _api_key(value: Any) -> str | None:
    """A plain string, or a SecretRef to an env var (`{"source": "env", "id": NAME}`)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict) and value.get("source") == "env" and value.get("id"):
        return os.environ.get(str(value["id"])) or None
    return None


def parse_skill_entry(text: str, name: str, source: Path | None = None) -> SkillEntry:
    """The entry for skill `name` from JSON5 text; an absent entry is empty."""
    try:
        document = json5.loads(text)
    except ValueError as exc:
        raise BadInput(
            f"{source or 'openclaw.json'} is not valid JSON5: {exc}", type="config_invalid"
        ) from None
    skills = document.get("skills") if isinstance(document, dict) else None
    entries = skills.get("entries") if isinstance(skills, dict) else None
    entry = entries.get(name) if isinstance(entries, dict) else None
    if not isinstance(entry, dict):
        return SkillEntry(source=source)
    raw_env = entry.get("env")
    env = {str(k): str(v) for k, v in (raw_env or {}).items()} if isinstance(raw_env, dict) else {}
    return SkillEntry(env=env, api_key=_api_key(entry.get("apiKey")), source=source)


def load_skill_entry(name: str, path: Path | None = None) -> SkillEntry:
    """The entry for skill `name`, or an empty one when the config file does not exist."""
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return SkillEntry()
    return parse_skill_entry(text, name, source=path)
