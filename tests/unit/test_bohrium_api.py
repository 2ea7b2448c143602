"""The OpenAPI client against `responses`: auth, envelope, pagination, retries of reads only."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.config import resolve_config
from hpcskills.core.errors import AuthRequired, RemoteError
from hpcskills.core.http import HttpSession
from hpcskills.core.openclaw_config import SkillEntry

BASE = "https://open.example.test/openapi"
KEY = "unit-test-access-key-1"


def make_api(sleeps: list[float] | None = None) -> BohriumApi:
    config = resolve_config(
        {"ACCESS_KEY": KEY, "OPENAPI_HOST": "https://open.example.test"}, SkillEntry()
    )
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    http = HttpSession(config.api_base, service="the Bohrium OpenAPI", sleep=record)
    return BohriumApi(config, http=http, sleep=record)


def ok(data: object) -> dict:
    return {"code": 0, "data": data, "message": "success"}


def page(items: list, page_no: int, total: int, size: int) -> dict:
    return ok(
        {
            "items": items,
            "total": total,
            "page": page_no,
            "pageSize": size,
            "totalPage": -(-total // size),
        }
    )


@responses.activate
def test_bearer_key_and_job_detail() -> None:
    responses.get(f"{BASE}/v1/job/5", json=ok({"id": 5, "status": 1}))
    assert make_api().job(5) == {"id": 5, "status": 1}
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {KEY}"


@responses.activate
def test_pagination_stops_at_the_last_page_and_at_the_limit() -> None:
    jobs = [{"id": i} for i in range(250)]
    for number in (1, 2, 3):
        responses.get(
            f"{BASE}/v1/job/list",
            json=page(jobs[(number - 1) * 100 : number * 100], number, 250, 100),
            match=[
                responses.matchers.query_param_matcher({"page": str(number), "pageSize": "100"})
            ],
        )
    api = make_api()
    assert [j["id"] for j in api.iter_jobs()] == list(range(250))
    assert len(responses.calls) == 3
    responses.calls.reset()
    assert len(list(api.iter_jobs(limit=150))) == 150
    assert len(responses.calls) == 2
    responses.calls.reset()
    assert len(list(api.iter_jobs(max_pages=1))) == 100


@responses.activate
def test_list_filters_are_sent() -> None:
    responses.get(f"{BASE}/v1/job/list", json=page([], 1, 0, 10))
    list(make_api().iter_jobs(status=-1, group_id=7, project_id=154, limit=10))
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {
        "page": ["1"],
        "pageSize": ["10"],
        "status": ["-1"],
        "groupId": ["7"],
        "projectId": ["154"],
    }


@responses.activate
def test_reads_retry_on_429_and_5xx() -> None:
    sleeps: list[float] = []
    url = f"{BASE}/v1/job/5"
    responses.get(url, status=429, headers={"Retry-After": "2"})
    responses.get(url, status=503)
    responses.get(url, json=ok({"id": 5}))
    assert make_api(sleeps).job(5) == {"id": 5}
    assert sleeps[0] == 2.0 and len(responses.calls) == 3


@responses.activate
def test_writes_are_sent_once_except_after_429() -> None:
    sleeps: list[float] = []
    api = make_api(sleeps)
    responses.post(f"{BASE}/v2/job/add", status=503)
    with pytest.raises(RemoteError) as caught:
        api.add_job({"jobId": 1})
    assert caught.value.retryable and len(responses.calls) == 1
    responses.calls.reset()
    responses.post(f"{BASE}/v1/job/terminate/9", status=429, headers={"Retry-After": "1"})
    responses.post(f"{BASE}/v1/job/terminate/9", json=ok({}))
    api.stop("terminate", 9)
    assert len(responses.calls) == 2 and sleeps == [1.0]


@responses.activate
def test_business_errors_are_typed() -> None:
    responses.post(f"{BASE}/v1/job/create", json={"code": 2000, "message": "unauthorized"})
    with pytest.raises(AuthRequired):
        make_api().create_job(154, "x")


@responses.activate
def test_stop_paths_groups_and_log() -> None:
    for path in (
        "v1/job/terminate/1",
        "v1/job/kill/1",
        "v1/job/del/1",
        "v1/job/terminate/group/3",
        "v1/job/group/del/3",
    ):
        responses.post(f"{BASE}/{path}", json=ok({}))
    api = make_api()
    for action in ("terminate", "kill", "delete"):
        api.stop(action, 1)
    api.stop_group("terminate", 3)
    api.stop_group("delete", 3)
    assert len(responses.calls) == 5

    responses.post(f"{BASE}/v1/job_group/add", json=ok({"groupId": 42}))
    assert api.create_group("exp", 154) == 42
    assert json.loads(responses.calls[-1].request.body) == {"name": "exp", "projectId": 154}

    responses.get(
        f"{BASE}/v1/job/groups", json=ok({"items": [{"id": 1}] * 3, "total": 3, "pageSize": 100})
    )
    assert len(list(api.iter_groups(start="2026-01-01"))) == 3
    assert "page=0" in responses.calls[-1].request.url

    responses.get(f"{BASE}/v1/job/1/log", json=ok({"log": "line\n"}))
    assert api.log(1)["log"] == "line\n"
    assert "page=-1" in responses.calls[-1].request.url
