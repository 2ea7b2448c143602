"""Run a blocking call while telling the person on stderr that we are still waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_with_progress(
    func: Callable[[], T],
    report: Callable[[str], None],
    label: str,
    interval: float = 15.0,
) -> T:
    """`func()` in a worker thread; `report` a line every `interval` seconds until it ends."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    worker.start()
    while True:
        worker.join(interval)
        if not worker.is_alive():
            break
        report(f"{label} ({time.monotonic() - started:.0f} s so far)")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
