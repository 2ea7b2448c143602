"""The operations scripts need, over the OpenAPI (default) — `bohr_cli` has the same shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcskills.bohrium import download, idempotency, scratch
from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.packing import Inventory, start_zip
from hpcskills.bohrium.spec import JobSpec, add_payload
from hpcskills.bohrium.tiefblue import TiefblueUploader, UploadResult
from hpcskills.core.errors import HpcError, NotFound, RemoteError
from hpcskills.core.redact import register_secret

Report = Callable[[str], None]
# status flags of list_jobs → API status codes
STATUS_FILTERS = {"running": 1, "failed": -1, "finished": 2, "pending": 0, "scheduling": 3}
CREATED_NOT_SUBMITTED = 8  # "uploading": created, its job/add not yet received (inferred)


@dataclass(frozen=True)
class Submission:
    """A linted job ready to send: final spec (name tagged), its input, files to add.

    `stale_created`: a job an interrupted earlier run created but never submitted (it is
    deleted first); `on_created`: told the new job's id before anything is uploaded, so a
    run killed after that leaves the id for the next one."""

    spec: JobSpec
    inventory: Inventory
    extra_files: dict[str, bytes]
    key: str
    tag: str
    stale_created: int | None = None
    on_created: Callable[[int], None] | None = None


def object_key(store_path: str, job_name: str) -> str:
    """`{storePath}/input/{name}.zip` with the name made path-safe."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job_name).strip("._") or "input"
    return f"{store_path.rstrip('/')}/input/{safe[:100]}.zip"


def log_file_url(job: dict[str, Any]) -> str | None:
    """The STDOUTERR URL of a job's detail: `jobFiles.logFiles[]` (v1) or `logFiles[]` (v4);
    the first file with a URL when none is named STDOUTERR."""
    files = job.get("jobFiles") if isinstance(job.get("jobFiles"), dict) else {}
    entries = [
        entry
        for group in (files.get("logFiles"), job.get("logFiles"))
        if isinstance(group, list)
        for entry in group
        if isinstance(entry, dict) and entry.get("url")
    ]
    named = [entry for entry in entries if entry.get("name") == "STDOUTERR"]
    chosen = (named or entries)[:1]
    return str(chosen[0]["url"]) if chosen else None


def refused_after_create(error: HpcError, job_id: int, deleted: bool) -> RemoteError:
    """A definite refusal of `job/add`, told as it is (exit 5, not "nothing changed"): the
    job created and uploaded before was deleted again, or it is still listed, "uploading"."""
    left = (
        "it was deleted again; nothing of it is left in your job list"
        if deleted
        else "it could not be deleted now and stays in your job list as 'uploading' (it never "
        "runs)"
    )
    then = (
        ""
        if deleted
        else f"; the rerun deletes job {job_id} first, or delete it now with "
        f"stop_jobs.py --action delete {job_id} (a plan first)"
    )
    return RemoteError(
        f"Bohrium refused the job: {error.message}. Job {job_id} had been created and its "
        f"input uploaded; {left}",
        type="submit_rejected",
        hint=(f"{error.hint}; then " if error.hint else "fix the cause, then ")
        + "run the same command again (it creates a new job)"
        + then,
        reason_type=error.type,
        created_job_id=job_id,
        created_job_status="deleted" if deleted else "uploading",
    )


