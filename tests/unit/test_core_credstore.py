"""Credential store: private modes, atomic writes, reads that tell missing from corrupt."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hpcskills.core import credstore
from hpcskills.core.credstore import CorruptCredential, CredentialStore, atomic_write
from hpcskills.core.errors import EXIT_AUTH, BadInput


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "ws" / "credentials")


def test_first_write_creates_a_0700_dir_and_a_0600_file(store: CredentialStore) -> None:
    assert not store.directory.exists()
    path = store.write_text("hpc_token", "tok-123456\n")
    assert mode(store.directory) == 0o700
    assert mode(path) == 0o600
    assert path.read_text() == "tok-123456\n"


def test_modes_hold_under_a_permissive_umask(store: CredentialStore) -> None:
    old = os.umask(0)
    try:
        path = store.write_text("hpc_token", "tok")
    finally:
        os.umask(old)
    assert mode(store.directory) == 0o700
    assert mode(path) == 0o600


def test_an_existing_open_dir_is_tightened(store: CredentialStore) -> None:
    store.directory.mkdir(parents=True)
    store.directory.chmod(0o755)
    store.write_text("hpc_token", "tok")
    assert mode(store.directory) == 0o700


def test_overwrite_keeps_0600_even_if_the_old_file_was_open(store: CredentialStore) -> None:
    path = store.write_text("hpc_token", "old")
    path.chmod(0o644)
    store.write_text("hpc_token", "new")
    assert mode(path) == 0o600
    assert path.read_text() == "new"


def test_read_missing_is_none(store: CredentialStore) -> None:
    assert store.read_text("hpc_token") is None
    assert store.read_json("profile.json") is None
    assert not store.exists("hpc_token")


@pytest.mark.parametrize("content", [b"", b"\n", b"   \n\t\n"])
def test_read_empty_is_corrupt_not_missing(store: CredentialStore, content: bytes) -> None:
    store.write_bytes("hpc_token", content)
    with pytest.raises(CorruptCredential) as caught:
        store.read_text("hpc_token")
    assert caught.value.exit_code == EXIT_AUTH == 4
    assert caught.value.type == "credential_corrupt"


def test_read_undecodable_is_corrupt(store: CredentialStore) -> None:
    store.write_bytes("hpc_token", b"\xff\xfe\x00bad")
    with pytest.raises(CorruptCredential):
        store.read_text("hpc_token")


def test_read_invalid_json_is_corrupt(store: CredentialStore) -> None:
    store.write_text("state.json", "{not json")
    with pytest.raises(CorruptCredential) as caught:
        store.read_json("state.json")
    assert caught.value.exit_code == 4


def test_read_strips_and_json_round_trips(store: CredentialStore) -> None:
    store.write_text("hpc_token", "  tok-abc \n")
    assert store.read_text("hpc_token") == "tok-abc"
    store.write_json("state.json", {"b": 1, "a": [1, 2]})
    assert store.read_json("state.json") == {"a": [1, 2], "b": 1}


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", ".", ".."])
def test_unsafe_names_are_refused(store: CredentialStore, name: str) -> None:
    with pytest.raises(BadInput):
        store.path(name)


def test_remove(store: CredentialStore) -> None:
    store.write_text("hpc_token", "tok")
    assert store.remove("hpc_token") is True
    assert store.remove("hpc_token") is False
    assert store.read_text("hpc_token") is None


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "hpc_token")


@pytest.mark.parametrize("victim", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_content_and_no_temp_file(
    store: CredentialStore, monkeypatch: pytest.MonkeyPatch, victim: str
) -> None:
    path = store.write_text("hpc_token", "old-token-value\n")

    def crash(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(credstore.os, victim, crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.write_text("hpc_token", "new-token-value\n")
    monkeypatch.undo()
    assert path.read_text() == "old-token-value\n"
    assert store.read_text("hpc_token") == "old-token-value"
    assert _leftovers(store.directory) == []


def test_an_interrupt_mid_write_also_cleans_up(
    store: CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.write_text("hpc_token", "old")

    def interrupt(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(credstore.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        store.write_text("hpc_token", "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert _leftovers(store.directory) == []


def test_atomic_write_uses_a_temp_file_in_the_same_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "secret"
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        assert mode(Path(src)) == 0o600  # never readable by others, even briefly
        real_replace(src, dst)

    monkeypatch.setattr(credstore.os, "replace", spy)
    atomic_write(target, b"data")
    assert len(seen) == 1
    src, dst = seen[0]
    assert Path(src).parent == tmp_path and Path(src).name != "secret"
    assert dst == str(target)
    assert target.read_bytes() == b"data"
