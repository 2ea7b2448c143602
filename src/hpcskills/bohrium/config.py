"""Bohrium settings: access key, project and hosts, and where each one came from.

Order for every setting: the process environment (both spellings), then
`skills.entries["bohrium-job"]` of openclaw.json (`env`, and `apiKey` for the key), then the
default. OpenClaw does not always inject `env` into processes it starts, hence the fallback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hpcskills.bohrium.routes import parse_versions
from hpcskills.core.errors import AuthRequired, BadInput
from hpcskills.core.http import check_header_value
from hpcskills.core.openclaw_config import SkillEntry, load_skill_entry
from hpcskills.core.redact import register_secret
from hpcskills.core.urls import check_base_url

SKILL_NAME = "bohrium-job"
# BOHR_ACCESS_KEY: the platform's own 2026 skill (facts/bohrium.md)
KEY_VARS = ("ACCESS_KEY", "BOHRIUM_ACCESS_KEY", "BOHR_ACCESS_KEY")
PROJECT_VARS = ("PROJECT_ID", "BOHRIUM_PROJECT_ID")
OPENAPI_VAR = "OPENAPI_HOST"
VERSIONS_VAR = "BOHRIUM_API_VERSIONS"  # e.g. job_list=v1,job_detail=v1 (bohrium/routes.py)
TIEFBLUE_VAR = "TIEFBLUE_HOST"
DEFAULT_OPENAPI_HOST = "https://open.bohrium.com"
DEFAULT_TIEFBLUE_HOST = "https://tiefblue.dp.tech"
SETUP_HINT = (
    "set ACCESS_KEY (or BOHR_ACCESS_KEY) in the environment, or in ~/.openclaw/openclaw.json "
    'under skills.entries["bohrium-job"] (apiKey or env.ACCESS_KEY); the key is on the '
    "Bohrium web site under Settings → Access Key"
)


@dataclass(frozen=True)
class BohriumConfig:
    """Resolved settings; `sources` says where each came from (never the key itself)."""

    access_key: str | None
    project_id: int | None
    openapi_host: str
    tiefblue_host: str
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    api_versions: dict[str, str] = field(default_factory=dict)  # chosen over routes' defaults

    @property
    def api_base(self) -> str:
        """Base URL of the OpenAPI (`{host}/openapi`)."""
        return f"{self.openapi_host}/openapi"

    def require_key(self) -> str:
        """The access key, or AuthRequired saying how to set it (or that it is corrupt)."""
        if not self.access_key:
            raise AuthRequired("no Bohrium access key found", type="no_access_key", hint=SETUP_HINT)
        source = self.sources.get("access_key") or "its source"
        return check_header_value(
            self.access_key,
            "Authorization",
            what="the Bohrium access key",
            hint=f"copy the key again into {source}, on one line; {SETUP_HINT}",
        )

    def require_project(self, explicit: int | None = None) -> int:
        """`explicit`, else the configured project, else BadInput."""
        project = explicit if explicit is not None else self.project_id
        if project is None:
            raise BadInput(
                "no Bohrium project id",
                type="no_project_id",
                hint="pass --project_id N, or set PROJECT_ID (environment or openclaw.json env)",
            )
        return project

    def describe(self) -> dict[str, object]:
        """What `check_setup.py` shows: values (key masked) and their sources."""
        return {
            "access_key_set": bool(self.access_key),
            "access_key_source": self.sources.get("access_key"),
            "project_id": {"value": self.project_id, "source": self.sources.get("project_id")},
            "openapi_host": {"value": self.openapi_host, "source": self.sources["openapi_host"]},
            "tiefblue_host": {"value": self.tiefblue_host, "source": self.sources["tiefblue_host"]},
            "api_versions": {
                "chosen": dict(self.api_versions),
                "source": self.sources.get("api_versions", "default"),
            },
            "notes": list(self.notes),
        }


def normalize_host(value: str, name: str) -> str:
    """`https://host[/openapi]` → `https://host`; a bare host gets https://."""
    text = value.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    if text.endswith("/openapi"):
        text = text[: -len("/openapi")]
    parts = urlsplit(text)
    if not parts.hostname:
        raise BadInput(f"{name}={value!r} is not a URL", type="config_invalid", hint=SETUP_HINT)
    return check_base_url(text)


def _first(
    names: tuple[str, ...], env: Mapping[str, str], entry: SkillEntry
) -> tuple[str | None, str | None, list[str]]:
    """The first non-empty value among env vars then openclaw.json env; plus conflict notes."""
    found = [(f"env:{n}", env[n].strip()) for n in names if env.get(n, "").strip()]
    origin = str(entry.source) if entry.source else "openclaw.json"
    found += [
        (f"{origin}:env.{n}", entry.env[n].strip()) for n in names if entry.env.get(n, "").strip()
    ]
    if not found:
        return None, None, []
    source, value = found[0]
    notes = [
        f"{other} differs from {source}; using {source}"
        for other, other_value in found[1:]
        if other_value != value and other.startswith("env:") == source.startswith("env:")
    ]
    return value, source, notes


def _project(value: str | None, source: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadInput(
            f"project id from {source} is not a number: {value!r}", type="config_invalid"
        ) from None


def resolve_config(env: Mapping[str, str], entry: SkillEntry) -> BohriumConfig:
    """Settings from an environment and an openclaw.json entry (pure)."""
    sources: dict[str, str] = {}
    notes: list[str] = []
    key, key_source, key_notes = _first(KEY_VARS, env, entry)
    notes += key_notes
    if key is None and entry.api_key:
        origin = str(entry.source) if entry.source else "openclaw.json"
        key, key_source = entry.api_key, f"{origin}:apiKey"
    if key_source:
        sources["access_key"] = key_source
    project_text, project_source, project_notes = _first(PROJECT_VARS, env, entry)
    notes += project_notes
    if project_source:
        sources["project_id"] = project_source
    hosts = {}
    for label, var, default in (
        ("openapi_host", OPENAPI_VAR, DEFAULT_OPENAPI_HOST),
        ("tiefblue_host", TIEFBLUE_VAR, DEFAULT_TIEFBLUE_HOST),
    ):
        value, source, host_notes = _first((var,), env, entry)
        notes += host_notes
        hosts[label] = normalize_host(value or default, var)
        sources[label] = source or "default"
    versions_text, versions_source, versions_notes = _first((VERSIONS_VAR,), env, entry)
    notes += versions_notes
    if versions_source:
        sources["api_versions"] = versions_source
    return BohriumConfig(
        access_key=key,
        project_id=_project(project_text, project_source),
        openapi_host=hosts["openapi_host"],
        tiefblue_host=hosts["tiefblue_host"],
        sources=sources,
        notes=tuple(notes),
        api_versions=parse_versions(versions_text),
    )


def load_config(env: Mapping[str, str] | None = None) -> BohriumConfig:
    """Settings of this process (environment + openclaw.json); the key is registered secret."""
    entry = load_skill_entry(SKILL_NAME)
    register_secret(entry.api_key)
    config = resolve_config(os.environ if env is None else env, entry)
    register_secret(config.access_key)
    return config
