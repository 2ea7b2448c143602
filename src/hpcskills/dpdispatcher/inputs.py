"""DPDispatcher's JSON inputs — machine, resources, tasks — read and checked (pure).

Field names, aliases and defaults follow DPDispatcher's documentation (seed 003). Unknown
keys are refused with a suggestion (a typo must not silently change a job). Paths inside
tasks must stay inside the work base: they become remote paths.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput

BATCH_TYPES = {
    "slurm": "Slurm",
    "slurmjobarray": "SlurmJobArray",
    "shell": "Shell",
    "bohrium": "Bohrium",
    "lebesgue": "Bohrium",
    "dpcloudserver": "Bohrium",
}
UNSUPPORTED_BATCH = ("pbs", "torque", "lsf", "distributedshell")
CONTEXT_TYPES = {
    "sshcontext": "SSHContext",
    "ssh": "SSHContext",
    "bohriumcontext": "BohriumContext",
    "bohrium": "BohriumContext",
    "dpcloudservercontext": "BohriumContext",
    "dpcloudserver": "BohriumContext",
    "lebesguecontext": "BohriumContext",
    "lebesgue": "BohriumContext",
}
LOCAL_CONTEXTS = ("localcontext", "local", "lazylocalcontext", "lazylocal", "hdfscontext", "hdfs")

MAX_PORT = 65535
MACHINE_KEYS = (
    "batch_type",
    "context_type",
    "local_root",
    "remote_root",
    "remote_profile",
    "clean_asynchronously",
)
SSH_PROFILE_KEYS = (
    "hostname",
    "username",
    "password",
    "port",
    "key_filename",
    "passphrase",
    "timeout",
    "totp_secret",
    "tar_compress",
    "look_for_keys",
    "execute_command",
)
RESOURCES_KEYS = (
    "number_node",
    "cpu_per_node",
    "gpu_per_node",
    "queue_name",
    "group_size",
    "custom_flags",
    "strategy",
    "para_deg",
    "source_list",
    "module_purge",
    "module_unload_list",
    "module_list",
    "envs",
    "prepend_script",
    "append_script",
    "wait_time",
    "batch_type",
    "kwargs",
)
STRATEGY_KEYS = (
    "if_cuda_multi_devices",
    "ratio_unfinished",
    "customized_script_header_template_file",
)
TASK_KEYS = (
    "command",
    "task_work_path",
    "forward_files",
    "backward_files",
    "outlog",
    "errlog",
)
SUBMISSION_KEYS = (
    "work_base",
    "machine",
    "resources",
    "task_list",
    "forward_common_files",
    "backward_common_files",
)
_MODULE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/@:-]*$", re.ASCII)
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$", re.ASCII)
_PARTITION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", re.ASCII)
# never an ssh option (no leading -), never whitespace or control characters
_HOSTNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}", re.ASCII)
_USERNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}", re.ASCII)


def _bad(where: str, message: str, hint: str | None = None) -> BadInput:
    return BadInput(f"{where}: {message}", type="dpdispatcher_input", hint=hint, field=where)


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        guesses = [
            f"{k} → {m[0]}" for k in unknown if (m := difflib.get_close_matches(k, allowed, 1))
        ]
        raise _bad(
            where,
            f"unknown keys {', '.join(unknown)}",
            ("did you mean " + ", ".join(guesses) + "? " if guesses else "")
            + "allowed: "
            + ", ".join(allowed),
        )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(where, "must be a JSON object")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(where, "must be a list of strings")
    for item in value:
        if "\n" in item or "\x00" in item:
            raise _bad(where, f"{item[:40]!r} holds a line break")
    return tuple(value)


def _int(value: Any, where: str, low: int) -> int:
    if type(value) is not int or value < low:
        raise _bad(where, f"must be an integer ≥ {low}, not {value!r}")
    return value


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(where, f"must be true or false, not {value!r}")
    return value


def relative_path(value: Any, where: str) -> str:
    """A path that stays inside its base (no absolute path, no `..` escape), normalized."""
    if not isinstance(value, str) or not value.strip() or "\x00" in value or "\n" in value:
        raise _bad(where, f"{value!r} is not a path")
    clean = posixpath.normpath(value.strip())
    if clean.startswith("/") or clean == ".." or clean.startswith("../"):
        raise _bad(where, f"{value!r} leaves the work base", "use a path relative to it")
    return clean


@dataclass(frozen=True)
class SshProfile:
    """Where an SSHContext machine logs in. Keys and passwords come from the workspace."""

    hostname: str
    username: str
    port: int = 22
    totp: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Machine:
    """machine.json: batch system, context, roots and the remote profile."""

    batch_type: str
    context_type: str
    local_root: str
    remote_root: str | None
    ssh: SshProfile | None
    bohrium_profile: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resources:
    """resources.json, with DPDispatcher's defaults."""

    group_size: int
    number_node: int = 1
    cpu_per_node: int = 1
    gpu_per_node: int = 0
    queue_name: str = ""
    custom_flags: tuple[str, ...] = ()
    if_cuda_multi_devices: bool = False
    para_deg: int = 1
    source_list: tuple[str, ...] = ()
    module_purge: bool = False
    module_unload_list: tuple[str, ...] = ()
    module_list: tuple[str, ...] = ()
    envs: tuple[tuple[str, str], ...] = ()
    prepend_script: tuple[str, ...] = ()
    append_script: tuple[str, ...] = ()
    custom_gpu_line: str | None = None
    slurm_job_size: int = 1


