"""The OpenAPI client against `responses`: auth, envelope, pagination, retries of reads only."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from hpcskills.bohrium.api import BohriumApi, decode_log
from hpcskills.bohrium.config import resolve_config
from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.http import HttpSession
from hpcskills.core.openclaw_config import SkillEntry

BASE = "https://open.example.test/openapi"
KEY = "unit-test-access-key-1"


def make_api(
    sleeps: list[float] | None = None, versions: str = "", report: list[str] | None = None
) -> BohriumApi:
    env = {"ACCESS_KEY": KEY, "OPENAPI_HOST": "https://open.example.test"}
    config = resolve_config({**env, "BOHRIUM_API_VERSIONS": versions}, SkillEntry())
    record = sleeps.append if sleeps is not None else (lambda _s: None)
    http = HttpSession(config.api_base, service="the Bohrium OpenAPI", sleep=record)
    said = report.append if report is not None else (lambda _s: None)
    return BohriumApi(config, http=http, sleep=record, report=said)


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
def test_both_key_headers_and_job_detail() -> None:
    responses.get(f"{BASE}/v1/job/5", json=ok({"id": 5, "status": 1}))
    assert make_api().job(5) == {"id": 5, "status": 1}
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.headers["accessKey"] == KEY
    assert KEY not in sent.url  # never in a URL: URLs end up in logs


@responses.activate
def test_pagination_stops_at_the_last_page_and_at_the_limit() -> None:
    jobs = [{"id": i} for i in range(250)]
    for number in (1, 2, 3):
        responses.get(
            f"{BASE}/v4/job/list",
            json=page(jobs[(number - 1) * 100 : number * 100], number, 250, 100),
            match=[
                responses.matchers.query_param_matcher(
                    {"page": str(number), "pageSize": "100", "groupId": "-1"}
                )
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
    api = make_api(versions="job_list=v1")
    list(api.iter_jobs(status=-1, group_id=7, project_id=154, limit=10))
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
    responses.post(f"{BASE}/v4/job/add", status=503)
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
    responses.post(f"{BASE}/v4/job/create", json={"code": 2000, "message": "unauthorized"})
    with pytest.raises(AuthRequired):
        make_api().create_job(154, "x")


@responses.activate
def test_stop_paths_groups_and_log() -> None:
    for path in (
        "v1/job/terminate/1",
        "v4/job/kill/1",
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

    responses.post(f"{BASE}/v4/job_group/add", json=ok({"groupId": 42}))
    assert api.create_group("exp", 154) == 42
    assert json.loads(responses.calls[-1].request.body) == {"name": "exp", "projectId": 154}

    responses.get(
        f"{BASE}/v1/job/groups", json=ok({"items": [{"id": 1}] * 3, "total": 3, "pageSize": 100})
    )
    assert len(list(api.iter_groups(start="2026-01-01", project_id=154))) == 3
    assert "page=1" in responses.calls[-1].request.url  # 1-based, as lbg's server counts
    assert "program_id=154" in responses.calls[-1].request.url

    responses.get(f"{BASE}/v1/job/1/log", json=ok({"log": "line\n"}))
    assert api.log(1)["log"] == "line\n"
    assert "page=-1" in responses.calls[-1].request.url


@responses.activate
def test_v4_where_verified_with_the_official_skill_shapes() -> None:
    api = make_api()
    responses.post(f"{BASE}/v4/job/create", json=ok({"jobId": 7, "storePath": "s/", "token": "t"}))
    responses.post(f"{BASE}/v4/job/add", json=ok({"jobId": 7, "bohrJobId": 9007, "jobGroupId": 3}))
    responses.get(f"{BASE}/v4/job/detail/9007", json=ok({"id": 7, "bohrId": 9007, "status": 2}))
    responses.post(f"{BASE}/v4/job/kill/7", json=ok({}))
    api.create_job(154, "n", 3)
    assert json.loads(responses.calls[0].request.body) == {
        "projectId": 154,
        "name": "n",
        "BohrGroupId": 3,
    }
    api.add_job({"jobId": 7})
    assert api.job(7)["status"] == 2  # addressed by the bohrId the submit answered
    api.stop("kill", 7)
    assert [c.request.url.split("/openapi")[1] for c in responses.calls] == [
        "/v4/job/create",
        "/v4/job/add",
        "/v4/job/detail/9007",
        "/v4/job/kill/7",
    ]


@responses.activate
def test_v4_404_falls_back_to_v1_once_and_says_so() -> None:
    said: list[str] = []
    api = make_api(report=said)
    responses.post(f"{BASE}/v4/job/create", status=404, body="404 page not found")
    responses.post(f"{BASE}/v1/job/create", json=ok({"jobId": 8}))
    assert api.create_job(154, "n")["jobId"] == 8
    assert json.loads(responses.calls[1].request.body) == {
        "projectId": 154,
        "name": "n",
        "bohrGroupId": 0,
    }
    assert api.create_job(154, "m")["jobId"] == 8  # v1 from now on, without another 404
    assert len(responses.calls) == 3
    assert len(said) == 1 and "v4" in said[0] and "HTTP 404" in said[0] and "v1" in said[0]


@responses.activate
def test_detail_without_a_known_bohr_id_reads_v1_and_learns_it_from_lists() -> None:
    api = make_api()
    responses.get(f"{BASE}/v1/job/5", json=ok({"id": 5, "bohrId": 905}))
    responses.get(f"{BASE}/v4/job/list", json=page([{"id": 6, "bohrId": 906}], 1, 1, 100))
    responses.get(f"{BASE}/v4/job/detail/906", json=ok({"id": 6, "bohrId": 906}))
    api.job(5)
    list(api.iter_jobs())
    api.job(6)
    assert api.bohr_ids == {5: 905, 6: 906}
    assert responses.calls[-1].request.url.endswith("/v4/job/detail/906")


def test_unknown_version_choice_is_bad_input() -> None:
    with pytest.raises(BadInput):
        make_api(versions="job_list=v9")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain\nlines\n", "plain\nlines\n"),
        ('{"log": "from json\\n"}', "from json\n"),
        ('{"log": ["a", "b"]}', "a\nb"),
        (["x", "y"], "x\ny"),
        ("{not json", "{not json"),
        (None, ""),
    ],
)
def test_logs_are_decoded_whichever_way_they_come(value: object, text: str) -> None:
    assert decode_log(value) == text


@responses.activate
def test_log_answer_is_decoded() -> None:
    responses.get(f"{BASE}/v1/job/1/log", json=ok({"log": json.dumps({"log": ["l1", "l2"]})}))
    assert make_api().log(1)["log"] == "l1\nl2"
