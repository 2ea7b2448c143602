"""The PERSEUS JobManager endpoint. Sending a job again overwrites it (the portal upserts),
so a failed batch may be retried safely."""

from __future__ import annotations

from typing import Any

from hpcskills.core.errors import AuthRequired, RemoteError
from hpcskills.core.http import HttpSession

ADD_PATH = "/service/JobManager/add"


class PerseusClient:
    """POSTs lists of job records."""

    def __init__(self, url: str, token: str, http: HttpSession | None = None) -> None:
        self.http = http or HttpSession(url, service="PERSEUS")
        self.token = token

    def add(self, jobs: list[dict[str, Any]]) -> dict[str, Any]:
        """Send one batch; the portal's answer."""
        response = self.http.request(
            "POST",
            ADD_PATH,
            json=jobs,
            headers={"Authorization": f"Bearer {self.token}"},
            retry=True,  # an upsert: sending the same batch twice changes nothing
        )
        if response.status_code in (401, 403):
            raise AuthRequired(
                f"PERSEUS refused the token (HTTP {response.status_code})",
                type="perseus_unauthorized",
                hint="check credentials/perseus_token (or PERSEUS_TOKEN)",
            )
        if response.status_code == 422:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text[:500]
            raise RemoteError(
                "PERSEUS rejected the records",
                type="perseus_rejected",
                detail=detail,
                hint="the records do not match the portal's schema; report this",
            )
        if response.status_code >= 400:
            raise RemoteError(
                f"PERSEUS answered HTTP {response.status_code}",
                type="perseus_error",
                retryable=response.status_code >= 500,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return answer if isinstance(answer, dict) else {"answer": answer}
