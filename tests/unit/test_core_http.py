"""HTTP session: timeouts always, TLS verified, retries with backoff only for reads."""

from __future__ import annotations

import pytest
import requests
import responses

from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.http import (
    DEFAULT_TIMEOUT,
    HttpSession,
    backoff_delays,
    check_header_value,
)
from hpcskills.core.urls import check_base_url, is_loopback

BASE = "https://api.example.test"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def session(slept: list[float]) -> HttpSession:
    return HttpSession(BASE, retries=3, service="the test API", sleep=slept.append)


@responses.activate
def test_every_call_has_a_timeout_and_verifies_tls(session: HttpSession) -> None:
    responses.get(f"{BASE}/a", body="ok")
    responses.post(f"{BASE}/b", body="ok")
    session.request("GET", "/a")
    session.request("POST", "/b", json={}, timeout=(1.0, 2.0))
    first, second = (call.request.req_kwargs for call in responses.calls)
    assert first["timeout"] == DEFAULT_TIMEOUT
    assert second["timeout"] == (1.0, 2.0)
    assert first["verify"] is True and second["verify"] is True


@responses.activate
def test_verify_cannot_be_switched_off(session: HttpSession) -> None:
    responses.get(f"{BASE}/a", body="ok")
    with pytest.raises(TypeError):
        session.request("GET", "/a", verify=False)
    assert session.session.trust_env is False


@responses.activate
def test_get_is_retried_with_backoff_on_503(session: HttpSession, slept: list[float]) -> None:
    responses.get(f"{BASE}/a", status=503)
    responses.get(f"{BASE}/a", status=503)
    responses.get(f"{BASE}/a", body="finally")
    response = session.request("GET", "/a")
    assert response.text == "finally"
    assert len(responses.calls) == 3
    assert slept == [0.5, 1.0]


@responses.activate
def test_get_gives_up_after_the_retries_and_returns_the_last_answer(
    session: HttpSession, slept: list[float]
) -> None:
    responses.get(f"{BASE}/a", status=503)
    response = session.request("GET", "/a")
    assert response.status_code == 503
    assert len(responses.calls) == 4
    assert slept == [0.5, 1.0, 2.0]