@dataclass(frozen=True)
class Task:
    """One task.json entry: a command run in its directory, with its files."""

    command: str
    task_work_path: str
    forward_files: tuple[str, ...] = ()
    backward_files: tuple[str, ...] = ()
    outlog: str | None = "log"
    errlog: str | None = "err"

    @property
    def hash(self) -> str:
        """The task's identity (DPDispatcher's Task.get_hash idea): its whole definition."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - a name, not security


@dataclass(frozen=True)
class SubmissionSpec:
    """Everything one DPDispatcher submission defines."""

    machine: Machine
    resources: Resources
    tasks: tuple[Task, ...]
    work_base: str
    forward_common_files: tuple[str, ...] = ()
    backward_common_files: tuple[str, ...] = ()

    @property
    def hash(self) -> str:
        """The submission's identity: re-running the same definition resumes it."""
        data = {
            "machine": {
                "batch_type": self.machine.batch_type,
                "context_type": self.machine.context_type,
                "remote_root": self.machine.remote_root,
                "ssh": asdict(self.machine.ssh) if self.machine.ssh else None,
                "bohrium": self.machine.bohrium_profile,
            },
            "resources": asdict(self.resources),
            "tasks": [t.hash for t in self.tasks],
            "work_base": self.work_base,
            "forward_common_files": self.forward_common_files,
            "backward_common_files": self.backward_common_files,
        }
        return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()  # noqa: S324


def _batch_type(value: Any, where: str) -> str:
    name = str(value or "").strip().lower()
    if name in UNSUPPORTED_BATCH:
        raise _bad(where, f"{value} is not supported here", "use Slurm, SlurmJobArray or Shell")
    if name not in BATCH_TYPES:
        raise _bad(where, f"unknown batch type {value!r}", "one of: Slurm, SlurmJobArray, Shell")
    return BATCH_TYPES[name]


def _ssh_profile(data: Any) -> SshProfile:
    profile = _object(data, "machine.remote_profile")
    _check_keys(profile, SSH_PROFILE_KEYS, "machine.remote_profile")
    for key, pattern in (("hostname", _HOSTNAME), ("username", _USERNAME)):
        value = profile.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _bad(f"machine.remote_profile.{key}", "is required")
        if not pattern.fullmatch(value):
            raise _bad(
                f"machine.remote_profile.{key}",
                f"{value[:40]!r} is not a {key}",
                "letters, digits, '.', '_' and '-' (not first); no spaces or control characters",
            )
    timeout = profile.get("timeout")
    if timeout is not None and not _positive_number(timeout):
        raise _bad("machine.remote_profile.timeout", f"must be a number of seconds > 0, "
                   f"not {timeout!r}")
    notes = []
    if profile.get("password"):
        notes.append(
            "remote_profile.password is not used (logins use the workspace's SSH "
            "certificate); better remove it from the file"
        )
    if profile.get("key_filename") or profile.get("passphrase"):
        notes.append(
            "key_filename/passphrase are ignored: the workspace's key and certificate are used"
        )
    if profile.get("execute_command"):
        raise _bad("machine.remote_profile.execute_command", "is not supported")
    port = _int(profile.get("port", 22), "machine.remote_profile.port", 1)
    if port > MAX_PORT:
        raise _bad("machine.remote_profile.port", f"must be at most {MAX_PORT}, not {port}")
    return SshProfile(
        profile["hostname"].strip(),
        profile["username"].strip(),
        port,
        bool(profile.get("totp_secret")),
        tuple(notes),
    )


