"""The job specification and the batch script rendered from it.

sbatch reads `#SBATCH` lines itself, not through a shell: it splits arguments on
whitespace, groups with '...' or "...", takes a backslash as "next character literally"
(inside quotes too) and treats an unquoted `#` as the start of a comment. Values that are
not plain words are therefore written as `--flag="..."` with `\\` and `"` escaped, and
control characters (a newline would end the directive) are refused. `hetjob`/`packjob`
anywhere on a directive line split the job into heterogeneous components in older Slurm
releases, so values holding them are refused too. The shell part of the script uses
`shlex.quote`; the command is placed verbatim at the end.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.slurm.units import format_duration, parse_duration

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", re.ASCII)
_MEM = re.compile(r"^\d+[KMGT]?$", re.ASCII | re.IGNORECASE)
_MODULE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/@:-]*$", re.ASCII)
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$", re.ASCII)
_FLAG = re.compile(r"^--([a-z][a-z0-9-]*)(?:=(.*))?$", re.ASCII | re.DOTALL)
_PLAIN = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HETJOB = re.compile(r"hetjob|packjob", re.IGNORECASE)
_DIRECTIVE_LINE = re.compile(r"^#(?:SBATCH|SLURM|PBS|BSUB)", re.MULTILINE)

# sbatch options the spec sets itself; extra_flags may not repeat them.
MANAGED_FLAGS = frozenset(
    {
        "account",
        "chdir",
        "comment",
        "cpus-per-task",
        "error",
        "gpus",
        "gres",
        "job-name",
        "mem",
        "nodes",
        "ntasks-per-node",
        "output",
        "partition",
        "qos",
        "time",
        "wrap",
    }
)


_STR_FIELDS = (
    "partition",
    "command",
    "mem",
    "time",
    "name",
    "output",
    "error",
    "workdir",
    "account",
    "qos",
    "comment",
)
_INT_FIELDS = (("nodes", 1), ("ntasks_per_node", 1), ("cpus_per_task", 1), ("gpus", 0))
_LIST_FIELDS = ("modules", "extra_flags")
# Names people use for the spec's keys (Slurm options, DPDispatcher resources).
_KEY_HINTS = {
    "cpus": "cpus_per_task",
    "cpu_per_node": "ntasks_per_node",
    "gpu_per_node": "gpus",
    "job_name": "name",
    "memory": "mem",
    "number_node": "nodes",
    "queue": "partition",
    "queue_name": "partition",
    "walltime": "time",
}


def _bad(name: str, message: str, hint: str | None = None) -> BadInput:
    return BadInput(f"{name}: {message}", hint=hint, field=name)


@dataclass(frozen=True)
class JobSpec:
    """What to run and with which resources; checked on construction.

    `gpus` and `mem` are per node; `time` is any Slurm duration and is stored as
    `[D-]HH:MM:SS`; `workdir` must be absolute; `modules` are loaded in order; `env` is
    exported; `extra_flags` are further long sbatch options (`--exclusive`,
    `--constraint=x`) that the fields above do not cover.
    """

    partition: str
    command: str
    nodes: int = 1
    ntasks_per_node: int | None = None
    cpus_per_task: int | None = None
    gpus: int = 0
    mem: str | None = None
    time: str | None = None
    name: str | None = None
    output: str | None = None
    error: str | None = None
    workdir: str | None = None
    account: str | None = None
    qos: str | None = None
    comment: str | None = None
    modules: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    extra_flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_types(self)
        object.__setattr__(self, "modules", tuple(self.modules))
        object.__setattr__(self, "extra_flags", tuple(self.extra_flags))
        object.__setattr__(self, "env", dict(self.env))
        if self.time is not None:
            object.__setattr__(self, "time", _normalized_time(self.time))
        _check_values(self)


def is_env_name(key: str) -> bool:
    """Whether `key` can be exported as a shell variable (pure)."""
    return bool(_ENV_KEY.match(key))


def _check_types(spec: JobSpec) -> None:
    for name in _STR_FIELDS:
        value = getattr(spec, name)
        if value is None and name in ("partition", "command"):
            raise _bad(name, "is required")
        if value is not None and not isinstance(value, str):
            raise _bad(name, f"must be a string, not {value!r}")
    for name, low in _INT_FIELDS:
        value = getattr(spec, name)
        if value is not None and (type(value) is not int or value < low):
            raise _bad(name, f"must be an integer ≥ {low}, not {value!r}")
    for name in _LIST_FIELDS:
        value = getattr(spec, name)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _bad(name, "must be a list of strings")
    if not isinstance(spec.env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in spec.env.items()
    ):
        raise _bad("env", "must map names to strings")


def _normalized_time(text: str) -> str:
    seconds = parse_duration(text)
    if not seconds:
        raise _bad(
            "time", f"{text!r} is not a time limit", hint="use D-HH:MM:SS, HH:MM:SS or minutes"
        )
    return format_duration(seconds)


def _check_values(spec: JobSpec) -> None:
    for name in ("partition", "account", "qos"):
        value = getattr(spec, name)
        if value is not None and not _NAME.match(value):
            raise _bad(name, f"{value!r} is not a valid Slurm name")
    if not spec.command.strip() or "\x00" in spec.command:
        raise _bad("command", "is empty or holds a NUL character")
    if _DIRECTIVE_LINE.search(spec.command):
        raise _bad(
            "command",
            "has a line starting with #SBATCH/#SLURM/#PBS/#BSUB, which sbatch would read",
            hint="put Slurm options into the spec fields or extra_flags",
        )
    if spec.mem is not None and not _MEM.match(spec.mem):
        raise _bad("mem", f"{spec.mem!r} is not a size", hint="e.g. 4G, 4000M (per node)")
    for name in ("name", "output", "error", "workdir", "comment"):
        value = getattr(spec, name)
        if value is not None:
            _directive_value(name, value)
    if spec.workdir is not None and not spec.workdir.startswith("/"):
        raise _bad("workdir", f"{spec.workdir!r} is not an absolute path")
    for module in spec.modules:
        if not _MODULE.match(module):
            raise _bad("modules", f"{module!r} is not a module name")
    for key, value in spec.env.items():
        if not is_env_name(key) or "\x00" in value:
            raise _bad("env", f"{key!r} is not a variable name, or its value holds NUL")
    for flag in spec.extra_flags:
        _check_flag(flag)


def _directive_value(name: str, value: str) -> str:
    """`value` as one sbatch argument on an #SBATCH line; BadInput when it cannot be one."""
    if not value:
        raise _bad(name, "is empty")
    if _CONTROL.search(value):
        raise _bad(name, "holds a newline or another control character")
    if _HETJOB.search(value):
        raise _bad(
            name,
            "holds 'hetjob' or 'packjob', which splits a batch script's job in Slurm",
            hint="choose another text",
        )
    if _PLAIN.match(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_flag(flag: str) -> tuple[str, str | None]:
    match = _FLAG.match(flag)
    if not match:
        raise _bad(
            "extra_flags",
            f"{flag!r} is not a long sbatch option",
            hint="write --option or --option=value",
        )
    option, value = match[1], match[2]
    if option in MANAGED_FLAGS:
        raise _bad("extra_flags", f"--{option} is set by the spec's own field")
    if value is not None:
        _directive_value("extra_flags", value)
    return option, value


_RESOURCE_OPTIONS = frozenset(
    {
        "partition",
        "nodes",
        "ntasks-per-node",
        "cpus-per-task",
        "gres",
        "mem",
        "time",
        "account",
        "qos",
    }
)


def _directives(spec: JobSpec) -> list[tuple[str, str]]:
    """(sbatch long option, value as written) of every field the spec sets, in order."""
    pairs: list[tuple[str, Any]] = [
        ("job-name", spec.name),
        ("partition", spec.partition),
        ("nodes", spec.nodes),
        ("ntasks-per-node", spec.ntasks_per_node),
        ("cpus-per-task", spec.cpus_per_task),
        ("gres", f"gpu:{spec.gpus}" if spec.gpus else None),
        ("mem", spec.mem),
        ("time", spec.time),
        ("output", spec.output),
        ("error", spec.error),
        ("chdir", spec.workdir),
        ("account", spec.account),
        ("qos", spec.qos),
        ("comment", spec.comment),
    ]
    return [(option, str(value)) for option, value in pairs if value is not None]


def resource_options(spec: JobSpec) -> list[str]:
    """The spec's resource request as sbatch command-line options (partition, nodes, tasks,
    CPUs, GPUs, memory, time, account, QOS and its extra flags): what `sbatch --test-only`
    needs to estimate a start, without names, paths or the command."""
    options = [f"--{o}={v}" for o, v in _directives(spec) if o in _RESOURCE_OPTIONS]
    return options + list(spec.extra_flags)


def render_sbatch(spec: JobSpec) -> str:
    """The batch script: `#SBATCH` lines, module loads, exports, `cd`, then the command."""
    lines = ["#!/bin/bash"]
    for option, value in _directives(spec):
        lines.append(f"#SBATCH --{option}={_directive_value(option, value)}")
    for flag in spec.extra_flags:
        option, value = _check_flag(flag)
        rendered = "" if value is None else "=" + _directive_value("extra_flags", value)
        lines.append(f"#SBATCH --{option}{rendered}")
    lines.append("")
    lines.extend(f"module load {shlex.quote(module)}" for module in spec.modules)
    lines.extend(f"export {key}={shlex.quote(value)}" for key, value in spec.env.items())
    if spec.workdir is not None:
        lines.append(f"cd {shlex.quote(spec.workdir)} || exit 1")
    lines.append(spec.command.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _env_text(value: Any) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return str(value) if is_number else value


def spec_from_mapping(data: Mapping[str, Any]) -> JobSpec:
    """A JobSpec from JSON-like data; BadInput naming unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise BadInput("the job spec must be an object")
    allowed = [f.name for f in fields(JobSpec)]
    unknown = [key for key in data if key not in allowed]
    if unknown:
        close = {
            k: [_KEY_HINTS[k]]
            if k in _KEY_HINTS
            else difflib.get_close_matches(str(k), allowed, n=1)
            for k in unknown
        }
        guesses = [f"{k} → {m[0]}" for k, m in close.items() if m]
        raise BadInput(
            f"unknown job spec keys: {', '.join(map(str, unknown))}",
            hint=("did you mean " + ", ".join(guesses) + "? " if guesses else "")
            + "allowed keys: "
            + ", ".join(allowed),
            allowed=allowed,
        )
    values = {key: value for key, value in data.items() if value is not None}
    env = values.get("env")
    if isinstance(env, Mapping):  # numbers are fine as values: JSON has no other way
        values["env"] = {k: _env_text(v) for k, v in env.items()}
    for key in ("partition", "command"):
        if key not in values:
            raise _bad(key, "is required")
    return JobSpec(**values)
