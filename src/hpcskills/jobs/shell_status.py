"""States of Shell-batch jobs (background processes on a host) in one command per host.

A Shell job is `sh -c 'bash JOB.sub; echo $? > JOB.exit'` started with nohup; its job id
is that process's pid. Finished: the exit file holds the status. Running: the pid is alive.
Neither: the process vanished (killed, host rebooted) and the job counts as FAILED.
"""

from __future__ import annotations

from collections.abc import Sequence

from hpcskills.core.errors import RemoteError
from hpcskills.jobs.source import Runner, SourceAnswer
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Observation
from hpcskills.slurm import states as st

# args: pid dir job, repeated → one "pid state code" line each
STATUS_SCRIPT = r"""
while [ "$#" -ge 3 ]; do
  pid=$1 dir=$2 job=$3; shift 3
  if [ -f "$dir/$job.exit" ]; then echo "$pid EXIT $(cat "$dir/$job.exit")"
  elif kill -0 "$pid" 2>/dev/null; then echo "$pid RUNNING -"
  else echo "$pid VANISHED -"; fi
done
"""


def parse_status(text: str) -> dict[str, tuple[str, str, int | None]]:
    """pid → (state, raw state, exit code) from STATUS_SCRIPT's output (pure)."""
    found: dict[str, tuple[str, str, int | None]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) != 3 or not words[0].isdigit():
            continue
        pid, raw, code = words
        if raw == "EXIT":
            exit_code = int(code) if code.lstrip("-").isdigit() else None
            state = st.COMPLETED if exit_code == 0 else st.FAILED
            found[pid] = (state, f"exit {code}", exit_code)
        elif raw == "RUNNING":
            found[pid] = (st.RUNNING, raw, None)
        else:
            found[pid] = (st.FAILED, raw, None)
    return found


class ShellSource:
    """Shell jobs on one host."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    def poll(self, members: Sequence[Submission]) -> SourceAnswer:
        args: list[str] = []
        for member in members:
            args += [str(member.job_id), member.details["remote_dir"], member.details["job_hash"]]
        result = self.run(["sh", "-c", STATUS_SCRIPT, "sh", *args])
        if not result.ok:
            raise RemoteError(
                f"checking shell jobs failed: {result.stderr.strip()[-300:]}",
                type="remote_command_failed",
                retryable=result.returncode == 255,
            )
        found = parse_status(result.stdout)
        answer = SourceAnswer(commands=["shell-status"])
        for member in members:
            seen = found.get(str(member.job_id))
            if seen is None:
                answer.missing.append(str(member.job_id))
                continue
            state, raw, code = seen
            answer.observations.append(
                Observation(member.id, state, raw, "shell", {"exit_code": code})
            )
        return answer
