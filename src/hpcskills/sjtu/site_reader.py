"""Typed reads from the JSON of a site profile (pure): every problem is a BadInput of type
`site_invalid` whose message names the field, e.g. `partitions.debug.max_nodes`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hpcskills.core.errors import BadInput

SITE_INVALID = "site_invalid"


def site_invalid(field: str, problem: str) -> BadInput:
    """The error for one bad field of the profile."""
    return BadInput(
        f"site profile field {field} {problem}",
        type=SITE_INVALID,
        field=field,
        hint="fix site.json or the file $HPCSKILLS_SITE_FILE names "
        "(skills/sjtu-slurm/references/site-profile.md lists every field)",
    )


def _described(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ObjectReader:
    """One JSON object of the profile at `path`; reading a key marks it known, `done()`
    refuses the keys nobody read (a typo must not pass silently)."""

    def __init__(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise site_invalid(path or "(top level)", f"must be an object, not {_described(value)}")
        self._value = value
        self._path = path
        self._read: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self._value.get(key)

    def text(self, key: str, default: str | None = None) -> str:
        """The string under `key`; empty only where the default is empty."""
        value = self._get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or (not value and default != ""):
            raise site_invalid(
                self.field(key), f"must be a non-empty string, not {_described(value)}"
            )
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self._get(key) is not None else None

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self._get(key)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise site_invalid(
                self.field(key), f"must be a whole number >= {minimum}, not {_described(value)}"
            )
        return value

    def optional_integer(self, key: str, minimum: int = 0) -> int | None:
        return self.integer(key, minimum=minimum) if self._get(key) is not None else None

    def number(self, key: str, default: float) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise site_invalid(
                self.field(key), f"must be a positive number, not {_described(value)}"
            )
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self._get(key) is None else self.number(key, 0.0)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise site_invalid(self.field(key), f"must be true or false, not {_described(value)}")
        return value

    def words(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
            raise site_invalid(
                self.field(key), f"must be a list of non-empty strings, not {_described(value)}"
            )
        return tuple(value)

    def names(self, key: str) -> dict[str, str]:
        """A JSON object whose values are non-empty strings."""
        inner = self.table(key)
        return {name: inner.text(name) for name in inner.members()}

    def table(self, key: str) -> ObjectReader:
        """The object under `key` ({} when absent)."""
        value = self._get(key)
        return ObjectReader({} if value is None else value, self.field(key))

    def members(self) -> list[str]:
        return list(self._value)

    def entries(self, key: str) -> Iterator[tuple[str, ObjectReader]]:
        """(name, reader) for each object in the object under `key`."""
        inner = self.table(key)
        for name in inner.members():
            yield name, ObjectReader(inner._get(name), inner.field(name))

    def done(self) -> None:
        unknown = sorted(set(self._value) - self._read)
        if unknown:
            raise site_invalid(self.field(unknown[0]), "is not a field of the site profile")
