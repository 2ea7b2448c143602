"""Click parameter types for values every script checks the same way, before any work."""

from __future__ import annotations

import math
from typing import Any

import click


class Seconds(click.ParamType):
    """A finite number of seconds, > 0 and at most `maximum` (nan, inf, 0 and negatives fail)."""

    name = "seconds"

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or not 0 < seconds <= self.maximum:
            self.fail(f"{value!r} is not a number of seconds in (0, {self.maximum:g}]", param, ctx)
        return seconds


class NonEmptyText(click.ParamType):
    """Text that is not empty or blank: an empty value never silently means the default."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        text = str(value)
        if not text.strip():
            self.fail("is empty; leave the option out to get the default", param, ctx)
        return text
