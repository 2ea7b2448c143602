"""Several Slurm commands in ONE remote exec: a small POSIX sh script built from quoted argv.

Each command's stdout and stderr are framed by marker lines carrying a random nonce (so no
job name can forge one) and its exit status, and `split_outputs` cuts the exec's output back
into one CommandResult per command. Every word of every argv is passed through shlex.quote;
the script adds no text of its own that comes from a user.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from hpcskills.core.errors import RemoteError
from hpcskills.slurm.commands import FIELD_SEP
from hpcskills.ssh.base import CommandResult

_FRAME = r"""m={marker}
begin() {{ printf '%s begin %s\n' "$m" "$1"; printf '%s begin %s\n' "$m" "$1" >&2; }}
end() {{ printf '\n%s end %s %s\n' "$m" "$1" "$2"; printf '\n%s end %s %s\n' "$m" "$1" "$2" >&2; }}
"""
# squeue's stdout is kept in $out to find the ids it no longer knows: an id is known when a
# line starts with `ID<FS>` (a job or task) or `ID_` (the tasks of array job ID).
_QUEUE_THEN_ACCOUNTING = r"""begin squeue
out=$({squeue})
rc=$?
printf '%s' "$out"
end squeue "$rc"
fs=$(printf '\{fs:03o}')
nl='
'
gone=
for id in {ids}; do
  case "$nl$out" in
    *"$nl$id$fs"* | *"$nl${{id}}_"*) ;;
    *) gone="$gone${{gone:+,}}$id" ;;
  esac
done
if [ -n "$gone" ]; then
  begin sacct
  {sacct} "--jobs=$gone"
  end sacct "$?"
fi
"""


@dataclass(frozen=True)
class Step:
    """One command of a batch; `name` labels its output (a plain word)."""

    name: str
    argv: tuple[str, ...]


def new_marker() -> str:
    """A marker no command output can contain by chance or by design."""
    return "hpcskills-" + secrets.token_hex(8)


def _quoted(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(word) for word in argv)


def sequence_script(marker: str, steps: Sequence[Step]) -> str:
    """sh that runs every step in turn, whatever the previous ones returned."""
    body = [_FRAME.format(marker=shlex.quote(marker))]
    for step in steps:
        name = shlex.quote(step.name)
        body.append(f'begin {name}\n{_quoted(step.argv)}\nend {name} "$?"\n')
    return "".join(body)


def queue_then_accounting_script(
    marker: str, squeue: Sequence[str], sacct: Sequence[str], job_ids: Sequence[str]
) -> str:
    """sh that runs `squeue` (for `job_ids`), then `sacct` + `--jobs=` the ids squeue did
    not print (skipped when it printed them all). Steps are named squeue and sacct."""
    return _FRAME.format(marker=shlex.quote(marker)) + _QUEUE_THEN_ACCOUNTING.format(
        squeue=_quoted(squeue),
        sacct=_quoted(sacct),
        ids=_quoted(job_ids),
        fs=ord(FIELD_SEP),
    )


def _sections(text: str, marker: str) -> dict[str, tuple[str, int | None]]:
    """name → (text between its markers, exit status or None when it never ended)."""
    found: dict[str, tuple[str, int | None]] = {}
    begin = f"{marker} begin "
    position = 0
    while (start := text.find(begin, position)) != -1:
        line_end = text.find("\n", start)
        if line_end == -1:
            break
        name = text[start + len(begin) : line_end]
        end_mark = f"\n{marker} end {name} "
        stop = text.find(end_mark, line_end + 1)
        if stop == -1:
            found[name] = (text[line_end + 1 :], None)
            break
        status_end = text.find("\n", stop + len(end_mark))
        status = text[stop + len(end_mark) : status_end if status_end != -1 else None]
        found[name] = (text[line_end + 1 : stop], int(status) if status.isdigit() else None)
        position = stop + len(end_mark)
    return found


def split_outputs(
    result: CommandResult, marker: str, steps: Sequence[Step], *, may_skip: Sequence[str] = ()
) -> dict[str, CommandResult]:
    """Each step's own result, by name; a step in `may_skip` the script skipped is absent.

    RemoteError (retryable) when a step began but its end marker never came, or another
    step never began: the exec was cut short (connection lost, killed, no shell), so the
    outputs cannot be trusted.
    """
    out = _sections(result.stdout, marker)
    err = _sections(result.stderr, marker)
    results: dict[str, CommandResult] = {}
    for step in steps:
        stdout, status = out.get(step.name, ("", None))
        stderr = err.get(step.name, ("", None))[0]
        if step.name not in out and step.name in may_skip:
            continue
        if status is None:
            where = f"during {step.name}" if step.name in out else f"before {step.name}"
            raise RemoteError(
                f"the batched Slurm query stopped {where} (exit {result.returncode}): "
                f"{(stderr or result.stderr).strip()[-300:]}",
                type="slurm_error",
                retryable=True,
            )
        results[step.name] = CommandResult(step.argv, status, stdout, stderr)
    return results
