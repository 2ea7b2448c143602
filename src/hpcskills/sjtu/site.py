"""The SJTU site profile: a data file in the skill folder, overridable without code changes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.core.urls import check_base_url

SITE_FILE_ENV = "HPCSKILLS_SITE_FILE"
API_URL_ENV = "HPCSKILLS_SJTU_API_URL"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`: nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"site profile {path} does not exist", type="site_missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(
            f"site profile {path} is not valid JSON: {exc}", type="site_invalid"
        ) from None
    if not isinstance(value, dict):
        raise BadInput(f"site profile {path} must hold a JSON object", type="site_invalid")
    return value


@dataclass(frozen=True)
class SiteProfile:
    """The site's API, support contacts, node groups, partitions, entry nodes and storage."""

    data: dict[str, Any]

    @property
    def api_base_url(self) -> str:
        return check_base_url(str(self.data["api"]["base_url"]))

    @property
    def api_domain(self) -> str:
        return str(self.data["api"].get("domain", "pi"))

    @property
    def api_timeout(self) -> float:
        return float(self.data["api"].get("timeout_seconds", 30))

    @property
    def support_email(self) -> str:
        return str(self.data.get("support", {}).get("email", ""))

    @property
    def security_docs(self) -> str:
        return str(self.data.get("support", {}).get("security_docs", ""))

    @property
    def default_cert_valid_seconds(self) -> int:
        return int(self.data.get("certificate", {}).get("default_valid_seconds", 3600))

    @property
    def twofa_wait_seconds(self) -> int:
        return int(self.data.get("certificate", {}).get("twofa_wait_seconds", 600))

    @property
    def contact_methods(self) -> list[str]:
        return [str(m) for m in self.data.get("contact_methods", ["jwb", "email"])]


def load_site(base_file: Path) -> SiteProfile:
    """The profile in `base_file`, with `$HPCSKILLS_SITE_FILE` laid over it and
    `$HPCSKILLS_SJTU_API_URL` replacing the API base URL."""
    data = _read_json(base_file)
    override = os.environ.get(SITE_FILE_ENV)
    if override:
        data = deep_merge(data, _read_json(Path(override).expanduser()))
    api_url = os.environ.get(API_URL_ENV)
    if api_url:
        data = deep_merge(data, {"api": {"base_url": api_url}})
    return SiteProfile(data)
