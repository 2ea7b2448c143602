"""Files of a DPDispatcher submission over one SSH connection: forward files and job scripts
up (one tar stream each), task states in one command (backward files come down through
`jobs.group_outputs`, which watch_jobs.py shares)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.dpdispatcher.inputs import SubmissionSpec, Task
from hpcskills.ssh.base import Remote
from hpcskills.ssh.transfer import upload_tree

# $1 root, then task dirs: create them all; print the root's absolute path
MAKE_DIRS_SCRIPT = 'mkdir -p -- "$1" && cd -- "$1" && shift && mkdir -p -- . "$@" && pwd -P'
# $1 root, then (dir, hash) pairs → "hash finished|failed|none CODE" lines
TASK_STATE_SCRIPT = r"""
cd -- "$1" || exit 3; shift
while [ "$#" -ge 2 ]; do
  dir=$1 hash=$2; shift 2
  if [ -f "$dir/${hash}_task_tag_finished" ]; then echo "$hash finished -"
  elif [ -f "$dir/${hash}_task_exit_code" ]; then
    echo "$hash failed $(cat "$dir/${hash}_task_exit_code")"
  else echo "$hash none -"; fi
done
"""


def remote_root_path(remote_root: str, submission_hash: str) -> str:
    """`remote_root/<hash>` (a leading `~/` means the home directory)."""
    root = remote_root[2:] if remote_root.startswith("~/") else remote_root
    return f"{root.rstrip('/') or '.'}/{submission_hash}"


def local_base(spec: SubmissionSpec) -> Path:
    """`local_root/work_base` on this machine."""
    return (Path(spec.machine.local_root) / spec.work_base).resolve()


def forward_names(spec: SubmissionSpec, base: Path) -> list[str]:
    """Every forward file (globs expanded) relative to the base; BadInput if one is absent."""
    names, missing = [], []
    wanted = list(spec.forward_common_files)
    wanted += [f"{t.task_work_path}/{f}" for t in spec.tasks for f in t.forward_files]
    for pattern in wanted:
        matches = sorted(p for p in base.glob(pattern) if p.is_file())
        if not matches:
            missing.append(pattern)
        names += [str(p.relative_to(base)) for p in matches]
    if missing:
        raise BadInput(
            f"forward files not found under {base}: {', '.join(missing[:10])}",
            type="forward_file_missing",
            hint="check local_root, work_base and each task's task_work_path",
        )
    return list(dict.fromkeys(names))


def make_remote_dirs(remote: Remote, path: str, task_dirs: Sequence[str]) -> str:
    """Create the submission's remote directory and its task directories; its absolute
    path."""
    result = remote.run(["sh", "-c", MAKE_DIRS_SCRIPT, "sh", path, *task_dirs])
    return result.check(f"creating {path}").stdout.strip().splitlines()[-1]


def upload_inputs(
    remote: Remote, remote_dir: str, base: Path, names: Sequence[str], scripts: dict[str, str]
) -> int:
    """Forward files and job scripts, one tar stream each; the bytes of files sent."""
    if names:
        upload_tree(remote, base, remote_dir, list(names))
    with tempfile.TemporaryDirectory(prefix="dpdispatcher-") as tmp:
        for name, text in scripts.items():
            (Path(tmp) / name).write_text(text)
        upload_tree(remote, Path(tmp), remote_dir, sorted(scripts))
    return sum((base / n).stat().st_size for n in names) + sum(
        len(t.encode()) for t in scripts.values()
    )


def task_states(remote: Remote, remote_dir: str, tasks: Sequence[Task]) -> dict[str, Any]:
    """task hash → ("finished" | "failed" | "none", exit code), in one command."""
    args = [word for task in tasks for word in (task.task_work_path, task.hash)]
    result = remote.run(["sh", "-c", TASK_STATE_SCRIPT, "sh", remote_dir, *args])
    if not result.ok:
        raise RemoteError(
            f"reading task states failed: {result.stderr.strip()[-300:]}",
            type="remote_command_failed",
            retryable=result.returncode == 255,
        )
    states: dict[str, Any] = {}
    for line in result.stdout.splitlines():
        words = line.split()
        if len(words) == 3:
            code = int(words[2]) if words[2].lstrip("-").isdigit() else None
            states[words[0]] = (words[1], code)
    return states


def backward_patterns(task: Task) -> list[str]:
    """A task's backward files and logs relative to the submission's root."""
    names = [*task.backward_files, *(n for n in (task.outlog, task.errlog) if n)]
    return [f"{task.task_work_path}/{name}" for name in dict.fromkeys(names)]


def log_patterns(task: Task) -> list[str]:
    """A task's outlog and errlog relative to the submission's root."""
    return [f"{task.task_work_path}/{name}" for name in (task.outlog, task.errlog) if name]

