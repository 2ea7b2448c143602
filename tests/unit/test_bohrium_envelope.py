"""The OpenAPI envelope and the typed errors of business codes and HTTP statuses."""

from __future__ import annotations

import pytest

from hpcskills.bohrium.envelope import unwrap
from hpcskills.core.errors import AuthRequired, BadInput, NotFound, RemoteError


def test_success_codes() -> None:
    assert unwrap(200, "", {"code": 0, "data": {"a": 1}}, "op") == {"a": 1}
    assert unwrap(200, "", {"code": "0000", "data": [1]}, "op") == [1]
    assert unwrap(200, "", {"code": 0}, "op") is None


@pytest.mark.parametrize(
    ("code", "message", "kind", "type_"),
    [
        (2000, "unauthorized", AuthRequired, "unauthorized"),
        (290007, "permission denied", AuthRequired, "permission_denied"),
        (1000, "no snapshot", NotFound, "no_snapshot"),
        (148888, "rpc error", RemoteError, "rpc_error"),
        (140404, "job 5 not found", NotFound, "not_found"),
        (140400, "invalid param: jobType", BadInput, "rejected"),
        (99, "something odd", RemoteError, "platform_error"),
    ],
)
def test_business_errors(code: int, message: str, kind: type, type_: str) -> None:
    with pytest.raises(kind) as caught:
        unwrap(200, "", {"code": code, "message": message}, "op")
    assert caught.value.type == type_
    assert message in caught.value.message and f"code {code}" in caught.value.message
    assert caught.value.retryable == (code == 148888)


def test_message_may_be_an_error_object_and_hints_come_from_the_table() -> None:
    with pytest.raises(RemoteError) as caught:
        unwrap(
            200,
            "",
            {"code": 5, "error": {"msg": "no space left on device"}},
            "op",
            lambda text: "disk hint" if "space" in text else None,
        )
    assert "no space left" in caught.value.message and caught.value.hint == "disk hint"


@pytest.mark.parametrize(
    ("status", "kind", "type_", "retryable"),
    [
        (429, RemoteError, "rate_limited", True),
        (405, BadInput, "waf_blocked", False),
        (401, AuthRequired, "unauthorized", False),
        (404, RemoteError, "endpoint_not_found", False),
        (500, RemoteError, "service_unavailable", True),
        (503, RemoteError, "service_unavailable", True),
        (418, RemoteError, "http_error", False),
    ],
)
def test_http_errors(status: int, kind: type, type_: str, retryable: bool) -> None:
    with pytest.raises(kind) as caught:
        unwrap(status, "<html>blocked</html>", None, "op")
    assert (caught.value.type, caught.value.retryable) == (type_, retryable)


def test_not_an_envelope_and_secrets_in_messages() -> None:
    with pytest.raises(RemoteError) as caught:
        unwrap(200, "<html>", None, "op")
    assert caught.value.type == "bad_response" and "OPENAPI_HOST" in (caught.value.hint or "")
    with pytest.raises(RemoteError) as leaky:
        unwrap(200, "", {"code": 7, "message": "bad accessKey=abcdef123456"}, "op")
    assert "abcdef123456" not in leaky.value.message
