"""Helpers for the hpc-jobs tests on the real local site. Import from here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hpcskills.core.errors import RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.ledger.store import open_ledger
from hpcskills.ssh.base import Endpoint, Remote
from hpcskills.ssh.connect import open_remote

from sitefix import Cluster, slurm_programs

SKILL = "hpc-jobs"


class CountingRemote:
    """A real Remote that counts the execs naming each Slurm command (a batched exec counts
    for each command in it) and can fail chosen calls."""

    def __init__(self, remote: Remote, fail_on: dict[str, set[int]] | None = None) -> None:
        self.remote = remote
        self.counts: Counter[str] = Counter()
        self.fail_on = fail_on or {}
        self.failed: list[str] = []
        self.slurm_execs = 0

    def __getattr__(self, name):
        return getattr(self.remote, name)

    def run(self, argv, **kw):
        programs = slurm_programs(argv) or ["other"]
        self.slurm_execs += programs != ["other"]
        self.counts.update(programs)
        for program in programs:
            if self.counts[program] in self.fail_on.get(program, set()):
                self.failed.append(f"{program}#{self.counts[program]}")
                raise RemoteError(
                    "connection dropped (injected)", type="connection_failed", retryable=True
                )
        return self.remote.run(argv, **kw)

    def close(self) -> None:
        """Kept open: the test closes the real remote."""


def login(cluster: Cluster) -> tuple[Endpoint, Remote]:
    site = cluster.site
    endpoint = Endpoint(site["login"]["host"], site["login"]["port"], cluster.user, "pilogin")
    return endpoint, open_remote(Workspace(cluster.workspace), endpoint)


def sbatch_many(remote: Remote, count: int, seconds: float, prefix: str) -> list[str]:
    """`count` small jobs in one remote command; their ids."""
    script = (
        'for i in $(seq "$1"); do sbatch --parsable --partition=cpu --ntasks=1 --mem=100M '
        '--job-name="$3$i" --output=/dev/null --wrap="sleep $2" || exit 1; done'
    )
    result = remote.run(["sh", "-c", script, "sh", str(count), str(seconds), prefix])
    result.check("sbatch loop")
    return [line.split(";")[0] for line in result.stdout.split()]


def record_jobs(workspace: Path, endpoint: Endpoint, job_ids: list[str], prefix: str) -> None:
    """Enter jobs submitted outside the scripts into the ledger, as the submit path does."""
    with open_ledger(Workspace(workspace)) as ledger:
        for job_id in job_ids:
            fields = {
                "site": "sjtu",
                "entry_node": endpoint.name,
                "host": endpoint.host,
                "port": endpoint.port,
                "remote_user": endpoint.user,
                "name": f"{prefix}{job_id}",
            }
            claim = ledger.claim("slurm", f"{prefix}-{job_id}", fields, now=0.0)
            ledger.mark_submitted(claim.submission.id, job_id)
