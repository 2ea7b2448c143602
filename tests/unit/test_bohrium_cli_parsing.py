"""Parsing what the bohr CLI prints (pure): `Error:` with exit 0, JSON, `JobId:  N`."""

from __future__ import annotations

import pytest

from hpcskills.bohrium.bohr_cli import (
    as_items,
    bohr_error,
    check_output,
    parse_ids,
    parse_json_output,
    parse_version,
)
from hpcskills.core.errors import AuthRequired, NotFound, RemoteError


def no_hint(_text: str) -> None:
    return None


def test_error_on_stdout_with_exit_0_is_an_error() -> None:
    with pytest.raises(NotFound):
        check_output("Error: job 5 not found\n", "", 0, no_hint)
    with pytest.raises(AuthRequired):
        check_output("Submitting...\nError: AccessKey Invalid\n", "", 0, no_hint)
    with pytest.raises(RemoteError, match="boom"):
        check_output("", "boom\n", 2, no_hint)
    assert check_output("fine\n", "", 0, no_hint) == "fine\n"


def test_error_text_is_classified_with_a_hint() -> None:
    error = bohr_error("request blocked (405)", lambda text: "wrap it" if "405" in text else None)
    assert isinstance(error, RemoteError) and error.hint == "wrap it"
    assert isinstance(bohr_error("permission denied", no_hint), AuthRequired)


def test_json_output_with_noise_and_envelopes() -> None:
    assert parse_json_output('notice: new version\n[{"id": 1}]\n') == [{"id": 1}]
    assert parse_json_output('{"code": 0, "data": {"items": [{"id": 2}]}}') == {
        "items": [{"id": 2}]
    }
    assert as_items({"items": [{"id": 2}, 3]}) == [{"id": 2}]
    assert as_items({"id": 9}) == [{"id": 9}]
    with pytest.raises(RemoteError):
        parse_json_output("no json here")
    with pytest.raises(RemoteError):
        parse_json_output("[1, 2")
    with pytest.raises(RemoteError):
        as_items("text")


def test_ids_and_version() -> None:
    out = "Submit job succeed.\nJobId:  22153612\nJobGroupId:  15954383\n"
    assert parse_ids(out) == {"jobid": 22153612, "jobgroupid": 15954383}
    assert parse_ids("nothing") == {}
    assert parse_version("bohr version v1.0.3\n") == "1.0.3"
    assert parse_version("") is None
