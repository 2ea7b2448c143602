"""Where job states come from: one status call per group of jobs (a protocol), and the
Slurm implementation (squeue + sacct on one host, one remote exec)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hpcskills.jobs import slurm_status
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Observation
from hpcskills.slurm.client import Runner, SlurmClient


@dataclass
class SourceAnswer:
    """What one status call of one group found."""

    observations: list[Observation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class Source(Protocol):
    """Where the states of one group of jobs come from."""

    def poll(self, members: Sequence[Submission]) -> SourceAnswer: ...


class SlurmSource:
    """squeue (+ sacct) on one host for all its jobs."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    def poll(self, members: Sequence[Submission]) -> SourceAnswer:
        by_job: dict[str, list[Submission]] = defaultdict(list)
        for member in members:
            by_job[str(member.job_id)].append(member)
        status = slurm_status.query_host(SlurmClient(self.run), list(by_job))
        answer = SourceAnswer(notes=status.notes, commands=status.commands)
        for job_id, found in status.jobs.items():
            for member in by_job[job_id]:
                answer.observations.append(
                    Observation(member.id, found.state, found.raw_state, found.source, found.detail)
                )
        answer.missing = status.missing
        return answer
