"""Shared by this skill's scripts: find the hpc-skills package, or say how to install it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

SKILL_DIR = Path(__file__).resolve().parents[1]

try:
    import click  # noqa: F401  (every script's CLI; absent when only the package is on the path)

    import hpcskills.sjtu.site
except ImportError:
    print(json.dumps({"ok": False, "error": {
        "type": "package_missing",
        "message": f"the hpc-skills Python package is not installed for {sys.executable}",
        "hint": f"install it: {sys.executable} -m pip install hpc-skills "
                "(or, from a checkout of the pack: pip install /path/to/hpc-skills)",
        "retryable": False,
    }}))
    sys.exit(1)


def site() -> hpcskills.sjtu.site.SiteProfile:
    """This skill's site profile (site.json, with $HPCSKILLS_SITE_FILE laid over it)."""
    return hpcskills.sjtu.site.load_site(SKILL_DIR / "site.json")
