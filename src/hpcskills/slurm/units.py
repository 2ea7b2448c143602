"""Slurm's text forms of durations, memory sizes and timestamps, converted both ways.

Every function here is total: text that is not a value of the expected form gives `None`,
never an exception, so output parsers can use them on anything a cluster prints.
"""

from __future__ import annotations

import re
from datetime import datetime

_DURATION = re.compile(
    r"^(?:(?P<days>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+(?:\.\d+)?))?)?"
    r"|(?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)"
    r"|(?P<mm>\d+):(?P<ss>\d+(?:\.\d+)?)"
    r"|(?P<minutes>\d+))$",
    re.ASCII,
)
_MEM = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[KMGTP]?)(?:I?B)?[NC]?$", re.ASCII)
_MEM_FACTOR = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", re.ASCII)


_AGE = re.compile(r"(\d+)([mhdw])")
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> tuple[int, str] | None:
    """`30m`/`2h`/`3d`/`1w` → (30, "minutes") ...; None for anything else."""
    match = _AGE.fullmatch(text.strip())
    return (int(match[1]), _AGE_UNITS[match[2]]) if match else None


SINCE_HINT = (
    "an age (30m, 2h, 3d, 1w), a date or date-time that exists (2026-11-01, 2026-11-01T08:30) "
    "or now-N with seconds, minutes, hours, days or weeks (now-7days)"
)
_SACCT_NOW = re.compile(r"now(?:-(\d{1,7})(seconds|minutes|hours|days|weeks)?)?", re.ASCII)
_SACCT_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?", re.ASCII)


def sacct_start(text: str) -> str | None:
    """A start time sacct reads as meant: an age (`2h` → `now-2hours`), an ISO date or
    date-time that exists (`2026-11-01`, `2026-11-01T08:30[:15]`), or `now[-N[unit]]`;
    None for anything else (sacct would misread it or fail on the cluster)."""
    text = text.strip()
    age = parse_age(text)
    if age:
        return f"now-{age[0]}{age[1]}"
    if _SACCT_NOW.fullmatch(text):
        return text
    if _SACCT_DATE.fullmatch(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return None
        return text
    return None


def parse_duration(text: str) -> int | None:
    """Seconds in a Slurm duration, or None for UNLIMITED, INVALID, N/A and anything else.

    Accepts every form Slurm prints or takes for `--time`: `D-HH:MM:SS`, `D-HH:MM`, `D-HH`,
    `HH:MM:SS`, `MM:SS`, `MM` (plain minutes); fractional seconds (`00:01.250`) are truncated.
    """
    match = _DURATION.match(text.strip())
    if not match:
        return None
    g = match.groupdict()
    if g["days"] is not None:
        return (
            int(g["days"]) * 86400
            + int(g["dh"]) * 3600
            + int(g["dm"] or 0) * 60
            + int(float(g["ds"] or 0))
        )
    if g["h"] is not None:
        return int(g["h"]) * 3600 + int(g["m"]) * 60 + int(float(g["s"]))
    if g["mm"] is not None:
        return int(g["mm"]) * 60 + int(float(g["ss"]))
    return int(g["minutes"]) * 60


def format_duration(seconds: int) -> str:
    """`D-HH:MM:SS` as Slurm prints it; the day part is left out below one day."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def parse_mem(text: str) -> int | None:
    """Bytes in a Slurm memory size (`4G`, `4000M`, `1.5T`, `4000` = MB, `2.03 GB`).

    Units are binary (K = 1024). The `n`/`c` suffixes of old sacct ReqMem (per node / per
    CPU) are ignored. None for anything that is not a size.
    """
    match = _MEM.match(text.strip().upper())
    if not match:
        return None
    unit = match["unit"] or "M"
    return int(float(match["num"]) * 1024 ** _MEM_FACTOR[unit])


def parse_timestamp(text: str) -> str | None:
    """The ISO timestamp Slurm printed (`2024-05-01T10:00:00`, cluster local time), or None
    for `Unknown`, `None`, `N/A`, empty and anything not in that form."""
    text = text.strip()
    return text if _TIMESTAMP.match(text) else None


def parse_int(text: str) -> int | None:
    """An integer field, or None for `N/A`, empty and anything else."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def null_to_none(text: str) -> str | None:
    """Slurm's spellings of "no value" (`(null)`, `N/A`, `None`, empty) → None; else stripped."""
    text = text.strip()
    return None if text in ("", "(null)", "N/A", "None", "n/a") else text
