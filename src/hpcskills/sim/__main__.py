"""``python -m hpcskills.sim NAME [OPTIONS]``: serve one simulator until SIGTERM/SIGINT."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from hpcskills.sim import bohrium, perseus, sjtu

SIMULATORS: dict[str, Callable[[Sequence[str]], int]] = {
    "bohrium": bohrium.main,
    "perseus": perseus.main,
    "sjtu": sjtu.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to the simulator named by the first argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in SIMULATORS:
        names = "|".join(sorted(SIMULATORS))
        print(f"usage: python -m hpcskills.sim {{{names}}} [OPTIONS]", file=sys.stderr)
        return 2
    return SIMULATORS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
