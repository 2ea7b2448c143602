"""How a job is run beyond its resources (pure): as an array of tasks, after other jobs, or
held until released. Checked on construction; rendered as sbatch long options.

Array specs follow sbatch's `--array` grammar: comma-separated indices or ranges
`START-END[:STEP]`, optionally `%N` at the end (at most N tasks at a time).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from hpcskills.core.errors import BadInput
from hpcskills.slurm.commands import MAX_ARRAY_INDEX, check_job_ids

_RANGE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$", re.ASCII)
MAX_LISTED_INDICES = 100_000  # an array spec never expands beyond this in memory
DEPENDENCY_KINDS = ("afterok", "afterany", "afternotok")


@dataclass(frozen=True)
class ArraySpec:
    """An `--array` value: its task indices in order and the throttle (None: no limit)."""

    text: str
    indices: tuple[int, ...]
    throttle: int | None

    @property
    def size(self) -> int:
        return len(self.indices)

    @property
    def max_index(self) -> int:
        return max(self.indices)


def _bad_array(text: str, why: str) -> BadInput:
    return BadInput(
        f"--array {text[:40]!r}: {why}",
        type="bad_array",
        hint="e.g. 1-8, 1-8%2 (at most 2 at a time), 0,3,5-9, 1-99:2",
    )


def parse_array(text: str) -> ArraySpec:
    """The array spec `text` (e.g. `1-8%2`); BadInput `bad_array` when sbatch would refuse it."""
    body, sep, throttle_text = text.strip().partition("%")
    throttle = None
    if sep:
        if not throttle_text.isdigit() or int(throttle_text) < 1:
            raise _bad_array(text, "the throttle after % must be a whole number ≥ 1")
        throttle = int(throttle_text)
    indices: list[int] = []
    for part in body.split(","):
        match = _RANGE.match(part)
        if not match:
            raise _bad_array(text, f"{part!r} is not an index or START-END[:STEP] range")
        start = int(match[1])
        end = int(match[2]) if match[2] is not None else start
        step = int(match[3]) if match[3] is not None else 1
        if end < start or step < 1:
            raise _bad_array(text, f"{part!r} is an empty range")
        if end > MAX_ARRAY_INDEX:
            raise _bad_array(text, f"index {end} is above Slurm's limit {MAX_ARRAY_INDEX}")
        if len(indices) + (end - start) // step + 1 > MAX_LISTED_INDICES:
            raise _bad_array(text, f"more than {MAX_LISTED_INDICES} tasks")
        indices.extend(range(start, end + 1, step))
    unique = tuple(sorted(set(indices)))
    return ArraySpec(text.strip(), unique, throttle)


@dataclass(frozen=True)
class Dependency:
    """Start only after `job_ids` ended: `afterok` (all succeeded), `afterany` (whatever the
    outcome) or `afternotok` (all failed)."""

    kind: str
    job_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in DEPENDENCY_KINDS:
            raise BadInput(f"unknown dependency {self.kind!r}", hint=", ".join(DEPENDENCY_KINDS))
        object.__setattr__(self, "job_ids", tuple(check_job_ids(self.job_ids)))

    @property
    def text(self) -> str:
        return ":".join([self.kind, *self.job_ids])


@dataclass(frozen=True)
class RunOptions:
    """Array, dependencies (all must hold) and hold of one submission."""

    array: ArraySpec | None = None
    dependencies: tuple[Dependency, ...] = field(default_factory=tuple)
    hold: bool = False

    @property
    def depends_on(self) -> list[str]:
        """Every job id this one waits for, once, in order."""
        return list(dict.fromkeys(i for d in self.dependencies for i in d.job_ids))

    def sbatch_options(self) -> list[str]:
        """The long sbatch options (they override #SBATCH lines of the same name)."""
        options = []
        if self.array is not None:
            options.append("--array=" + self.array.text)
        if self.dependencies:
            options.append("--dependency=" + ",".join(d.text for d in self.dependencies))
        if self.hold:
            options.append("--hold")
        return options

    def describe(self) -> dict[str, object]:
        """What the ledger and the answer keep: only what was asked for."""
        described: dict[str, object] = {}
        if self.array is not None:
            described["array"] = {
                "spec": self.array.text,
                "size": self.array.size,
                "throttle": self.array.throttle,
            }
        if self.dependencies:
            described["depends_on"] = [
                {"kind": d.kind, "job_ids": list(d.job_ids)} for d in self.dependencies
            ]
        if self.hold:
            described["held"] = True
        return described


def run_options(
    *,
    array: str | None = None,
    after_ok: Sequence[str] = (),
    after_any: Sequence[str] = (),
    after_not_ok: Sequence[str] = (),
    hold: bool = False,
) -> RunOptions:
    """RunOptions from the submit flags; BadInput for a bad array spec or job id."""
    dependencies = tuple(
        Dependency(kind, tuple(ids))
        for kind, ids in zip(DEPENDENCY_KINDS, (after_ok, after_any, after_not_ok), strict=True)
        if ids
    )
    return RunOptions(parse_array(array) if array else None, dependencies, hold)


def expand_task_range(task: str, limit: int = MAX_LISTED_INDICES) -> list[str] | None:
    """The indices of a pending range as squeue/sacct print it (`[3-8%2]`, `[1,4-5]`);
    None when `task` is not a range or lists more than `limit` tasks."""
    if not (task.startswith("[") and task.endswith("]")):
        return None
    try:
        spec = parse_array(task[1:-1])
    except BadInput:
        return None
    return [str(i) for i in spec.indices] if spec.size <= limit else None
