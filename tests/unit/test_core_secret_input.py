"""Secrets come from a file (deleted afterwards, whatever happens) or stdin, never argv."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.core.redact import redact
from hpcskills.core.secret_input import (
    choose_source,
    first_line,
    refuse_argv_secrets,
    take_secret,
)


def test_textfile_is_read_and_deleted(tmp_path: Path) -> None:
    path = tmp_path / "pw.txt"
    path.write_text("file-password-1\nsecond line ignored\n")
    assert take_secret(path) == "file-password-1"
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   \n", b"\xff\xfe broken"])
def test_textfile_is_deleted_also_when_unusable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "pw.txt"
    path.write_bytes(content)
    with pytest.raises(BadInput):
        take_secret(path)
    assert not path.exists()


def test_stdin_first_line_without_newline() -> None:
    assert take_secret(None, io.StringIO("stdin-password-2\r\n")) == "stdin-password-2"
    assert redact("x stdin-password-2 y") == "x *** y"  # registered for masking


def test_empty_stdin_is_bad_input() -> None:
    with pytest.raises(BadInput) as caught:
        take_secret(None, io.StringIO(""))
    assert caught.value.type == "password_empty"


def test_password_with_spaces_is_kept_whole() -> None:
    assert first_line("  spaced pass word  \n", "x") == "  spaced pass word  "


def test_argv_secret_is_refused_and_masked() -> None:
    refuse_argv_secrets([], "--textfile", "--password-stdin")  # nothing given: fine
    with pytest.raises(BadInput) as caught:
        refuse_argv_secrets(["argv-password-3"], "--textfile", "--password-stdin")
    error = caught.value
    assert error.type == "secret_on_argv"
    assert "--textfile" in error.hint and "--password-stdin" in error.hint
    assert "argv-password-3" not in error.message + error.hint
    assert redact("argv-password-3") == "***"


@pytest.mark.parametrize(("textfile", "stdin"), [(None, False), (Path("x"), True)])
def test_exactly_one_source(textfile: Path | None, stdin: bool) -> None:
    with pytest.raises(BadInput) as caught:
        choose_source(textfile, stdin, "--textfile", "--password-stdin")
    assert caught.value.type == "password_source"


def test_missing_textfile(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        choose_source(tmp_path / "absent", False, "--textfile", "--password-stdin")
    assert caught.value.type == "textfile_missing"


@pytest.mark.parametrize("content", [b"file-password-4\n", b""])
def test_a_textfile_that_cannot_be_deleted_is_bad_input_not_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    """Found by the bad-input fuzz test (`--textfile /proc/self/mem` was exit 1): a file the
    pack cannot delete is refused, and its password is not used."""
    path = tmp_path / "pw.txt"
    path.write_bytes(content)

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(1, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(BadInput) as caught:
        take_secret(path)
    assert "cannot be deleted" in caught.value.message
    assert "file-password-4" not in caught.value.message


def test_a_textfile_name_the_system_refuses_is_bad_input(tmp_path: Path) -> None:
    """Found by the bad-input fuzz test: a 100,000-character --textfile was exit 1."""
    with pytest.raises(BadInput) as caught:
        choose_source(tmp_path / ("x" * 100_000), False, "--textfile", "--password-stdin")
    assert caught.value.type == "textfile_missing"
