"""Write one benchmark's section of bench/RESULTS.md, leaving the other sections intact."""

from __future__ import annotations

import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nEach section is rewritten by the script it names.\n"


def machine() -> str:
    """A one-line description of where the numbers were taken."""
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (f"{datetime.now(timezone.utc):%Y-%m-%d}, {platform.system()} {platform.machine()}, "
            f"{cores} cores, Python {platform.python_version()}")


def replace_section(document: str, title: str, body: str) -> str:
    """`document` with the `## title` section replaced (or appended)."""
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(document):
        return pattern.sub(lambda _m: section + "\n", document).rstrip() + "\n"
    return document.rstrip() + "\n\n" + section


def write_section(title: str, body: str) -> None:
    """Rewrite the `## title` section of bench/RESULTS.md."""
    current = RESULTS.read_text() if RESULTS.exists() else HEADER
    RESULTS.write_text(replace_section(current, title, body))
