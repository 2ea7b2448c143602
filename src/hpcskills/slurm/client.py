"""The Slurm client: one object per connection; each method builds its argv (`commands`),
runs it, classifies the failure and returns typed records (`parse`, `details`).

Failure rules, decided here for every caller:
- stderr saying the controller or the database was unreachable → RemoteError, retryable
  (also when the command exited 0: its output may be partial). A bare exit status is not a
  sign: the SSH layer already raises a retryable `connection_failed` when the connection
  (ssh's exit 255) failed, so the status that arrives here is the Slurm command's own.
- no accounting (sacct refuses: no slurmdbd) → not an error: an empty `Accounting` with a
  note; callers fall back to what squeue/scontrol know.
- an id that left the queue (squeue/scontrol "Invalid job id specified") → not an error:
  the job is simply not in the answer.
Reads that can be batched cost one remote exec (see `batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hpcskills.core.errors import NotFound, RemoteError
from hpcskills.slurm import batch, commands
from hpcskills.slurm.details import ScontrolJob, SeffReport, parse_scontrol_jobs, parse_seff
from hpcskills.slurm.parse import (
    AccountingRecord,
    PartitionInfo,
    QueueJob,
    StartEstimate,
    parse_sacct,
    parse_sbatch,
    parse_sinfo,
    parse_squeue,
    parse_test_only,
)
from hpcskills.ssh.base import DEFAULT_COMMAND_TIMEOUT, CommandResult, Remote
from hpcskills.ssh.connect import run_read

Runner = Callable[[list[str]], CommandResult]
MAX_IDS_PER_CALL = 2000  # keeps one remote command well under the kernel's argument limit
NO_ACCOUNTING = "this cluster keeps no job accounting (sacct)"
UNREACHABLE_HINT = "the Slurm controller or its database did not answer; try again shortly"
SBATCH_IN_DIR = 'cd -- "$1" && shift && exec "$@"'


@dataclass
class Accounting:
    """sacct's records; `note` says why there are none when the cluster keeps no
    accounting (then `available` is False)."""

    records: list[AccountingRecord] = field(default_factory=list)
    note: str | None = None

    @property
    def available(self) -> bool:
        return self.note is None


def _parts_of(job_id: str, parts: Sequence[QueueJob | AccountingRecord]) -> list:
    return [p for p in parts if job_id in (p.job_id, p.array_job_id)]


@dataclass
class JobStates:
    """squeue's lines for the ids it still knows and sacct's for the others."""

    queued: list[QueueJob] = field(default_factory=list)
    finished: list[AccountingRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # the Slurm commands that ran

    def queued_for(self, job_id: str) -> list[QueueJob]:
        """squeue's lines of a job: itself, or every task of array job `job_id`."""
        return _parts_of(job_id, self.queued)

    def finished_for(self, job_id: str) -> list[AccountingRecord]:
        """sacct's lines of a job (every task of an array job)."""
        return _parts_of(job_id, self.finished)


@dataclass
class JobDetails:
    """scontrol's records per asked id (empty once Slurm forgot the job) and sacct's."""

    live: dict[str, list[ScontrolJob]]
    accounting: Accounting


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    size = MAX_IDS_PER_CALL
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _failure(what: str, result: CommandResult) -> RemoteError:
    transient = commands.is_transient_error(result.stderr)
    reason = (result.stderr.strip() or result.stdout.strip())[-300:]
    return RemoteError(
        f"{what} failed (exit {result.returncode}): {reason}",
        type="slurm_error",
        retryable=transient,
        hint=UNREACHABLE_HINT if transient else None,
    )


def checked_stdout(what: str, result: CommandResult, *, ids_may_be_gone: bool = False) -> str:
    """The stdout of a read, or RemoteError; "" when the ids asked for left the queue."""
    if not result.ok and ids_may_be_gone and commands.is_invalid_job_id_error(result.stderr):
        return ""
    if not result.ok or commands.is_transient_error(result.stderr):
        raise _failure(what, result)
    return result.stdout


