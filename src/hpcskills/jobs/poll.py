"""One poll of many jobs: grouped by host (and platform), ONE status call per group.

A group whose call fails is reported as failed; its jobs keep their last known states (a
failed poll never marks a job FAILED).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.bohrium_status import BohriumSource
from hpcskills.jobs.shell_status import ShellSource
from hpcskills.jobs.source import Runner, SlurmSource, Source
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Ledger
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote, run_read

Connect = Callable[[Endpoint], Remote]
POLL_COMMAND_TIMEOUT = 60.0


@dataclass
class GroupPoll:
    """The outcome of polling one host or platform."""

    host: str
    platform: str
    jobs: int
    ok: bool
    changed: list[int] = field(default_factory=list)
    error: dict[str, Any] | None = None
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "platform": self.platform,
            "jobs": self.jobs,
            "ok": self.ok,
            "state_changes": len(self.changed),
            "commands": self.commands,
            "error": self.error,
            "notes": self.notes,
            "not_found": self.missing,
        }


def group_key(record: Submission) -> str:
    """Jobs polled together: same platform and same login (user@host:port)."""
    return record.host_key


def endpoint_of(record: Submission) -> Endpoint:
    """The SSH endpoint a record's job was submitted through."""
    if not record.host or not record.remote_user:
        raise HpcError(f"ledger record {record.id} has no host", type="ledger_incomplete")
    port = int(record.port or 22)
    return Endpoint(record.host, port, record.remote_user, record.entry_node or "")


class Poller:
    """Polls groups of ledger jobs, keeping one connection (or client) per group."""

    def __init__(
        self,
        workspace: Workspace,
        ledger: Ledger,
        *,
        backend: str | None = None,
        report: Callable[[str], None] = lambda _line: None,
        connect: Connect | None = None,
        retry_reads: bool = True,
        sources: Callable[[Poller, Submission], Source] | None = None,
        own_connections: bool = True,
    ) -> None:
        self.workspace = workspace
        self.ledger = ledger
        self.report = report
        self.retry_reads = retry_reads
        self.connect: Connect = connect or (
            lambda endpoint: open_remote(workspace, endpoint, backend=backend, report=report)
        )
        self.make_source = sources or make_source
        self.own_connections = own_connections  # False: `connect` lends connections
        self._remotes: dict[str, Remote] = {}
        self._sources: dict[str, Source] = {}

    def remote(self, record: Submission) -> Remote:
        """The open connection of a record's group (opened on first use)."""
        key = group_key(record)
        if key not in self._remotes:
            self._remotes[key] = self.connect(endpoint_of(record))
        return self._remotes[key]

    def runner(self, record: Submission) -> Runner:
        remote = self.remote(record)
        if self.retry_reads:
            return lambda argv: run_read(remote, argv, timeout=POLL_COMMAND_TIMEOUT)
        return lambda argv: remote.run(argv, timeout=POLL_COMMAND_TIMEOUT)

    def source(self, record: Submission) -> Source:
        key = group_key(record)
        if key not in self._sources:
            self._sources[key] = self.make_source(self, record)
        return self._sources[key]

    def forget(self, record: Submission) -> None:
        """Drop a group's connection after a failure (reconnect on the next poll)."""
        key = group_key(record)
        self._sources.pop(key, None)
        remote = self._remotes.pop(key, None)
        if remote is not None and self.own_connections:
            with contextlib.suppress(HpcError):
                remote.close()

    def poll(self, records: Sequence[Submission]) -> list[GroupPoll]:
        """One status call per group; states stored in the ledger; failures reported."""
        groups: dict[str, list[Submission]] = defaultdict(list)
        for record in records:
            if record.job_id:
                groups[group_key(record)].append(record)
        results = []
        for key, members in groups.items():
            outcome = GroupPoll(key, members[0].platform, len(members), ok=True)
            try:
                answer = self.source(members[0]).poll(members)
            except HpcError as exc:
                outcome.ok = False
                outcome.error = exc.to_dict()
                self.forget(members[0])
            else:
                outcome.changed = self.ledger.record_observations(answer.observations)
                outcome.commands = answer.commands
                outcome.notes = answer.notes
                outcome.missing = answer.missing
            results.append(outcome)
        return results

    def close(self) -> None:
        for remote in self._remotes.values() if self.own_connections else ():
            with contextlib.suppress(HpcError):
                remote.close()
        self._remotes.clear()
        self._sources.clear()


def make_source(poller: Poller, record: Submission) -> Source:
    """The source for a record's platform."""
    if record.platform == "slurm":
        return SlurmSource(poller.runner(record))
    if record.platform == "shell":
        return ShellSource(poller.runner(record))
    if record.platform == "bohrium":
        return BohriumSource(poller.workspace, poller.report)
    raise HpcError(f"unknown platform {record.platform!r} in the ledger", type="ledger_incomplete")
