"""Pure renderers for the output contract: the JSON document and `--human` text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def ok_document(data: Any) -> str:
    """The stdout document of a successful call."""
    return json.dumps({"ok": True, "data": data}, ensure_ascii=False, default=str)


def error_document(error: dict[str, Any]) -> str:
    """The stdout document of a failed call."""
    return json.dumps({"ok": False, "error": error}, ensure_ascii=False, default=str)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def table(rows: list[dict[str, Any]], only: Sequence[str] = ()) -> str:
    """Rows of dicts as an aligned text table (columns in first-seen order, or those of
    `only` that the rows have)."""
    if not rows:
        return "(none)"
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    columns = [c for c in only if c in columns] or columns
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


GUIDANCE_KEYS = ("summary", "next")


def _guided(data: dict[str, Any], columns: Sequence[str]) -> str:
    """The summary first, the body, then the follow-up calls one a line."""
    body = human({k: v for k, v in data.items() if k not in GUIDANCE_KEYS}, columns)
    lines = [str(data["summary"])] if data.get("summary") else []
    lines.append(body)
    if data.get("next"):
        lines += ["", "next:", *(f"  {step}" for step in data["next"])]
    return "\n".join(lines)


def human(data: Any, columns: Sequence[str] = ()) -> str:
    """A readable rendering of a result: the guidance (`summary`, `next`) around it,
    scalars as `key: value`, row lists as tables (narrowed to `columns` when given)."""
    if isinstance(data, dict) and any(data.get(key) for key in GUIDANCE_KEYS):
        return _guided(data, columns)
    if _is_rows(data):
        return table(data, columns)
    if not isinstance(data, dict):
        return _cell(data)
    scalars = [f"{key}: {_cell(val)}" for key, val in data.items() if not _is_rows(val)]
    blocks = [f"\n{key}:\n{table(val, columns)}" for key, val in data.items() if _is_rows(val)]
    return "\n".join(scalars + blocks).strip()


def human_error(error: dict[str, Any]) -> str:
    """A readable rendering of an error object."""
    lines = [f"error ({error.get('type')}): {error.get('message')}"]
    if error.get("hint"):
        lines.append(f"hint: {error['hint']}")
    extra = {k: v for k, v in error.items() if k not in {"type", "message", "hint", "retryable"}}
    if extra:
        lines.append(human(extra))
    return "\n".join(lines)
