"""The Bohrium simulator judged by the platform's own SDKs (bohrium-sdk 0.15.0 and
bohrium-open-sdk 1.0.5, test extras only): every job, job-group, access-key/user and
tiefblue operation they support, asserting what they read back. Their bugs are worked
around here only, each with a comment (facts/bohrium-clients.md §7)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcskills.sim.bohrium import DEMO_ACCESS_KEY, DEMO_PROJECT, BohriumSimulator, Scenario

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # httpx 0.27, in the SDKs
bohrium = pytest.importorskip("bohrium")
open_sdk = pytest.importorskip("bohrium_open_sdk")

SHAPES = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "bohrium" / "shapes.json").read_text()
)["operations"]
IMAGE = "registry.dp.tech/dptech/ubuntu:20.04-py3.10"


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def has_path(data: Any, dotted: str) -> bool:
    """Whether `data` holds `a.b[].c` (every entry of a list holds the rest; lists non-empty)."""
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        items = data.get(head[:-2]) if isinstance(data, dict) else None
        return bool(items) and all(has_path(item, rest) for item in items)
    if not isinstance(data, dict) or head not in data:
        return False
    return has_path(data[head], rest) if rest else True


def reads_ok(operation: str, data: Any) -> None:
    """The answer carries every field real clients read, and none of the invented ones."""
    shape = SHAPES[operation]
    missing = [field for field in shape.get("reads", []) if not has_path(data, field)]
    assert not missing, f"{operation}: missing {missing}"
    invented = [field for field in shape.get("absent", []) if field in data]
    assert not invented, f"{operation}: carries {invented}"
    for field, kind in shape.get("types", {}).items():
        assert type(data[field]).__name__ == kind, f"{operation}: {field} is not {kind}"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[BohriumSimulator]:
    simulator = BohriumSimulator(scenario=Scenario(0.0, 0.0, 3600.0, 0.0), log=None)
    simulator.start()
    # both SDKs build their storage client from this variable, not from their constructor
    monkeypatch.setenv("TIEFBLUE_BASE_URL", simulator.base_url)
    yield simulator
    simulator.stop()


@pytest.fixture
def sdk(sim: BohriumSimulator) -> Any:
    return bohrium.Bohrium(access_key=DEMO_ACCESS_KEY, base_url=sim.base_url)


@pytest.fixture
def osdk(sim: BohriumSimulator) -> Any:
    return open_sdk.OpenSDK(
        access_key=DEMO_ACCESS_KEY, base_url=sim.base_url, tiefblue_base_url=sim.base_url
    )


# -- bohrium-sdk 0.15.0 ----------------------------------------------------------------------


def test_bohrium_sdk_submits_a_zip_and_reads_the_job(sdk: Any, sim: BohriumSimulator,
                                                    tmp_path: Path) -> None:
    from bohrium.resources.tiefblue.tiefblue import Tiefblue

    group = sdk.job.create_job_group(DEMO_PROJECT, "sdk-group")
    reads_ok("v1/job_group/add", group)
    created = sdk.job.create(DEMO_PROJECT, "sdk-zip", group["groupId"])
    reads_ok("v1/job/create", created)
    assert created["jobGroupId"] == group["groupId"]
    token, store = created["token"], created["storePath"]
    # Job.upload never passes the token (SDK bug): call its Tiefblue client with it
    key = f"{store}input/in.zip"
    written = Tiefblue(base_url=sim.base_url).write(key, zip_of({"run.py": b"print(1)"}),
                                                     token=token)
    assert written.json()["code"] == 0
    from bohrium.types.job.job import JobAddRequest

    request = JobAddRequest(
        job_type="container", oss_path=key, job_group_id=group["groupId"],
        project_id=DEMO_PROJECT, job_name="sdk-zip", image_name=IMAGE, scass_type="c2_m4_cpu",
        cmd="python run.py", job_id=created["jobId"], input_file_type=3, input_file_method=1,
        out_files=["out/"], download_path=str(tmp_path / "x_temp.zip"),
    )
    # Job.submit raises TypeError at insert() (SDK bug): insert takes keyword arguments
    added = sdk.job.insert(**request.to_dict())
    reads_ok("v2/job/add", added)
    assert added["jobId"] == created["jobId"]

    sim.advance(created["jobId"], "finished")
    detail = sdk.job.detail(created["jobId"])
    reads_ok("v1/job/{id}", detail)
    assert detail["jobGroupId"] == group["groupId"] and detail["status"] == 2
    assert "finished" in sdk.job.log(created["jobId"])
    target = tmp_path / "out.zip"
    sdk.job.download(created["jobId"], str(target))
    assert zipfile.ZipFile(target).testzip() is None


def test_bohrium_sdk_per_file_submit_with_its_defaults(sdk: Any, sim: BohriumSimulator) -> None:
    """jobType "" and inputFileType 2 / inputFileMethod 4 with ossPath [storePath]."""
    from bohrium.resources.tiefblue.tiefblue import Tiefblue
    from bohrium.types.job.job import JobAddRequest

    created = sdk.job.create_job(DEMO_PROJECT, "per-file")
    reads_ok("v1/job/create", created)
    tiefblue = Tiefblue(base_url=sim.base_url)
    for name, data in (("run.py", b"print(2)"), ("sub/data.txt", b"42")):
        # uploadr's keys: storePath + path relative to the work dir
        assert tiefblue.write(created["storePath"] + name, data, token=created["token"]).json()[
            "code"
        ] == 0
    request = JobAddRequest(
        oss_path=created["storePath"], project_id=DEMO_PROJECT, job_name="per-file",
        image_name=IMAGE, scass_type="c2_m4_cpu", cmd="python run.py", job_id=created["jobId"],
    )
    added = sdk.job.insert(**request.to_dict())
    assert added == {"jobId": created["jobId"], "jobGroupId": created["jobGroupId"]}
    inputs = sdk.job.detail(created["jobId"])["jobFiles"]["inputFiles"]
    assert sorted(f["name"] for f in inputs) == ["data.txt", "run.py"]


def test_bohrium_sdk_multipart_upload(sdk: Any, sim: BohriumSimulator) -> None:
    """The SDK's multipart calls (it uses them from 100 MiB; small parts here)."""
    from bohrium.resources.tiefblue.tiefblue import Tiefblue

    created = sdk.job.create_job(DEMO_PROJECT, "multipart")
    token, key = created["token"], created["storePath"] + "input/big.zip"
    data = zip_of({"big.bin": bytes(range(256)) * 2000})
    tiefblue = Tiefblue(base_url=sim.base_url)
    initial = tiefblue.init_upload_by_part(key, token=token).json()["data"]["initialKey"]
    size = 200_000
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    receipts = [
        tiefblue.upload_by_part(key, initial, len(part), number, part, token=token).json()[
            "data"
        ]["partString"]
        for number, part in enumerate(parts, start=1)
    ]
    done = tiefblue.complete_upload_by_part(key, initial, receipts, token).json()
    assert done["code"] == 0 and sim.objects[key]["verified"] is True


