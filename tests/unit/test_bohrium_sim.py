"""The Bohrium simulator over HTTP with plain `requests`."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hpcskills.bohrium import storage_param
from hpcskills.sim.bohrium import (
    DEMO_ACCESS_KEY,
    OTHER_ACCESS_KEY,
    BohriumSimulator,
    Scenario,
)

T = 5
AUTH = {"Authorization": f"Bearer {DEMO_ACCESS_KEY}"}


@pytest.fixture
def sim() -> Iterator[BohriumSimulator]:
    simulator = BohriumSimulator(scenario=Scenario(0.0, 0.0, 3600.0, 0.1), log=None)
    simulator.start()
    yield simulator
    simulator.stop()


def api(
    sim: BohriumSimulator, method: str, path: str, headers: dict | None = None, **kwargs: Any
) -> dict:
    answer = requests.request(
        method,
        f"{sim.base_url}/openapi{path}",
        headers=AUTH if headers is None else headers,
        timeout=T,
        **kwargs,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(sim: BohriumSimulator, created: dict, data: bytes, name: str = "in.zip") -> str:
    key = f"{created['storePath']}input/{name}"
    answer = requests.post(
        f"{sim.base_url}/api/upload/binary",
        data=data,
        timeout=T,
        headers={
            "Authorization": f"Bearer {created['token']}",
            storage_param.HEADER: storage_param.encode({"path": key}),
        },
    )
    assert answer.json()["code"] == 0, answer.text
    return key


def submit(sim: BohriumSimulator, cmd: str = "python run.py", **extra: Any) -> int:
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "t"})["data"]
    key = upload(sim, created, zip_bytes({"run.py": b"print(1)"}))
    body = {
        "jobId": created["jobId"],
        "projectId": 154,
        "jobName": "t",
        "jobType": "container",
        "ossPath": [key],
        "inputFileType": 3,
        "inputFileMethod": 1,
        "scassType": "c2_m4_cpu",
        "cmd": cmd,
        "imageName": "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
        **extra,
    }
    answer = api(sim, "POST", "/v2/job/add", json=body)
    assert answer["code"] == 0, answer
    return created["jobId"]


def test_three_auth_forms_and_unauthorized(sim: BohriumSimulator) -> None:
    url = f"{sim.base_url}/openapi/v1/ak/get"
    for kwargs in (
        {"headers": AUTH},
        {"headers": {"accessKey": DEMO_ACCESS_KEY}},
        {"params": {"accessKey": DEMO_ACCESS_KEY}},
    ):
        assert requests.get(url, timeout=T, **kwargs).json()["data"]["user_id"] == 10001
    denied = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=T)
    assert denied.status_code == 401 and denied.json()["code"] == 2000  # what bohriumsdk expects
    assert requests.get(url, timeout=T).status_code == 401


def test_jobs_move_through_phases_and_logs_grow(sim: BohriumSimulator) -> None:
    sim.configure(pending=0.2, scheduling=0.2, running=0.6, log_lines_per_second=50)
    job_id = submit(sim)
    seen, sizes = [], []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        job = api(sim, "GET", f"/v1/job/{job_id}")["data"]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        sizes.append(len(api(sim, "GET", f"/v1/job/{job_id}/log")["data"]["log"]))
        if job["status"] == 2:
            break
        time.sleep(0.05)
    assert seen == [0, 3, 1, 2]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    assert job["resultUrl"] and job["endTime"] and job["exitCode"] == 0
    archive = requests.get(job["resultUrl"], timeout=T)
    assert zipfile.ZipFile(io.BytesIO(archive.content)).testzip() is None
    bad_sig = requests.get(job["resultUrl"].split("?")[0] + "?sig=x", timeout=T)
    assert bad_sig.status_code == 403
    part = requests.get(job["resultUrl"], headers={"Range": "bytes=10-"}, timeout=T)
    assert part.status_code == 206 and part.content == archive.content[10:]
    assert part.headers["Content-Range"].startswith("bytes 10-")


def test_failed_jobs_can_show_status_0_with_web_status_minus_1(sim: BohriumSimulator) -> None:
    sim.configure(running=0.0, failed_status_lag=60.0)
    job = api(sim, "GET", f"/v1/job/{submit(sim, cmd='python run.py || exit 1')}")["data"]
    assert (job["status"], job["webStatus"]) == (0, -1)
    assert job["errorInfo"]


def test_submission_checks(sim: BohriumSimulator) -> None:
    foreign = api(sim, "POST", "/v1/job/create", json={"projectId": 155, "name": "x"})
    assert foreign["code"] == 290007
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "x"})["data"]
    body = {
        "jobId": created["jobId"],
        "projectId": 154,
        "jobType": "container",
        "ossPath": [f"{created['storePath']}input/missing.zip"],
        "inputFileType": 3,
        "inputFileMethod": 1,
        "scassType": "c2_m4_cpu",
        "cmd": "python a.py",
        "imageName": "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
    }
    assert api(sim, "POST", "/v2/job/add", json=body)["code"] == 140404
    waf = requests.post(
        f"{sim.base_url}/openapi/v2/job/add",
        headers=AUTH,
        timeout=T,
        json={**body, "cmd": "for i in 1 2; do echo $i; done"},
    )
    assert waf.status_code == 405 and "WAF" in waf.text
    key = upload(sim, created, b"not a zip at all")
    assert sim.objects[key]["verified"] is False
    body["ossPath"] = [key]
    assert "not a valid zip" in api(sim, "POST", "/v2/job/add", json=body)["message"]
    key = upload(sim, created, zip_bytes({"a": b"b"}), "good.zip")
    body["ossPath"] = [key]
    assert api(sim, "POST", "/v2/job/add", json={**body, "jobType": "vm"})["code"] == 140400
    assert api(sim, "POST", "/v2/job/add", json={**body, "imageName": "ubuntu"})["code"] != 0
    no_mode = {k: v for k, v in body.items() if k != "inputFileMethod"}
    assert api(sim, "POST", "/v2/job/add", json=no_mode)["code"] == 140400
    # the SDK's default jobType "" and DPDispatcher's imageAddress are what real clients send
    image = body.pop("imageName")
    sdk_shaped = {**body, "jobType": "", "imageAddress": image}
    assert api(sim, "POST", "/v2/job/add", json=sdk_shaped) == {
        "code": 0,
        "data": {"jobId": created["jobId"], "jobGroupId": created["jobGroupId"]},
        "message": "success",
    }
    assert api(sim, "POST", "/v2/job/add", json=sdk_shaped)["code"] == 140409  # only once


def test_per_file_input_as_the_sdks_submit_it(sim: BohriumSimulator) -> None:
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "x"})["data"]
    assert created["storePath"].endswith("/") and "storeHost" not in created
    body = {
        "jobId": created["jobId"],
        "projectId": 154,
        "jobType": "",
        "ossPath": [created["storePath"]],
        "inputFileType": 2,
        "inputFileMethod": 4,
        "scassType": "c2_m4_cpu",
        "cmd": "python run.py",
        "imageName": "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
    }
    assert api(sim, "POST", "/v2/job/add", json=body)["code"] == 140404  # nothing uploaded
    upload(sim, created, b"print(1)", "run.py")
    assert api(sim, "POST", "/v2/job/add", json=body)["code"] == 0
    files = api(sim, "GET", f"/v1/job/{created['jobId']}")["data"]["jobFiles"]["inputFiles"]
    assert [f["name"] for f in files] == ["run.py"]
    assert requests.get(files[0]["url"], timeout=T).content == b"print(1)"


def test_storage_tokens_are_scoped(sim: BohriumSimulator) -> None:
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "x"})["data"]
    url = f"{sim.base_url}/api/upload/binary"
    wrong = requests.post(
        url,
        data=b"x",
        timeout=T,
        headers={
            "Authorization": "Bearer wrong",
            storage_param.HEADER: storage_param.encode(
                {"path": f"{created['storePath']}input/a.zip"}
            ),
        },
    )
    assert wrong.status_code == 401
    outside = requests.post(
        url,
        data=b"x",
        timeout=T,
        headers={
            "Authorization": f"Bearer {created['token']}",
            storage_param.HEADER: storage_param.encode({"path": "jobs/other/input/a.zip"}),
        },
    )
    assert outside.status_code == 403
    _header, claims, _signature = created["token"].split(".")  # a JWT, as lbg decodes it
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert {"appKey", "tag"} <= set(payload)


def test_multipart_reassembles_in_order_and_checks_receipts(sim: BohriumSimulator) -> None:
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "x"})["data"]
    token = {"Authorization": f"Bearer {created['token']}"}
    key = f"{created['storePath']}input/big.zip"
    data = zip_bytes({"big.bin": bytes(range(256)) * 4000})
    init = requests.post(
        f"{sim.base_url}/api/upload/multipart/init", json={"path": key}, headers=token, timeout=T
    ).json()["data"]["initialKey"]
    chunks = [data[i : i + 300_000] for i in range(0, len(data), 300_000)]
    receipts = {}
    for number in reversed(range(1, len(chunks) + 1)):  # any order
        param = {
            "initialKey": init,
            "number": number,
            "partSize": len(chunks[number - 1]),
            "objectKey": key,
        }
        answer = requests.post(
            f"{sim.base_url}/api/upload/multipart/upload",
            data=chunks[number - 1],
            timeout=T,
            headers={**token, storage_param.HEADER: storage_param.encode(param)},
        )
        receipts[number] = answer.json()["data"]["partString"]
    ordered = [receipts[n] for n in sorted(receipts)]
    complete = f"{sim.base_url}/api/upload/multipart/complete"
    wrong = requests.post(
        complete,
        headers=token,
        timeout=T,
        json={"path": key, "initialKey": init, "partString": ordered[::-1]},
    )
    assert wrong.json()["code"] != 0
    done = requests.post(
        complete,
        headers=token,
        timeout=T,
        json={"path": key, "initialKey": init, "partString": ordered},
    )
    assert done.json()["data"] == {"path": key, "size": len(data), "parts": len(chunks)}
    assert sim.objects[key]["verified"] is True


def test_terminate_kill_delete(sim: BohriumSimulator) -> None:
    running, pending, doomed = submit(sim), submit(sim), submit(sim)
    sim.advance(pending, "pending", hold=True)
    refused = api(sim, "POST", f"/v1/job/terminate/{pending}")
    assert refused["code"] == 140409 and "pending" in refused["message"]
    assert api(sim, "POST", f"/v1/job/terminate/{running}")["code"] == 0
    assert api(sim, "GET", f"/v1/job/{running}")["data"]["status"] == 6
    assert api(sim, "POST", f"/v1/job/kill/{doomed}")["code"] == 0
    time.sleep(0.15)
    terminated = api(sim, "GET", f"/v1/job/{running}")["data"]
    killed = api(sim, "GET", f"/v1/job/{doomed}")["data"]
    assert (terminated["status"], bool(terminated["resultUrl"])) == (2, True)
    assert (killed["status"], killed["resultUrl"]) == (-1, "")
    assert api(sim, "POST", f"/v1/job/kill/{doomed}")["code"] == 140409
    assert api(sim, "POST", f"/v1/job/del/{doomed}")["code"] == 0
    assert api(sim, "GET", f"/v1/job/{doomed}")["code"] == 140404
    other = {"Authorization": f"Bearer {OTHER_ACCESS_KEY}"}
    assert api(sim, "GET", f"/v1/job/{running}", headers=other)["code"] == 290007


def test_groups_list_filters_and_group_terminate(sim: BohriumSimulator) -> None:
    group = api(sim, "POST", "/v1/job_group/add", json={"name": "exp-a", "projectId": 154})
    gid = group["data"]["groupId"]
    created = api(
        sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "g", "bohrGroupId": gid}
    )["data"]
    assert created["jobGroupId"] == gid
    today = time.strftime("%Y-%m-%d", time.gmtime())
    listed = api(sim, "GET", "/v1/job/groups", params={"startTime": today, "searchKey": "EXP"})
    assert [g["id"] for g in listed["data"]["items"]] == [gid]
    assert listed["data"]["items"][0]["jobName"] == "exp-a"  # lbg's field names
    by_program = api(sim, "GET", "/v1/job/groups", params={"program_id": 154, "page": 0})
    assert [g["id"] for g in by_program["data"]["items"]] == [gid]  # page 0 reads as 1
    assert api(sim, "GET", "/v1/job/groups", params={"page": 2})["data"]["items"] == []
    assert api(sim, "GET", "/v1/job/groups", params={"projectId": 154})["code"] == 140400
    assert (
        api(sim, "GET", "/v1/job/groups", params={"endTime": "2000-01-01"})["data"]["items"] == []
    )
    running, waiting = submit(sim), submit(sim)
    for job_id in (running, waiting):
        sim.jobs[job_id].group_id = gid
    sim.advance(waiting, "pending", hold=True)
    assert api(sim, "POST", f"/v1/job/terminate/group/{gid}")["code"] == 0
    time.sleep(0.15)
    assert api(sim, "GET", f"/v1/job/{running}")["data"]["status"] == 2
    assert api(sim, "GET", f"/v1/job/{waiting}")["data"]["status"] == 5
    assert api(sim, "POST", f"/v1/job_group/{gid}/modify", json={"name": "b"})["code"] == 0
    assert api(sim, "POST", f"/v1/job/group/del/{gid}")["code"] == 0
    assert api(sim, "GET", f"/v1/job/{running}")["code"] == 140404


def test_list_pages_and_seed(sim: BohriumSimulator) -> None:
    sim.seed(250)
    first = api(sim, "GET", "/v1/job/list", params={"page": 1, "pageSize": 500})["data"]
    assert (first["total"], first["pageSize"], first["totalPage"], len(first["items"])) == (
        250,
        100,
        3,
        100,
    )
    last = api(sim, "GET", "/v1/job/list", params={"page": 3, "pageSize": 100})["data"]
    assert len(last["items"]) == 50
    assert first["items"][0]["id"] > last["items"][-1]["id"]  # newest first
    finished = api(sim, "GET", "/v1/job/list", params={"status": 2, "pageSize": 1})["data"]
    assert finished["total"] == 250
    everything = api(sim, "GET", "/v1/job/list", params={"groupId": -1})["data"]  # lbg: all
    assert everything["total"] == 250
    assert api(sim, "GET", "/v1/job/list", params={"projectId": 155})["code"] == 290007


def test_injected_faults(sim: BohriumSimulator) -> None:
    url = f"{sim.base_url}/openapi/v1/ak/get"
    sim.inject("error", "GET", "/openapi/v1/ak/get", code=148888, message="rpc error")
    assert requests.get(url, headers=AUTH, timeout=T).json()["code"] == 148888
    sim.inject("429", "GET", "/openapi/v1/ak/get", retry_after=3)
    limited = requests.get(url, headers=AUTH, timeout=T)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    sim.inject("drop", "*", "/openapi/v1/ak/get", skip=1)
    assert requests.get(url, headers=AUTH, timeout=T).ok
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=AUTH, timeout=T)
    assert requests.get(url, headers=AUTH, timeout=T).ok
    control = requests.post(
        f"{sim.base_url}/_sim/inject", timeout=T, json={"kind": "nope", "path": "/x"}
    )
    assert control.status_code == 400
    events = sim.stats()["events"]
    assert events["injected_error"] == events["injected_429"] == events["injected_drop"] == 1


def test_sink_takes_bodies_larger_than_the_base_limit(sim: BohriumSimulator) -> None:
    body = b"\0" * (20 * 1024 * 1024)
    answer = requests.put(f"{sim.base_url}/_sim/sink", data=body, timeout=30)
    assert answer.json() == {"size": len(body)}


def test_cli_prints_the_base_url_first(tmp_path: Any) -> None:
    command = [
        sys.executable,
        "-m",
        "hpcskills.sim",
        "bohrium",
        "--port",
        "0",
        "--scenario",
        "fast",
        "--state-dir",
        str(tmp_path),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        info = json.loads(process.stdout.readline())
        assert info["projects"] == [154] and info["scenario"]["running"] == 1.5
        assert (
            requests.get(f"{base_url}/openapi/v1/ak/get", headers=AUTH, timeout=T).json()["code"]
            == 0
        )
    finally:
        process.terminate()
        assert process.wait(timeout=T) == 0


def test_detail_types_and_files_as_the_sdk_struct_has_them(sim: BohriumSimulator) -> None:
    sim.configure(running=0.0)
    job_id = submit(sim, outFiles=["out/"])
    job = api(sim, "GET", f"/v1/job/{job_id}")["data"]
    assert isinstance(job["bohrId"], int) and job["bohrId"] != job_id
    assert isinstance(job["cost"], str) and isinstance(job["spendTime"], int)
    for kind in ("logFiles", "inputFiles", "outFiles"):
        entry = job["jobFiles"][kind][0]
        assert {"name", "url", "updateTime", "size", "sizeH"} <= set(entry), kind
    log_url = job["jobFiles"]["logFiles"][0]["url"]
    assert "finished" in requests.get(log_url, timeout=T).text
    out = job["jobFiles"]["outFiles"]
    assert [(f["name"], f["url"]) for f in out] == [("out.zip", job["resultUrl"])]
    assert out[0]["size"] == len(requests.get(job["resultUrl"], timeout=T).content)
    answer = api(sim, "GET", f"/v1/job/{job_id}/log")["data"]
    assert set(answer) == {"log", "page", "pageSize", "total"}  # no invented logFiles here


def test_tiefblue_object_operations(sim: BohriumSimulator) -> None:
    created = api(sim, "POST", "/v1/job/create", json={"projectId": 154, "name": "x"})["data"]
    key = upload(sim, created, b"hello", "a.txt")
    token = {"Authorization": f"Bearer {created['token']}"}
    meta = requests.get(f"{sim.base_url}/api/meta/{key}", headers=token, timeout=T).json()
    assert meta["data"]["size"] == 5
    moved = requests.get(
        f"{sim.base_url}/api/download/{key}", headers=token, timeout=T, allow_redirects=False
    )
    assert moved.status_code == 302
    assert requests.get(moved.headers["Location"], timeout=T).content == b"hello"
    assert requests.get(f"{sim.base_url}/api/meta/{key}", timeout=T).status_code == 401
    gone = requests.delete(f"{sim.base_url}/api/delete/{key}", headers=token, timeout=T)
    assert gone.json()["code"] == 0 and key not in sim.objects
    after = requests.get(f"{sim.base_url}/api/meta/{key}", headers=token, timeout=T)
    assert after.status_code == 404


def test_state_changing_requests_are_logged_in_order_and_reads_are_not(
    sim: BohriumSimulator,
) -> None:
    """The log the bad-input fuzz test compares: every non-GET request, no GET, no control."""
    before = sim.state_changing_requests()
    requests.get(f"{sim.base_url}/openapi/v1/ak/get", headers=AUTH, timeout=T)
    requests.get(f"{sim.base_url}/_sim/stats", timeout=T)
    assert sim.state_changing_requests() == before
    job_id = submit(sim)
    assert job_id
    new = sim.state_changing_requests()[len(before):]
    assert new == ["POST /openapi/v1/job/create", "POST /api/upload/binary",
                   "POST /openapi/v2/job/add"], new
    assert all(not entry.startswith("GET ") for entry in new)
