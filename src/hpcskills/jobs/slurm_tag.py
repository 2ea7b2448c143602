"""What a Slurm submit attempt's failure means, and finding its job again by its tag."""

from __future__ import annotations

from datetime import timedelta

from hpcskills.core.errors import BadInput, HpcError
from hpcskills.jobs import slurm_status
from hpcskills.ledger.once import Sent
from hpcskills.ledger.records import REJECTED, UNKNOWN_OUTCOME, Submission, parse_utc
from hpcskills.slurm import commands
from hpcskills.slurm.client import SlurmClient
from hpcskills.ssh.base import Remote

LOOKUP_MARGIN = timedelta(days=1)  # sacct reads cluster-local time; look back generously


def failure_phase(exc: HpcError) -> str:
    """sbatch refusals are definite unless Slurm said it timed out (the job may exist)."""
    if isinstance(exc, BadInput):
        return REJECTED
    if exc.type == "submit_rejected" and not commands.is_transient_error(exc.message):
        return REJECTED
    return UNKNOWN_OUTCOME


def lookup_by_tag(remote: Remote, user: str, record: Submission) -> Sent | None:
    """The job carrying the record's tag, if the platform accepted an earlier attempt."""
    if not record.tag:
        return None
    created = parse_utc(record.created_at)
    since = (created - LOOKUP_MARGIN).strftime("%Y-%m-%dT%H:%M:%S") if created else "now-7days"
    found = slurm_status.find_tagged(SlurmClient.over(remote), user, record.tag, since)
    return Sent(found[0], {"found_by_tag": record.tag}) if found else None
