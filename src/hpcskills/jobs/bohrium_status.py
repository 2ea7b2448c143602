"""Bohrium job states for the ledger: the job list read page by page (100 jobs per call),
then detail calls only for jobs the list did not reach, capped per poll."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.config import load_config
from hpcskills.bohrium.records import job_id_of, job_record
from hpcskills.bohrium.states import job_state
from hpcskills.core.errors import NotFound
from hpcskills.core.workspace import Workspace
from hpcskills.jobs.source import SourceAnswer
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import Observation

PAGE_SIZE = 100
EXTRA_PAGES = 1
MAX_DETAIL_CALLS = 20  # per poll: stays well inside the API's rate limit


def observation(member: Submission, job: dict[str, Any]) -> Observation:
    """A ledger observation from a Bohrium job object (pure)."""
    state = job_state(job)
    return Observation(
        member.id,
        state.state,
        f"{state.label} (status {state.status}, webStatus {state.web_status})",
        "bohrium",
        job_record(job, full=True) | {"created": job.get("createTime")},
    )


class BohriumSource:
    """States of the ledger's Bohrium jobs, through the OpenAPI."""

    def __init__(
        self,
        workspace: Workspace,
        report: Callable[[str], None],
        api: BohriumApi | None = None,
    ) -> None:
        self.workspace = workspace
        self.report = report
        self.api = api or BohriumApi(load_config())

    def poll(self, members: Sequence[Submission]) -> SourceAnswer:
        wanted = {int(m.job_id): m for m in members if m.job_id and str(m.job_id).isdigit()}
        answer = SourceAnswer()
        found: dict[int, dict[str, Any]] = {}
        pages = len(wanted) // PAGE_SIZE + 1 + EXTRA_PAGES
        answer.commands.append(f"job/list x<={pages}")
        for job in self.api.iter_jobs(max_pages=pages):
            job_id = job_id_of(job)
            if job_id in wanted:
                found[job_id] = job
                if len(found) == len(wanted):
                    break
        for job_id in [j for j in wanted if j not in found][:MAX_DETAIL_CALLS]:
            answer.commands.append("job/detail")
            try:
                found[job_id] = self.api.job(job_id)
            except NotFound:
                continue
        for job_id, member in wanted.items():
            if job_id in found:
                answer.observations.append(observation(member, found[job_id]))
            else:
                answer.missing.append(str(job_id))
        return answer