def parse_machine(data: Any, base_dir: Path) -> Machine:
    """machine.json → Machine (BadInput naming the field on any problem). A relative
    `local_root` is taken from `base_dir`, the directory of the file that named it."""
    machine = _object(data, "machine")
    _check_keys(machine, MACHINE_KEYS, "machine")
    batch = _batch_type(machine.get("batch_type"), "machine.batch_type")
    context_name = str(machine.get("context_type") or "").strip().lower()
    if context_name in LOCAL_CONTEXTS:
        raise _bad(
            "machine.context_type",
            f"{machine.get('context_type')} runs jobs on this machine",
            "this pack submits to remote sites: use SSHContext (or BohriumContext)",
        )
    if context_name not in CONTEXT_TYPES:
        raise _bad(
            "machine.context_type",
            f"unknown context {machine.get('context_type')!r}",
            "SSHContext or BohriumContext",
        )
    context = CONTEXT_TYPES[context_name]
    if (context == "BohriumContext") != (batch == "Bohrium"):
        raise _bad("machine", "BohriumContext goes with batch_type Bohrium, and only with it")
    root = machine.get("local_root") or "./"
    if not isinstance(root, str):
        raise _bad("machine.local_root", "must be a path")
    local_root = os.path.normpath(base_dir / Path(root).expanduser())
    if context == "SSHContext":
        remote_root = machine.get("remote_root")
        if not isinstance(remote_root, str) or not remote_root.strip():
            raise _bad("machine.remote_root", "is required for SSHContext")
        return Machine(
            batch,
            context,
            local_root,
            remote_root.strip(),
            _ssh_profile(machine.get("remote_profile")),
        )
    profile = _object(machine.get("remote_profile") or {}, "machine.remote_profile")
    kept = {k: v for k, v in profile.items() if k not in ("email", "password")}
    notes = ()
    if len(kept) < len(profile):
        notes = (
            "remote_profile email/password are not used (the Bohrium access key is, see "
            "the bohrium-job skill); better remove the password from the file",
        )
    return Machine(batch, context, local_root, None, None, kept, notes)


def parse_resources(data: Any, batch_type: str) -> Resources:
    """resources.json → Resources, checked against the machine's batch type."""
    res = _object(data, "resources")
    _check_keys(res, RESOURCES_KEYS, "resources")
    if "batch_type" in res and _batch_type(res["batch_type"], "resources.batch_type") != batch_type:
        raise _bad("resources.batch_type", f"differs from the machine's {batch_type}")
    if "group_size" not in res:
        raise _bad("resources.group_size", "is required (0 = all tasks in one job)")
    strategy = _object(res.get("strategy") or {}, "resources.strategy")
    _check_keys(strategy, STRATEGY_KEYS, "resources.strategy")
    if strategy.get("customized_script_header_template_file"):
        raise _bad(
            "resources.strategy.customized_script_header_template_file",
            "is not supported",
            "put the header lines into custom_flags",
        )
    kwargs = _object(res.get("kwargs") or {}, "resources.kwargs")
    _check_keys(kwargs, ("custom_gpu_line", "slurm_job_size"), "resources.kwargs")
    envs = _object(res.get("envs") or {}, "resources.envs")
    for key, value in envs.items():
        if (
            not _ENV_KEY.match(key)
            or not isinstance(value, str | int | float)
            or "\n" in str(value)
        ):
            raise _bad(f"resources.envs.{key}", "needs a variable name and a one-line value")
    queue = res.get("queue_name") or ""
    if queue and (not isinstance(queue, str) or not _PARTITION.match(queue)):
        raise _bad("resources.queue_name", f"{queue!r} is not a queue name")
    modules = {
        k: _strings(res.get(k), f"resources.{k}") for k in ("module_unload_list", "module_list")
    }
    for key, names in modules.items():
        bad = [m for m in names if not _MODULE.match(m)]
        if bad:
            raise _bad(f"resources.{key}", f"{bad[0]!r} is not a module name")
    gpu_line = kwargs.get("custom_gpu_line")
    if gpu_line is not None and (not isinstance(gpu_line, str) or "\n" in gpu_line):
        raise _bad("resources.kwargs.custom_gpu_line", "must be one line")
    resources = Resources(
        group_size=_int(res["group_size"], "resources.group_size", 0),
        number_node=_int(res.get("number_node", 1), "resources.number_node", 1),
        cpu_per_node=_int(res.get("cpu_per_node", 1), "resources.cpu_per_node", 1),
        gpu_per_node=_int(res.get("gpu_per_node", 0), "resources.gpu_per_node", 0),
        queue_name=queue,
        custom_flags=_strings(res.get("custom_flags"), "resources.custom_flags"),
        if_cuda_multi_devices=_bool(
            strategy.get("if_cuda_multi_devices", False), "resources.strategy.if_cuda_multi_devices"
        ),
        para_deg=_int(res.get("para_deg", 1), "resources.para_deg", 1),
        source_list=_strings(res.get("source_list"), "resources.source_list"),
        module_purge=_bool(res.get("module_purge", False), "resources.module_purge"),
        module_unload_list=modules["module_unload_list"],
        module_list=modules["module_list"],
        envs=tuple((k, str(v)) for k, v in envs.items()),
        prepend_script=_strings(res.get("prepend_script"), "resources.prepend_script"),
        append_script=_strings(res.get("append_script"), "resources.append_script"),
        custom_gpu_line=gpu_line,
        slurm_job_size=_int(kwargs.get("slurm_job_size", 1), "resources.kwargs.slurm_job_size", 1),
    )
    if resources.if_cuda_multi_devices and resources.gpu_per_node == 0:
        raise _bad("resources.strategy.if_cuda_multi_devices", "needs gpu_per_node ≥ 1")
    return resources