def accounting_of(result: CommandResult) -> Accounting:
    """sacct's records, or an empty Accounting with a note on a cluster without accounting."""
    if not result.ok and commands.is_no_accounting_error(result.stderr):
        return Accounting(note=NO_ACCOUNTING)
    return Accounting(parse_sacct(checked_stdout("sacct", result)))


class SlurmClient:
    """The Slurm commands of one login: reads through `read` (may retry a dropped
    connection), writes (sbatch, scancel) through `write` (never retried)."""

    def __init__(self, read: Runner, write: Runner | None = None) -> None:
        self.read = read
        self.write = write

    @classmethod
    def over(cls, remote: Remote, *, timeout: float = DEFAULT_COMMAND_TIMEOUT) -> SlurmClient:
        """A client on an open connection: reads retried on a dropped connection."""
        return cls(
            lambda argv: run_read(remote, argv, timeout=timeout),
            lambda argv: remote.run(argv, timeout=timeout),
        )

    def _batch(
        self, script: str, marker: str, steps: Sequence[batch.Step], may_skip: Sequence[str] = ()
    ) -> dict[str, CommandResult]:
        result = self.read(["sh", "-c", script])
        return batch.split_outputs(result, marker, steps, may_skip=may_skip)

    def partitions(self) -> list[PartitionInfo]:
        """sinfo: every partition of this cluster."""
        return parse_sinfo(checked_stdout("sinfo", self.read(commands.sinfo_argv())))

    def queue(
        self,
        *,
        user: str | None = None,
        job_ids: Sequence[str] | None = None,
        states: Sequence[str] | None = None,
        partitions: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
    ) -> list[QueueJob]:
        """squeue for the filters; jobs that left the queue are simply absent."""
        argv = commands.squeue_argv(user, job_ids, states, partitions, names)
        return parse_squeue(
            checked_stdout("squeue", self.read(argv), ids_may_be_gone=bool(job_ids))
        )

    def accounting(
        self,
        *,
        job_ids: Sequence[str] | None = None,
        user: str | None = None,
        since: str | datetime | None = None,
        states: Sequence[str] | None = None,
    ) -> Accounting:
        """sacct allocations for the filters (a note instead when there is no accounting)."""
        return accounting_of(self.read(commands.sacct_argv(job_ids, user, since, states)))

    def job_states(self, job_ids: Sequence[str]) -> JobStates:
        """squeue for all the ids, then sacct only for those squeue no longer knows: one
        remote exec (per MAX_IDS_PER_CALL ids)."""
        ids = commands.check_job_ids(list(dict.fromkeys(job_ids)))
        found = JobStates()
        sacct_prefix = commands.sacct_argv()
        for chunk in _chunks(ids):
            marker = batch.new_marker()
            squeue = commands.squeue_argv(job_ids=chunk)
            script = batch.queue_then_accounting_script(marker, squeue, sacct_prefix, chunk)
            steps = (batch.Step("squeue", tuple(squeue)), batch.Step("sacct", tuple(sacct_prefix)))
            outputs = self._batch(script, marker, steps, may_skip=["sacct"])
            found.commands.append("squeue")
            queued = checked_stdout("squeue", outputs["squeue"], ids_may_be_gone=True)
            found.queued += parse_squeue(queued)
            finished = outputs.get("sacct")
            if finished is not None:
                found.commands.append("sacct")
                accounting = accounting_of(finished)
                found.finished += accounting.records
                if accounting.note and accounting.note not in found.notes:
                    found.notes.append(accounting.note)
        return found

    def queue_and_history(
        self,
        *,
        user: str | None,
        since: str,
        states: Sequence[str] | None = None,
        partitions: Sequence[str] | None = None,
        names: Sequence[str] | None = None,
    ) -> tuple[list[QueueJob], Accounting]:
        """The queue for the filters and the user's allocations since `since`: one exec."""
        marker = batch.new_marker()
        steps = (
            batch.Step(
                "squeue", tuple(commands.squeue_argv(user, None, states, partitions, names))
            ),
            batch.Step("sacct", tuple(commands.sacct_argv(user=user, since=since))),
        )
        outputs = self._batch(batch.sequence_script(marker, steps), marker, steps)
        queued = parse_squeue(checked_stdout("squeue", outputs["squeue"]))
        return queued, accounting_of(outputs["sacct"])

    def details(self, job_ids: Sequence[str]) -> JobDetails:
        """sacct for the ids and `scontrol show job` for each (Slurm 22.05's scontrol takes
        one id per call): one remote exec."""
        ids = commands.check_job_ids(list(dict.fromkeys(job_ids)))
        marker = batch.new_marker()
        steps = [batch.Step("sacct", tuple(commands.sacct_argv(job_ids=ids)))]
        steps += [
            batch.Step(f"scontrol-{job_id}", tuple(commands.scontrol_show_job_argv(job_id)))
            for job_id in ids
        ]
        outputs = self._batch(batch.sequence_script(marker, steps), marker, steps)
        live: dict[str, list[ScontrolJob]] = {}
        for job_id, step in zip(ids, steps[1:], strict=True):
            text = checked_stdout("scontrol", outputs[step.name], ids_may_be_gone=True)
            live[job_id] = parse_scontrol_jobs(text)
        return JobDetails(live, accounting_of(outputs["sacct"]))

    def estimate_starts(self, requests: Mapping[str, Sequence[str]]) -> dict[str, StartEstimate]:
        """`sbatch --test-only` for each named resource request (sbatch long options): when
        each would start, or Slurm's refusal; all in one remote exec. Nothing is submitted.
        RemoteError when the controller did not answer."""
        steps = [
            batch.Step(f"test-{n}", tuple(commands.sbatch_test_only_argv(options)))
            for n, options in enumerate(requests.values())
        ]
        if not steps:
            return {}
        marker = batch.new_marker()
        outputs = self._batch(batch.sequence_script(marker, steps), marker, steps)
        estimates = {}
        for name, step in zip(requests, steps, strict=True):
            result = outputs[step.name]
            if commands.is_transient_error(result.stderr):
                raise _failure("sbatch --test-only", result)
            estimates[name] = parse_test_only(result.stderr + "\n" + result.stdout)
        return estimates

    def efficiency(self, job_id: str) -> SeffReport:
        """seff's report (without accounting: one whose `accounting_available` is False);
        NotFound when seff or the job is unknown."""
        result = self.read(commands.seff_argv(job_id))
        text = result.stdout + "\n" + result.stderr
        report = parse_seff(text)
        if commands.is_transient_error(text):
            raise _failure("seff", result)
        if result.ok or report.job_id is not None or commands.is_no_accounting_error(text):
            return report
        if "not found" in text.lower():
            raise NotFound(f"no efficiency report for job {job_id}: {text.strip()[-300:]}")
        raise _failure("seff", result)

    def _writer(self) -> Runner:
        if self.write is None:
            raise ValueError("this Slurm client was made for reads only")
        return self.write

    def submit(self, script_path: str, options: Sequence[str] = (), *, workdir: str) -> str:
        """sbatch the remote script from `workdir`; its job id. Never retried: on a lost
        answer the caller must look for the job before submitting again. RemoteError
        `submit_rejected` (with Slurm's reason) when sbatch refused it."""
        argv = commands.sbatch_argv(script_path, options)
        result = self._writer()(["sh", "-c", SBATCH_IN_DIR, "sh", workdir, *argv])
        if not result.ok:
            raise RemoteError(
                f"sbatch refused the job: {result.stderr.strip()[-500:]}",
                type="submit_rejected",
                script_path=script_path,
            )
        return parse_sbatch(result.stdout)

    def cancel(self, job_ids: Sequence[str]) -> None:
        """scancel the jobs (Slurm 22.05 exits 0 for unknown ids: verify afterwards)."""
        result = self._writer()(commands.scancel_argv(job_ids))
        if not result.ok:
            raise _failure("scancel", result)

    def release(self, job_ids: Sequence[str]) -> None:
        """`scontrol release` held jobs; they become eligible to start (never retried)."""
        result = self._writer()(commands.scontrol_release_argv(job_ids))
        if not result.ok:
            raise _failure("scontrol release", result)
