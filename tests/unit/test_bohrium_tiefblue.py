"""Tiefblue uploads against `responses`: binary below the threshold, streamed parts above."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import responses

from hpcskills.bohrium import storage_param
from hpcskills.bohrium.packing import FileSlice, GrowingFile
from hpcskills.bohrium.tiefblue import TiefblueUploader
from hpcskills.core.errors import RemoteError

HOST = "https://tiefblue.example.test"
TOKEN = "storage-token-abcdef"


def ok(data: object) -> dict:
    return {"code": 0, "data": data}


def finished_file(path: Path, data: bytes) -> GrowingFile:
    source = GrowingFile(path)
    source.write(data)
    source.finish()
    return source


def body_of(request: object) -> bytes:
    """The request body, whether `responses` hands over the stream or its bytes."""
    body = request.body  # type: ignore[attr-defined]
    return body.read() if isinstance(body, FileSlice) else bytes(body or b"")


def uploader(**kwargs: object) -> TiefblueUploader:
    return TiefblueUploader(HOST, TOKEN, sleep=lambda _s: None, **kwargs)  # type: ignore[arg-type]


@responses.activate
def test_small_files_go_in_one_binary_request(tmp_path: Path) -> None:
    seen: list[bytes] = []

    def answer(request):
        seen.append(body_of(request))
        return 200, {}, json.dumps(ok({}))

    responses.add_callback(responses.POST, f"{HOST}/api/upload/binary", callback=answer)
    source = finished_file(tmp_path / "a.zip", b"zipdata" * 10)
    result = uploader(threshold=1024).upload("store/input/a.zip", source)
    assert (result.method, result.bytes, result.parts) == ("binary", 70, 1)
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    param = storage_param.decode(request.headers[storage_param.HEADER])
    assert param["path"] == "store/input/a.zip"
    assert request.headers["Content-Length"] == "70"
    assert seen == [b"zipdata" * 10]


@responses.activate
def test_large_files_go_in_parts_with_receipts_in_order(tmp_path: Path) -> None:
    parts: dict[int, bytes] = {}

    def part(request):
        param = storage_param.decode(request.headers[storage_param.HEADER])
        data = body_of(request)
        assert param["partSize"] == len(data) and param["initialKey"] == "init-1"
        parts[param["number"]] = data
        return 200, {}, json.dumps(ok({"partString": f"r{param['number']}"}))

    responses.post(f"{HOST}/api/upload/multipart/init", json=ok({"initialKey": "init-1"}))
    responses.add_callback(responses.POST, f"{HOST}/api/upload/multipart/upload", callback=part)
    responses.post(f"{HOST}/api/upload/multipart/complete", json=ok({}))
    data = bytes(range(256)) * 10  # 2560 bytes
    source = finished_file(tmp_path / "a.zip", data)
    result = uploader(part_size=1000, threshold=2000).upload("k", source)
    assert (result.method, result.parts) == ("multipart", 3)
    assert b"".join(parts[n] for n in sorted(parts)) == data
    complete = json.loads(responses.calls[-1].request.body)
    assert complete == {"path": "k", "initialKey": "init-1", "partString": ["r1", "r2", "r3"]}


@responses.activate
def test_a_failed_part_is_sent_again(tmp_path: Path) -> None:
    responses.post(f"{HOST}/api/upload/multipart/init", json=ok({"initialKey": "i"}))
    url = f"{HOST}/api/upload/multipart/upload"
    responses.post(url, status=503)
    responses.post(url, json=ok({"partString": "p"}))
    responses.post(f"{HOST}/api/upload/multipart/complete", json=ok({}))
    source = finished_file(tmp_path / "a.zip", b"x" * 500)
    result = uploader(part_size=1000, threshold=100).upload("k", source)
    assert result.parts == 1
    assert [c.request.url.rsplit("/", 1)[-1] for c in responses.calls] == [
        "init",
        "upload",
        "upload",
        "complete",
    ]


@responses.activate
def test_parts_leave_while_the_file_still_grows(tmp_path: Path) -> None:
    responses.post(f"{HOST}/api/upload/multipart/init", json=ok({"initialKey": "i"}))
    first_part_sent = threading.Event()

    def part(request):
        first_part_sent.set()
        return 200, {}, json.dumps(ok({"partString": "p"}))

    responses.add_callback(responses.POST, f"{HOST}/api/upload/multipart/upload", callback=part)
    responses.post(f"{HOST}/api/upload/multipart/complete", json=ok({}))
    source = GrowingFile(tmp_path / "a.zip")

    def writer() -> None:
        source.write(b"a" * 1000)
        assert first_part_sent.wait(5), "part 1 did not leave before the file was complete"
        source.write(b"b" * 10)
        source.finish()

    thread = threading.Thread(target=writer)
    thread.start()
    result = uploader(part_size=1000, threshold=4000).upload("k", source, expected=5000)
    thread.join()
    assert (result.method, result.parts, result.bytes) == ("multipart", 2, 1010)


@responses.activate
def test_zip_failures_and_bad_receipts_surface(tmp_path: Path) -> None:
    responses.post(f"{HOST}/api/upload/multipart/init", json=ok({"initialKey": "i"}))
    responses.post(f"{HOST}/api/upload/multipart/upload", json=ok({}))
    source = finished_file(tmp_path / "a.zip", b"x" * 10)
    with pytest.raises(RemoteError, match="receipt"):
        uploader(part_size=1000, threshold=5).upload("k", source)
    broken = GrowingFile(tmp_path / "b.zip")
    broken.finish(RemoteError("disk gone"))
    with pytest.raises(RemoteError, match="disk gone"):
        uploader().upload("k", broken)


def test_plain_http_is_refused_off_loopback() -> None:
    from hpcskills.core.errors import BadInput

    with pytest.raises(BadInput):
        TiefblueUploader("http://tiefblue.example.test", TOKEN)