def test_bohrium_sdk_stops_jobs(sdk: Any, sim: BohriumSimulator) -> None:
    ids = []
    for name in ("t", "k", "d"):
        created = sdk.job.create_job(DEMO_PROJECT, name)
        key = created["storePath"] + "input/in.zip"
        from bohrium.resources.tiefblue.tiefblue import Tiefblue

        Tiefblue(base_url=sim.base_url).write(key, zip_of({"a": b"b"}), token=created["token"])
        sdk.job.insert(
            jobId=created["jobId"], projectId=DEMO_PROJECT, jobType="container", ossPath=key,
            inputFileType=3, inputFileMethod=1, imageName=IMAGE, scassType="c2_m4_cpu",
            cmd="python a.py",
        )
        sim.advance(created["jobId"], "running")
        ids.append(created["jobId"])
    terminated, killed, deleted = ids
    sdk.job.terminate(terminated)
    sdk.job.kill(killed)
    sdk.job.delete(deleted)
    assert sim.jobs[terminated].stop[0] == "terminate"  # type: ignore[index]
    assert sim.jobs[killed].stop[0] == "kill"  # type: ignore[index]
    assert deleted not in sim.jobs


def test_a_bad_key_is_http_401(sim: BohriumSimulator) -> None:
    bad = bohrium.Bohrium(access_key="not-a-key", base_url=sim.base_url)
    answer = bad.get("/openapi/v1/ak/get")
    assert answer.status_code == 401 and answer.json()["code"] == 2000


