"""`hpc-skills` (or `python -m hpcskills`): where the package is installed, as JSON.

Installed as a console script so that isolated installs (`uv tool install hpc-skills`)
expose their interpreter; the skill scripts use it to run themselves with that Python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hpcskills import __version__


def main() -> int:
    """Print the version, the interpreter and the package location."""
    info = {"version": __version__, "python": sys.executable,
            "package": str(Path(__file__).resolve().parent)}
    print(json.dumps({"ok": True, "data": info}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