def parse_task(data: Any, where: str = "task") -> Task:
    """One task object → Task."""
    task = _object(data, where)
    _check_keys(task, TASK_KEYS, where)
    command = task.get("command")
    if not isinstance(command, str) or not command.strip() or "\x00" in command:
        raise _bad(f"{where}.command", "is required")
    if "task_work_path" not in task:
        raise _bad(f"{where}.task_work_path", "is required")
    logs = {}
    for name in ("outlog", "errlog"):
        value = task.get(name, "log" if name == "outlog" else "err")
        logs[name] = None if value is None else relative_path(value, f"{where}.{name}")
    return Task(
        command=command,
        task_work_path=relative_path(task["task_work_path"], f"{where}.task_work_path"),
        forward_files=tuple(
            relative_path(f, f"{where}.forward_files")
            for f in _strings(task.get("forward_files"), f"{where}.forward_files")
        ),
        backward_files=tuple(
            relative_path(f, f"{where}.backward_files")
            for f in _strings(task.get("backward_files"), f"{where}.backward_files")
        ),
        outlog=logs["outlog"],
        errlog=logs["errlog"],
    )


def parse_tasks(data: Any, where: str) -> list[Task]:
    """A task object or a list of them."""
    items = data if isinstance(data, list) else [data]
    return [parse_task(item, f"{where}[{n}]") for n, item in enumerate(items)]


def build_submission(
    machine: Any,
    resources: Any,
    tasks: list[Task],
    *,
    base_dir: Path,
    work_base: str = "./",
    forward_common_files: Any = None,
    backward_common_files: Any = None,
) -> SubmissionSpec:
    """Machine + resources + tasks → a checked SubmissionSpec."""
    parsed_machine = parse_machine(machine, base_dir)
    if not tasks:
        raise _bad("task_list", "no task given")
    hashes = [t.hash for t in tasks]
    if len(set(hashes)) != len(hashes):
        raise _bad("task_list", "two tasks are identical", "give each task its own work path")
    return SubmissionSpec(
        parsed_machine,
        parse_resources(resources, parsed_machine.batch_type),
        tuple(tasks),
        work_base,
        tuple(
            relative_path(f, "forward_common_files")
            for f in _strings(forward_common_files, "forward_common_files")
        ),
        tuple(
            relative_path(f, "backward_common_files")
            for f in _strings(backward_common_files, "backward_common_files")
        ),
    )


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content (BadInput when missing or malformed)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{what} file {path} is not valid JSON: {exc}") from None


def load_submission(
    *,
    submission: Path | None = None,
    machine: Path | None = None,
    resources: Path | None = None,
    tasks: tuple[Path, ...] = (),
    work_base: str | None = None,
    forward_common: tuple[str, ...] = (),
    backward_common: tuple[str, ...] = (),
) -> SubmissionSpec:
    """One submission JSON, or machine + resources + task files (a task file may hold a list)
    with the common files given separately. A relative local_root is taken from the JSON
    file's directory (DPDispatcher takes it from the current directory, which an agent's
    shell does not pin down)."""
    if submission is not None:
        if machine or resources or tasks or forward_common or backward_common:
            raise BadInput(
                "give --submission alone, or --machine/--resources/--task (and common files)"
            )
        data = _object(read_json(submission, "submission"), "submission")
        _check_keys(data, SUBMISSION_KEYS, "submission")
        task_list = parse_tasks(data.get("task_list") or [], "task_list")
        return build_submission(
            data.get("machine"),
            data.get("resources"),
            task_list,
            base_dir=submission.resolve().parent,
            work_base=work_base or data.get("work_base") or "./",
            forward_common_files=data.get("forward_common_files"),
            backward_common_files=data.get("backward_common_files"),
        )
    if not (machine and resources and tasks):
        raise BadInput("give --machine, --resources and at least one --task (or --submission)")
    task_list = [task for path in tasks for task in parse_tasks(read_json(path, "task"), path.name)]
    return build_submission(
        read_json(machine, "machine"),
        read_json(resources, "resources"),
        task_list,
        base_dir=machine.resolve().parent,
        work_base=work_base or "./",
        forward_common_files=list(forward_common),
        backward_common_files=list(backward_common),
    )
