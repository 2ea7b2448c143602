"""Names of jobs and groups sent to Bohrium: printable text, not blank, bounded (pure).

The platform documents no limit; 128 characters is the pack's conservative choice (the web
console shows names on one line). Control characters and ANSI escapes are refused: a name
is shown in terminals, tables and the console.
"""

from __future__ import annotations

from hpcskills.core.errors import BadInput

MAX_NAME_LEN = 128


def check_name(name: str, what: str) -> str:
    """`name` when it is a good job or group name; BadInput `invalid_name` otherwise."""
    if not name.strip():
        problem = "is empty"
    elif len(name) > MAX_NAME_LEN:
        problem = f"has {len(name)} characters (at most {MAX_NAME_LEN})"
    elif not name.isprintable():
        problem = "holds a line break, control character or terminal escape"
    else:
        return name
    raise BadInput(
        f"{what} {name[:40]!r}{'...' if len(name) > 40 else ''} {problem}",
        type="invalid_name",
        hint=f"one line of printable text, at most {MAX_NAME_LEN} characters",
    )
