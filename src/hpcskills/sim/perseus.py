"""Local simulator of the PERSEUS compute-jobs API (seed 002): ``POST
/service/JobManager/add`` with a JSON list of jobs.

Rules applied as the seed states them: required fields ``job_id`` (int), ``project_oid``,
``compute_project_id`` and ``cluster_id`` (str); optional fields with their types;
``state`` from the PERSEUS vocabulary; ISO-formatted ``submitted``/``start``/``end``;
``group_id`` and ``group_index`` together or not at all. A job that matches a stored one by
``job_id``, or by the tuple ``(group_id, group_index)``, overwrites it (upsert); otherwise it
is created. A batch with any invalid job is refused whole (HTTP 422, FastAPI-style
``{"detail": [{"loc", "msg", "type"}]}``); unknown fields are refused too, so typos show.
Inferred (not in the seed): the list body, ``Authorization: Bearer <token>``, the answer
``{"created": n, "updated": m}``.

Demo token (fake, for the demo and tests only): ``perseus-demo-token``.

Control namespace: ``GET /_sim/jobs`` (stored jobs), ``POST /_sim/reset``, ``GET
/_sim/stats``, ``POST /_sim/fail``.
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from hpcskills.sim.httpbase import HttpError, Request, Response, SimulatorBase, json_response

DEMO_TOKEN = "perseus-demo-token"
ADD_PATH = "/service/JobManager/add"
STATES = (
    "RUNNING",
    "PENDING",
    "COMPLETED",
    "SUSPENDED",
    "CANCELLED",
    "BOOT_FAIL",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
)
REQUIRED = {"job_id": "int", "project_oid": "str", "compute_project_id": "str", "cluster_id": "str"}
OPTIONAL = {
    "group_id": "int",
    "group_index": "int",
    "job_name": "str",
    "partition": "str",
    "nodes": "list[str]",
    "allocated_resources": "list[str]",
    "working_directory": "str",
    "submitted": "datetime",
    "start": "datetime",
    "end": "datetime",
    "time_limit": "int",
    "user": "str",
    "state": "state",
    "priority_id": "str",
    "reservation": "str",
    "reason": "str",
    "cluster_cockpit_id": "int",
    "additional_data": "dict",
}


def _type_error(kind: str, value: Any) -> str | None:
    """Why `value` is not of `kind`, or None."""
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "value is not a valid integer"
    if kind == "str":
        return None if isinstance(value, str) else "str type expected"
    if kind == "list[str]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "value is not a list of strings"
    if kind == "dict":
        return None if isinstance(value, dict) else "value is not a valid dict"
    if kind == "state":
        return None if value in STATES else f"state must be one of {', '.join(STATES)}"
    if kind == "datetime":
        if not isinstance(value, str):
            return "value is not an ISO-formatted datetime string"
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "value is not an ISO-formatted datetime string"
    return None


def validate_job(job: Any, index: int) -> list[dict[str, Any]]:
    """Problems of one job record, FastAPI-style (empty when it is valid) (pure)."""
    if not isinstance(job, dict):
        return [{"loc": ["body", index], "msg": "job must be an object", "type": "type_error"}]
    errors = []
    for name in REQUIRED:
        if job.get(name) is None:
            errors.append(
                {
                    "loc": ["body", index, name],
                    "msg": "field required",
                    "type": "value_error.missing",
                }
            )
    for name, value in job.items():
        kind = REQUIRED.get(name) or OPTIONAL.get(name)
        if kind is None:
            errors.append(
                {
                    "loc": ["body", index, name],
                    "msg": "extra fields not permitted",
                    "type": "value_error.extra",
                }
            )
        elif value is not None and (why := _type_error(kind, value)):
            errors.append({"loc": ["body", index, name], "msg": why, "type": "type_error"})
    if (job.get("group_id") is None) != (job.get("group_index") is None):
        errors.append(
            {
                "loc": ["body", index, "group_index"],
                "msg": "group_id and group_index go together",
                "type": "value_error",
            }
        )
    for name in ("time_limit", "group_index"):
        value = job.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            errors.append(
                {"loc": ["body", index, name], "msg": "must be ≥ 0", "type": "value_error"}
            )
    return errors


def matches(stored: dict[str, Any], job: dict[str, Any]) -> bool:
    """The seed's upsert rule: the same job_id, or the same (group_id, group_index)."""
    if stored["job_id"] == job["job_id"]:
        return True
    group = (job.get("group_id"), job.get("group_index"))
    return None not in group and (stored.get("group_id"), stored.get("group_index")) == group


class PerseusSimulator(SimulatorBase):
    """The JobManager endpoint with the seed's validation and upsert rule."""

    name = "perseus"

    def __init__(
        self, *, token: str = DEMO_TOKEN, port: int = 0, log: TextIO | None = sys.stderr
    ) -> None:
        super().__init__(port=port, log=log)
        self.token = token
        self.jobs: list[dict[str, Any]] = []
        self.batches: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.router.add("POST", ADD_PATH, self._add, name="JobManager/add")
        self.router.add("GET", r"/_sim/jobs", self._control_jobs)
        self.router.add("POST", r"/_sim/reset", self._control_reset)

    def _authorize(self, request: Request) -> None:
        token = request.bearer_token()
        if token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
            raise HttpError(401, "Not authenticated")

    def _add(self, request: Request) -> Response:
        self._authorize(request)
        body = request.json()
        if not isinstance(body, list):
            return json_response(
                {
                    "detail": [
                        {
                            "loc": ["body"],
                            "msg": "a list of jobs is expected",
                            "type": "type_error.list",
                        }
                    ]
                },
                422,
            )
        errors = [e for index, job in enumerate(body) for e in validate_job(job, index)]
        if errors:
            self.counters.inc("events", "rejected_batches")
            return json_response({"detail": errors}, 422)
        created = updated = 0
        with self._lock:
            self.batches.append(body)
            for job in body:
                found = next((n for n, s in enumerate(self.jobs) if matches(s, job)), None)
                if found is None:
                    self.jobs.append(dict(job))
                    created += 1
                else:
                    self.jobs[found] = dict(job)
                    updated += 1
        return json_response({"created": created, "updated": updated})

    def stored(self) -> list[dict[str, Any]]:
        """A copy of the stored jobs."""
        with self._lock:
            return [dict(job) for job in self.jobs]

    def _control_jobs(self, _request: Request) -> Response:
        return json_response(self.stored())

    def _control_reset(self, _request: Request) -> Response:
        with self._lock:
            self.jobs.clear()
            self.batches.clear()
        return json_response({"reset": True})


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; stdout: base URL line, then a JSON line."""
    parser = argparse.ArgumentParser(
        prog="python -m hpcskills.sim perseus",
        description="Serve a local PERSEUS JobManager simulator on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--token-file", type=Path, help=f"file holding the accepted token (default {DEMO_TOKEN})"
    )
    args = parser.parse_args(argv)
    token = args.token_file.read_text().strip() if args.token_file else DEMO_TOKEN
    simulator = PerseusSimulator(token=token, port=args.port)

    def announce(base_url: str) -> None:
        print(base_url, flush=True)
        print(json.dumps({"add": base_url + ADD_PATH}), flush=True)

    simulator.run_until_signal(announce)
    return 0