class ApiBackend:
    """Job operations over the Bohrium OpenAPI and tiefblue."""

    name = "api"

    def __init__(self, api: BohriumApi, report: Report) -> None:
        self.api = api
        self.report = report

    # -- reading ---------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: str | None = None,
        group_id: int | None = None,
        project_id: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        code = STATUS_FILTERS[status] if status else None
        return list(
            self.api.iter_jobs(status=code, group_id=group_id, project_id=project_id, limit=limit)
        )

    def job(self, job_id: int) -> dict[str, Any]:
        return self.api.job(job_id)

    def log_tail(self, job_id: int, max_bytes: int) -> str:
        data = self.api.log(job_id, page=-1, page_size=max_bytes)
        return str(data.get("log") or "")

    def save_log(self, job_id: int, target: Path) -> dict[str, Any]:
        """The whole STDOUTERR log into `target`, fetched anew each time (it grows): from the
        log file's URL in the job's detail (as lbg does), else page by page."""
        url = log_file_url(self.api.job(job_id))
        if url:
            return download.fetch(url, target, report=self.report, fresh=True)
        part = download.part_path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        size, page = 0, 1
        with open(part, "w") as handle:
            while True:
                chunk = str(self.api.log(job_id, page=page, page_size=65536).get("log") or "")
                handle.write(chunk)
                size += len(chunk.encode())
                if len(chunk.encode()) < 65536:
                    break
                page += 1
        part.replace(target)
        return {"path": str(target), "bytes": size, "skipped": False}

    def view_conf(self, job_id: int) -> dict[str, Any]:
        return self.api.view_conf(job_id)

    def snapshot(self, job_id: int) -> Any:
        return self.api.snapshot(job_id)

    def find_submitted(self, tag: str) -> dict[str, Any] | None:
        jobs = self.api.iter_jobs(max_pages=idempotency.LOOKUP_PAGES)
        return idempotency.find_tagged(jobs, tag)

    # -- changing --------------------------------------------------------------------------

    def stop(self, action: str, job_id: int) -> None:
        self.api.stop(action, job_id)

    def rename(self, job_id: int, name: str) -> None:
        self.api.rename(job_id, name)

    def fetch_result(self, job: dict[str, Any], target: Path) -> dict[str, Any]:
        url = job.get("resultUrl")
        if not url:
            raise NotFound(f"job {job.get('id')} has no result archive", type="no_results")
        return download.fetch(str(url), target, report=self.report)

    def discard_created(self, job_id: int) -> bool:
        """Delete a job that was created but never submitted (status 8: the platform still
        waits for its input); a submitted or vanished job is left alone."""
        try:
            job = self.api.job(job_id)
        except NotFound:
            return False
        if job.get("status") != CREATED_NOT_SUBMITTED:
            return False
        self.api.stop("delete", job_id)
        self.report(f"deleted job {job_id}: an interrupted earlier run created it, never sent it")
        return True

    def submit(self, submission: Submission) -> dict[str, Any]:
        """create → zip + upload (overlapped) → add; a lost answer to add is looked up.

        A job created by an interrupted earlier run is deleted first; if this run fails or
        is interrupted before the add is sent, the job it created is deleted too. The input
        zip lives in a per-process scratch directory, removed on every exit this process
        sees; ones left by killed runs are removed here."""
        for path in scratch.remove_orphans():
            self.report(f"removed {path}, left by an interrupted earlier submit")
        if submission.stale_created:
            self.discard_created(submission.stale_created)
        spec = submission.spec
        created = self.api.create_job(
            spec.project_id or 0, spec.job_name or "job", spec.job_group_id
        )
        token = str(created.get("token") or "")
        register_secret(token)
        job_id = created.get("jobId")
        if not job_id or not token or not created.get("storePath"):
            raise RemoteError("job/create gave no job id or storage token", type="bad_response")
        if submission.on_created:
            submission.on_created(int(job_id))
        sending = False
        try:
            key, uploaded = self._upload(submission, created)
            payload = add_payload(spec, int(job_id), key, created.get("jobGroupId"))
            sending = True
            added = self.api.add_job(payload)
        except HpcError as exc:
            if sending and exc.retryable:  # the platform may have taken it: look it up
                return self._after_lost_answer(submission, exc, uploaded.to_dict())
            deleted = self._discard_quietly(int(job_id))  # refused, or never sent
            if sending:
                raise refused_after_create(exc, int(job_id), deleted) from None
            raise
        except BaseException:
            if not sending:
                self._discard_quietly(int(job_id))
            raise
        return {
            "job_id": added.get("jobId") or job_id,
            "group_id": added.get("jobGroupId", created.get("jobGroupId")),
            "bohr_job_id": added.get("bohrJobId"),
            "upload": uploaded.to_dict(),
        }

    def _upload(self, submission: Submission, created: dict[str, Any]) -> tuple[str, UploadResult]:
        """Zip the input into scratch while uploading it; the object key and the upload."""
        key = object_key(str(created["storePath"]), submission.spec.job_name or "input")
        host = str(created.get("storeHost") or self.api.config.tiefblue_host)
        self.report(
            f"created job {created.get('jobId')}; zipping {submission.inventory.total_bytes} "
            "bytes and uploading to storage"
        )
        with scratch.scratch_dir() as tmp:
            source = start_zip(
                submission.inventory, Path(tmp) / "input.zip", submission.extra_files
            )
            uploader = TiefblueUploader(host, str(created["token"]), report=self.report)
            return key, uploader.upload(key, source, submission.inventory.total_bytes)

    def _discard_quietly(self, job_id: int) -> bool:
        """After a failed or interrupted upload: delete the created job, if the platform
        lets us (the next run deletes it otherwise); whether it was deleted."""
        try:
            return self.discard_created(job_id)
        except HpcError as exc:
            self.report(f"could not delete the unsent job {job_id} now ({exc.message})")
            return False

    def _after_lost_answer(
        self, submission: Submission, error: RemoteError, upload: dict[str, Any]
    ) -> dict[str, Any]:
        self.report(
            f"no answer to the submit ({error.message}); looking the job up by its idempotency tag"
        )
        try:
            found = self.find_submitted(submission.tag)
        except RemoteError:
            found = None
        if found is None:
            raise RemoteError(
                f"the submit got no answer ({error.message}) and the job is not listed yet",
                type="submit_unconfirmed",
                retryable=True,
                hint="run the same command again: it first looks for a job carrying this "
                "idempotency key, so it cannot start a second copy",
                idempotency_key=submission.key,
            ) from None
        return {
            "job_id": found.get("id"),
            "group_id": found.get("jobGroupId"),
            "bohr_job_id": found.get("bohrId"),
            "upload": upload,
            "recovered": "the answer to the submit was lost; the job was found by its tag",
        }

    # -- groups ----------------------------------------------------------------------------

    def groups(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        return list(self.api.iter_groups(limit=limit, **filters))

    def create_group(self, name: str, project_id: int) -> int:
        return self.api.create_group(name, project_id)

    def stop_group(self, action: str, group_id: int) -> None:
        self.api.stop_group(action, group_id)

    def rename_group(self, group_id: int, name: str) -> None:
        self.api.rename_group(group_id, name)