@responses.activate
def test_retry_after_is_honoured_but_capped(session: HttpSession, slept: list[float]) -> None:
    responses.get(f"{BASE}/a", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/a", status=503, headers={"Retry-After": "999"})
    responses.get(f"{BASE}/a", body="ok")
    assert session.request("GET", "/a").ok
    assert slept == [7.0, 30.0]


@responses.activate
def test_get_is_retried_on_connection_errors(session: HttpSession, slept: list[float]) -> None:
    responses.get(f"{BASE}/a", body=requests.ConnectionError("Connection refused"))
    responses.get(f"{BASE}/a", body="ok")
    assert session.request("GET", "/a").text == "ok"
    assert len(responses.calls) == 2
    assert slept == [0.5]


@responses.activate
def test_persistent_connection_failure_is_a_clear_retryable_error(
    session: HttpSession, slept: list[float]
) -> None:
    responses.get(f"{BASE}/a", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(RemoteError) as caught:
        session.request("GET", "/a")
    error = caught.value
    assert error.type == "connection_failed"
    assert error.retryable is True
    assert error.exit_code == 5
    assert BASE in error.message and "the test API" in error.message
    assert len(responses.calls) == 4


@responses.activate
def test_timeout_is_a_clear_error(session: HttpSession) -> None:
    responses.get(f"{BASE}/a", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(RemoteError) as caught:
        session.request("GET", "/a")
    assert caught.value.type == "timeout"
    assert caught.value.retryable is True


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
@responses.activate
def test_writes_are_never_retried_on_503(
    session: HttpSession, slept: list[float], method: str
) -> None:
    responses.add(method, f"{BASE}/w", status=503)
    response = session.request(method, "/w", json={})
    assert response.status_code == 503
    assert len(responses.calls) == 1
    assert slept == []


@pytest.mark.parametrize(
    ("exc", "error_type"),
    [(requests.ConnectionError("reset"), "connection_failed"),
     (requests.ReadTimeout("slow"), "timeout")],
)
@responses.activate
def test_writes_are_never_retried_on_transport_errors(
    session: HttpSession, slept: list[float], exc: Exception, error_type: str
) -> None:
    responses.post(f"{BASE}/w", body=exc)
    with pytest.raises(RemoteError) as caught:
        session.request("POST", "/w", json={})
    assert caught.value.type == error_type
    assert len(responses.calls) == 1
    assert slept == []


@responses.activate
def test_a_read_can_opt_out_of_retries(session: HttpSession, slept: list[float]) -> None:
    responses.get(f"{BASE}/a", status=503)
    assert session.request("GET", "/a", retry=False).status_code == 503
    assert len(responses.calls) == 1


@responses.activate
def test_error_statuses_other_than_transient_are_returned_at_once(
    session: HttpSession, slept: list[float]
) -> None:
    responses.get(f"{BASE}/a", status=500)
    assert session.request("GET", "/a").status_code == 500
    assert len(responses.calls) == 1


def test_connection_failure_for_real(slept: list[float]) -> None:
    """Nothing listens on port 9 of loopback: a real ConnectionError, reported cleanly."""
    session = HttpSession("http://127.0.0.1:9", retries=1, sleep=slept.append,
                          timeout=(2.0, 2.0))
    with pytest.raises(RemoteError) as caught:
        session.request("GET", "/x")
    assert caught.value.type == "connection_failed"
    assert "Traceback" not in caught.value.message
    assert slept == [0.5]


@pytest.mark.parametrize(
    "url",
    ["https://api.hpc.sjtu.edu.cn", "https://api.hpc.sjtu.edu.cn/", "http://127.0.0.1:8080",
     "http://localhost:1", "http://[::1]:5000/", "http://127.0.0.2"],
)
def test_accepted_base_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://api.hpc.sjtu.edu.cn", "http://10.0.0.1", "ftp://127.0.0.1", "https://",
     "api.hpc.sjtu.edu.cn", "", "http://localhost.evil.example"],
)
def test_refused_base_urls(url: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_base_url(url)
    assert caught.value.type == "insecure_url"


def test_session_refuses_plain_http_to_remote_hosts() -> None:
    with pytest.raises(BadInput):
        HttpSession("http://api.hpc.sjtu.edu.cn")


def test_helpers() -> None:
    assert is_loopback("localhost") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert not is_loopback("example.org") and not is_loopback("10.1.1.1")
    assert backoff_delays(6) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delays(0) == []


@responses.activate
def test_relative_and_absolute_paths(session: HttpSession) -> None:
    assert session.url("/x") == f"{BASE}/x"
    assert session.url("https://other.test/y") == "https://other.test/y"
    responses.get(f"{BASE}/x", body="ok")
    assert "hpc-skills/" in session.request("GET", "/x").request.headers["User-Agent"]


def _dropped_mid_answer() -> Exception:
    """What requests raises when the peer closes the connection inside a chunked body."""
    from urllib3.exceptions import ProtocolError

    return requests.exceptions.ChunkedEncodingError(
        ProtocolError("Response ended prematurely")
    )


def _aborted_after_send() -> Exception:
    """What requests raises when the peer closes the connection before any status line."""
    from http.client import RemoteDisconnected

    from urllib3.exceptions import ProtocolError

    reason = RemoteDisconnected("Remote end closed connection without response")
    return requests.ConnectionError(ProtocolError("Connection aborted.", reason))


@pytest.mark.parametrize("make", [_dropped_mid_answer, _aborted_after_send])
@responses.activate
def test_a_read_dropped_mid_answer_is_retried(
    session: HttpSession, slept: list[float], make
) -> None:
    responses.get(f"{BASE}/list", body=make())
    responses.get(f"{BASE}/list", body="ok")
    assert session.request("GET", "/list").text == "ok"
    assert len(responses.calls) == 2 and slept == [0.5]


@responses.activate
def test_a_read_that_keeps_dropping_is_a_retryable_typed_error(
    session: HttpSession, slept: list[float]
) -> None:
    responses.get(f"{BASE}/list", body=_dropped_mid_answer())
    with pytest.raises(RemoteError) as caught:
        session.request("GET", "/list")
    assert caught.value.type == "connection_dropped" and caught.value.retryable is True
    assert caught.value.exit_code == 5
    assert len(responses.calls) == 4


@pytest.mark.parametrize("make", [_dropped_mid_answer, _aborted_after_send])
@responses.activate
def test_a_write_dropped_after_sending_has_an_unknown_outcome(
    session: HttpSession, slept: list[float], make
) -> None:
    responses.post(f"{BASE}/add", body=make())
    with pytest.raises(RemoteError) as caught:
        session.request("POST", "/add", json={})
    error = caught.value
    assert error.type == "outcome_unknown" and error.retryable is True
    assert error.exit_code == 5
    assert error.message.startswith("outcome unknown")
    assert "run the same command again" in (error.hint or "")
    assert len(responses.calls) == 1 and slept == []  # never re-sent


@pytest.mark.parametrize(
    "value", ["abc\rX: 1", "abc\r\ndef-more", "tok\x00en", "令牌令牌", "bad\x1b[31mtoken"]
)
@responses.activate
def test_a_header_value_that_cannot_be_sent_is_a_corrupt_credential(
    session: HttpSession, value: str
) -> None:
    responses.get(f"{BASE}/a", body="ok")
    with pytest.raises(AuthRequired) as caught:
        session.request("GET", "/a", headers={"Authorization": f"Bearer {value}"})
    error = caught.value
    assert error.type == "credential_corrupt" and error.exit_code == 4
    assert "Authorization" in error.message
    text = repr(error.to_dict())
    for part in value.replace("\r", "\n").split("\n"):
        assert len(part) < 4 or part not in text
    assert len(responses.calls) == 0  # nothing sent


def test_header_safety_is_a_pure_check() -> None:
    assert check_header_value("Bearer abc.DEF-123_~+/=", "X") == "Bearer abc.DEF-123_~+/="
    assert check_header_value("latin-1 é ok", "X") == "latin-1 é ok"
    with pytest.raises(AuthRequired):
        check_header_value("a\nb", "X", what="the Bohrium access key", hint="set it again")


@pytest.mark.parametrize(
    "url", ["https://user:UrlPass77@portal.example.org", "http://bob:UrlPass77@127.0.0.1:8080/x",
            "https://UrlPass77@portal.example.org"]
)
def test_urls_with_credentials_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_base_url(url)
    assert caught.value.type == "url_credentials"
    assert "UrlPass77" not in repr(caught.value.to_dict())
    assert "example.org" in caught.value.message or "127.0.0.1" in caught.value.message


def test_a_refused_url_is_shown_without_its_userinfo() -> None:
    with pytest.raises(BadInput) as caught:
        check_base_url("ftp://user:UrlPass77@host.example")
    assert "UrlPass77" not in caught.value.message and "host.example" in caught.value.message
