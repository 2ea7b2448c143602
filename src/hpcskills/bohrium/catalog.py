"""The skill's data files: machine types, images, WAF patterns, troubleshooting, templates.

They live in the skill folder (`references/catalog.json`, `templates/*.json`) so that the
agent reads the same tables the code checks against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput

CATALOG_FILE = Path("references") / "catalog.json"
TEMPLATES_DIR = Path("templates")


@dataclass(frozen=True)
class Trouble:
    """One row of the troubleshooting table; `match` finds it in an error text."""

    problem: str
    cause: str
    solution: str
    match: re.Pattern[str] | None


@dataclass(frozen=True)
class Catalog:
    """The parsed catalog plus the folder of job templates."""

    machine_types: dict[str, dict[str, Any]]
    machine_type_formats: tuple[re.Pattern[str], ...]
    images: tuple[dict[str, Any], ...]
    result_path_roots: tuple[str, ...]
    waf_patterns: tuple[tuple[re.Pattern[str], str], ...]
    limits: dict[str, int]
    troubleshooting: tuple[Trouble, ...]
    templates_dir: Path

    def machine_type_known(self, name: str) -> bool:
        return name in self.machine_types

    def machine_type_well_formed(self, name: str) -> bool:
        return any(pattern.fullmatch(name) for pattern in self.machine_type_formats)

    def image_suggestion(self, image: str) -> str | None:
        """The catalog's full container address for a bare or partial image name."""
        name = image.strip().lower().split("/")[-1].split(":")[0]
        for entry in self.images:
            container = entry["container"]
            if name and (name == entry["key"] or name == container.split("/")[-1].split(":")[0]):
                return container
            if entry.get("vm") and image.strip() in str(entry["vm"]).split("/"):
                return container
        return None

    def waf_reasons(self, command: str) -> list[str]:
        """Why `command` is likely to be blocked by the web firewall (empty: it is not)."""
        return [reason for pattern, reason in self.waf_patterns if pattern.search(command)]

    def hint_for(self, text: str) -> str | None:
        """The troubleshooting solution whose pattern matches `text`, if any."""
        for row in self.troubleshooting:
            if row.match and row.match.search(text):
                return f"{row.problem}: {row.cause}. {row.solution}"
        return None

    def template_names(self) -> list[str]:
        return sorted(path.stem for path in self.templates_dir.glob("*.json"))

    def template(self, name: str) -> dict[str, Any]:
        """The job.json fields of a template, or BadInput listing the templates."""
        path = self.templates_dir / f"{name}.json"
        if name not in self.template_names():
            raise BadInput(
                f"no template named {name!r}",
                type="unknown_template",
                hint="templates: " + ", ".join(self.template_names()),
            )
        return _read_object(path)


def _read_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path} is not readable JSON: {exc}", type="catalog_invalid") from None
    if not isinstance(value, dict):
        raise BadInput(f"{path} must hold a JSON object", type="catalog_invalid")
    return value


def parse_catalog(data: dict[str, Any], templates_dir: Path) -> Catalog:
    """A Catalog from the parsed catalog.json (pure)."""
    troubles = tuple(
        Trouble(
            row["problem"],
            row["cause"],
            row["solution"],
            re.compile(row["match"], re.I) if row.get("match") else None,
        )
        for row in data["troubleshooting"]
    )
    return Catalog(
        machine_types={row["name"]: row for row in data["machine_types"]},
        machine_type_formats=tuple(re.compile(p) for p in data["machine_type_formats"]),
        images=tuple(data["images"]),
        result_path_roots=tuple(data["result_path_roots"]),
        waf_patterns=tuple(
            (re.compile(row["pattern"]), row["reason"]) for row in data["waf_patterns"]
        ),
        limits=dict(data["limits"]),
        troubleshooting=troubles,
        templates_dir=templates_dir,
    )


def load_catalog(skill_dir: Path) -> Catalog:
    """The catalog of a bohrium-job skill folder."""
    return parse_catalog(_read_object(skill_dir / CATALOG_FILE), skill_dir / TEMPLATES_DIR)