def test_who_am_i(sdk: Any, osdk: Any) -> None:
    reads_ok("v1/ak/get", sdk.get("/openapi/v1/ak/get").json()["data"])
    info = osdk.user.get_info()
    assert info["code"] == 0 and info["data"]["userId"] == 10001


# -- bohrium-open-sdk 1.0.5 ------------------------------------------------------------------


def test_open_sdk_submit_list_detail_log_download(osdk: Any, sim: BohriumSimulator,
                                                  tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "run.py").write_text("print(3)\n")
    (work / "sub" / "in.dat").write_text("1 2 3\n")
    group = osdk.job.create_job_group(DEMO_PROJECT, "open-group")
    assert group["code"] == 0
    reads_ok("v1/job_group/add", group["data"])
    # the SDK's own high-level submit: create → per-file upload_dir → v2 add (jobType "")
    added = osdk.job.submit(
        project_id=DEMO_PROJECT, job_name="open-submit", machine_type="c2_m4_cpu",
        cmd="python run.py", image_address=IMAGE, job_group_id=group["data"]["groupId"],
        work_dir=work,
    )
    assert added["code"] == 0
    reads_ok("v2/job/add", added["data"])
    job_id = added["data"]["jobId"]
    inputs = sim.job_object(sim.jobs[job_id])["jobFiles"]["inputFiles"]
    assert sorted(f["name"] for f in inputs) == ["in.dat", "run.py"]

    listed = osdk.job.list(page=1, page_size=20)
    assert listed["code"] == 0 and [j["id"] for j in listed["data"]["items"]] == [job_id]
    reads_ok("v1/job/list", listed["data"])
    in_group = osdk.job.list(group_id=group["data"]["groupId"])
    assert [j["id"] for j in in_group["data"]["items"]] == [job_id]

    sim.advance(job_id, "finished")
    detail = osdk.job.detail(job_id)
    reads_ok("v1/job/{id}", detail["data"])
    log = osdk.job.log(job_id)
    reads_ok("v1/job/{id}/log", log["data"])
    assert "finished" in log["data"]["log"]
    assert osdk.job.download(job_id, tmp_path / "res" / "out.zip") is True
    assert zipfile.ZipFile(tmp_path / "res" / "out.zip").testzip() is None


def test_open_sdk_stops_jobs(osdk: Any, sim: BohriumSimulator, tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "a.py").write_text("pass\n")
    ids = []
    for name in ("t", "k", "d"):
        added = osdk.job.submit(project_id=DEMO_PROJECT, job_name=name,
                                machine_type="c2_m4_cpu", cmd="python a.py",
                                image_address=IMAGE, work_dir=work)
        ids.append(added["data"]["jobId"])
        sim.advance(ids[-1], "running")
    assert osdk.job.terminate(ids[0])["code"] == 0
    assert osdk.job.kill(ids[1])["code"] == 0
    assert osdk.job.delete(ids[2])["code"] == 0
    assert [sim.jobs[i].stop[0] for i in ids[:2]] == ["terminate", "kill"]  # type: ignore[index]
    assert ids[2] not in sim.jobs


def test_open_sdk_tiefblue_object_operations(osdk: Any, sim: BohriumSimulator) -> None:
    from bohrium_open_sdk.opensdk._tiefblue_client import Tiefblue

    created = osdk.job.create_job(DEMO_PROJECT, "objects")
    key = created["storePath"] + "notes.txt"
    auth = {"Authorization": f"Bearer {created['token']}"}
    tiefblue = Tiefblue(base_url=sim.base_url)
    written = tiefblue.upload_from_byte_multi_part(
        object_key=key, file_name="notes.txt", file_stream=io.BytesIO(b"hello"),
        custom_headers=dict(auth),
    )
    assert written["code"] == 0
    assert tiefblue.meta(key, headers=dict(auth))["data"]["size"] == 5
    url = tiefblue.get_download_url(key, headers=dict(auth))
    import requests

    assert requests.get(url, timeout=5).content == b"hello"
    assert tiefblue.delete_file(key, headers=dict(auth))["code"] == 0
    assert key not in sim.objects
