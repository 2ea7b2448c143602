"""check_setup.py: which settings are used and where they came from; API, project and bohr."""

from __future__ import annotations

import subprocess
from typing import Any

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.bohr_cli import find_bohr, parse_version
from hpcskills.bohrium.config import SETUP_HINT, load_config
from hpcskills.bohrium.routes import table
from hpcskills.core.errors import HpcError

WHO_FIELDS = ("user_id", "userId", "orgId", "org_id", "nickname", "email")


def _bohr() -> dict[str, Any]:
    path = find_bohr()
    if path is None:
        return {"installed": False, "note": "optional: only --backend cli needs it"}
    try:
        proc = subprocess.run(
            [str(path), "version"],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"installed": True, "path": str(path), "error": str(exc)[:200]}
    return {"installed": True, "path": str(path), "version": parse_version(proc.stdout)}


def _failure(exc: HpcError) -> dict[str, Any]:
    return {"ok": False, "error": exc.type, "message": exc.message, "hint": exc.hint}


def check_setup() -> dict[str, Any]:
    """Settings with their sources (never the key), reachability, project access, bohr."""
    config = load_config()
    result: dict[str, Any] = {"settings": config.describe(), "api_versions": table()}
    problems: list[str] = []
    if not config.access_key:
        result["api"] = {"ok": False, "error": "no_access_key", "hint": SETUP_HINT}
        problems.append("no access key")
    else:
        api = BohriumApi(config)
        try:
            who = api.whoami()
            result["api"] = {
                "ok": True,
                "url": config.api_base,
                "identity": {k: who[k] for k in WHO_FIELDS if k in who},
            }
        except HpcError as exc:
            result["api"] = _failure(exc)
            problems.append(f"API: {exc.message}")
        if config.project_id is None:
            result["project"] = {
                "ok": False,
                "note": "no PROJECT_ID: submit and group create need --project_id",
            }
        elif result["api"]["ok"]:
            try:
                api.list_page(1, 1, project_id=config.project_id)
                result["project"] = {"ok": True, "project_id": config.project_id}
            except HpcError as exc:
                result["project"] = _failure(exc)
                problems.append(f"project {config.project_id}: {exc.message}")
    result["bohr"] = _bohr()
    result["ready"] = not problems
    result["problems"] = problems
    return result
