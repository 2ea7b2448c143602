"""The request shapes of the Bohrium platform's own 2026 skill (dptech-corp/bohrium-skills,
bohrium-job; verified by its authors on open.bohrium.com) and of the other 2026 clients that
list and read jobs over v4, written from facts/bohrium.md ("API versions"), not copied.

It sends only `Authorization: Bearer <AK>`, as that skill does.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

TIMEOUT = 10


class SkillClient:
    """v4 job_group/add → job/create → tiefblue upload → job/add; list, detail, kill."""

    def __init__(self, openapi_host: str, access_key: str) -> None:
        self.base = openapi_host.rstrip("/") + "/openapi"
        self.headers = {"Authorization": f"Bearer {access_key}"}

    def _data(self, answer: requests.Response) -> Any:
        answer.raise_for_status()
        envelope = answer.json()
        if envelope.get("code") != 0:
            raise RuntimeError(f"code {envelope.get('code')}: {envelope.get('message')}")
        return envelope.get("data")

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._data(
            requests.post(self.base + path, json=body, headers=self.headers, timeout=TIMEOUT)
        )

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._data(
            requests.get(self.base + path, params=params, headers=self.headers, timeout=TIMEOUT)
        )

    def add_group(self, project_id: int, name: str) -> int:
        return int(self._post("/v4/job_group/add", {"projectId": project_id, "name": name})[
            "groupId"
        ])

    def create(self, project_id: int, name: str, group_id: int) -> dict[str, Any]:
        return self._post(
            "/v4/job/create", {"name": name, "BohrGroupId": group_id, "projectId": project_id}
        )

    def upload(self, created: dict[str, Any], data: bytes) -> str:
        """`{storeHost}/api/upload/binary`, object key `storePath + "input.zip"`."""
        key = created["storePath"] + "input.zip"
        param = {"path": key, "option": {"contentDisposition": 'attachment; filename="input.zip"'}}
        headers = {
            "Authorization": f"Bearer {created['token']}",
            "X-Storage-Param": base64.b64encode(json.dumps(param).encode()).decode(),
        }
        answer = requests.post(
            created["storeHost"].rstrip("/") + "/api/upload/binary",
            data=data,
            headers=headers,
            timeout=TIMEOUT,
        )
        self._data(answer)
        return key

    def add(self, created: dict[str, Any], key: str, project_id: int, group_id: int,
            image: str, machine: str, command: str) -> dict[str, Any]:
        body = {
            "jobId": created["jobId"],
            "jobType": "container",
            "projectId": project_id,
            "jobGroupId": group_id,
            "jobName": "skill-job",
            "scassType": machine,
            "imageName": image,
            "cmd": command,
            "platform": "ali",
            "ossPath": [key],
            "inputFileType": 3,
            "inputFileMethod": 1,
            "nnode": 1,
        }
        return self._post("/v4/job/add", body)

    def list_all(self, page: int = 1, page_size: int = 20) -> dict[str, Any]:
        return self._get("/v4/job/list", {"groupId": -1, "page": page, "pageSize": page_size})

    def detail(self, bohr_id: int) -> dict[str, Any]:
        return self._get(f"/v4/job/detail/{bohr_id}")

    def kill(self, job_id: int) -> Any:
        return self._post(f"/v4/job/kill/{job_id}")
