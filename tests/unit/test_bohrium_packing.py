"""Input inventory and the append-only, streamed zip."""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path

import pytest

from hpcskills.bohrium.packing import (
    FileSlice,
    GrowingFile,
    choose_compression,
    file_listing,
    is_excluded,
    scan_input,
    start_zip,
    write_zip,
)
from hpcskills.core.errors import BadInput


def make_tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "in.lmp").write_text("units metal\n" * 100)
    (root / "sub" / "data.bin").write_bytes(os.urandom(200_000))
    (root / ".git" / "pack").write_bytes(b"x" * 1000)
    (root / ".hidden.txt").write_text("h")
    (root / "link").symlink_to(root / "in.lmp")
    (root / "broken").symlink_to(root / "missing")


def test_scan_lists_files_hidden_and_excluded(tmp_path: Path) -> None:
    make_tree(tmp_path)
    inventory = scan_input(tmp_path)
    names = [f.arcname for f in inventory.files]
    assert names == [".hidden.txt", "in.lmp", "link", ".git/pack", "sub/data.bin"]
    assert inventory.hidden_bytes == 1001
    assert [f.arcname for f in inventory.largest_hidden(1)] == [".git/pack"]
    excluded = scan_input(tmp_path, [".git", "*.bin"])
    assert [f.arcname for f in excluded.files] == [".hidden.txt", "in.lmp", "link"]
    assert excluded.excluded == (".git/", "sub/data.bin")
    with pytest.raises(BadInput):
        scan_input(tmp_path / "nope")


def test_exclusion_patterns() -> None:
    assert is_excluded("a/.git/objects/x", [".git"])
    assert is_excluded("a/b.pyc", ["*.pyc"])
    assert is_excluded("cache/x", ["cache/"])
    assert not is_excluded("in.lmp", ["*.bin", ".git"])


def test_compression_choice() -> None:
    assert choose_compression(b"abc" * 10_000) == zipfile.ZIP_DEFLATED
    assert choose_compression(os.urandom(65536)) == zipfile.ZIP_STORED
    assert choose_compression(b"tiny") == zipfile.ZIP_DEFLATED


def test_zip_is_valid_append_only_and_holds_extras(tmp_path: Path) -> None:
    root = tmp_path / "in"
    make_tree(root)
    (root / "run.sh").write_text("old\n")
    target = GrowingFile(tmp_path / "out.zip")
    offsets: list[int] = []
    original = target._handle.seek

    def no_seek(*args: object) -> int:
        offsets.append(1)
        return original(*args)  # type: ignore[arg-type]

    target._handle.seek = no_seek  # type: ignore[method-assign]
    write_zip(scan_input(root), target, {"run.sh": b"#!/bin/bash\necho hi\n"})
    assert target.finished and target.error is None and offsets == []
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        assert archive.read("run.sh") == b"#!/bin/bash\necho hi\n"  # replaces the input's copy
        assert archive.namelist().count("run.sh") == 1
        info = {i.filename: i for i in archive.infolist()}
        assert info["sub/data.bin"].compress_type == zipfile.ZIP_STORED
        assert info["in.lmp"].compress_type == zipfile.ZIP_DEFLATED
        assert info["run.sh"].external_attr >> 16 == 0o100755
        assert info["in.lmp"].flag_bits & 0x08  # data descriptor: written without seeking


def test_readers_wait_for_bytes_and_see_errors(tmp_path: Path) -> None:
    source = GrowingFile(tmp_path / "g")
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.append(source.wait_for(10)))
    reader.start()
    source.write(b"12345")
    source.write(b"67890abc")
    reader.join(5)
    assert seen == [13]
    source.finish()
    assert source.wait_for(100) == 13
    with FileSlice(source.path, 3, 4) as part:
        assert len(part) == 4 and part.read(2) == b"45" and part.read() == b"67"
        assert part.read() == b""
    failed = GrowingFile(tmp_path / "h")
    failed.finish(BadInput("cannot read"))
    with pytest.raises(BadInput):
        failed.wait_for(1)


def test_background_zip_of_unreadable_file_fails_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "a").write_text("x")
    inventory = scan_input(root)
    (root / "a").unlink()
    target = start_zip(inventory, tmp_path / "z.zip")
    with pytest.raises(BadInput, match="cannot read input file"):
        target.wait_for(10**9)


def test_listing_is_bounded(tmp_path: Path) -> None:
    for index in range(60):
        (tmp_path / f"f{index:02d}").write_text("x")
    listing = file_listing(scan_input(tmp_path), ["run.sh"])
    assert listing["count"] == 60 and len(listing["files"]) == 50 and listing["more"] == 10
    assert listing["added"] == ["run.sh"]


def test_orphaned_scratch_directories(tmp_path: Path) -> None:
    import os
    import time

    from hpcskills.bohrium.scratch import LEGACY_PREFIX, PREFIX, orphans

    dead, live, mine = (tmp_path / f"{PREFIX}{pid}-x" for pid in (999991, 999992, os.getpid()))
    old, new = tmp_path / f"{LEGACY_PREFIX}aa", tmp_path / f"{LEGACY_PREFIX}bb"
    for path in (dead, live, mine, old, new):
        path.mkdir()
    (tmp_path / f"{PREFIX}999993-file").write_text("not a directory")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    alive = {999992}.__contains__
    assert orphans(tmp_path, alive=alive) == [dead, old]
