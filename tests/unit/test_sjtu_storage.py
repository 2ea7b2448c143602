"""Storage and data movement, pure parts: pools and paths, who may read or write a pool,
df parsing and the cold-storage choice, copy plans and listings, and the rsync-in-tmux
transfer records (runner script, status parsing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.core.errors import BadInput, NotFound
from hpcskills.sjtu import rsync_jobs, storage
from hpcskills.sjtu.site import SiteProfile, load_site
from hpcskills.ssh import transfer as xfer

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"
HOME = "/lustre/home/acct-hpc/hpcrobot"


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> SiteProfile:
    monkeypatch.delenv("HPCSKILLS_SITE_FILE", raising=False)
    monkeypatch.delenv("HPCSKILLS_SJTU_API_URL", raising=False)
    return load_site(SITE_FILE)


# ---------------------------------------------------------------- pools and paths


def test_same_directory_on_every_pool(site: SiteProfile) -> None:
    views = storage.path_views(site, HOME + "/results/")
    assert views["pool"] == "lustre"
    assert views["relative"] == "home/acct-hpc/hpcrobot/results"
    paths = {view["pool"]: view["path"] for view in views["pools"]}
    assert paths["archive"] == "/archive/home/acct-hpc/hpcrobot/results"
    assert paths["union"] == "/union/home/acct-hpc/hpcrobot/results"
    assert paths["dssg"] == "/dssg/home/acct-hpc/hpcrobot/results"


def test_who_reads_and_writes_each_pool(site: SiteProfile) -> None:
    views = {v["pool"]: v for v in storage.path_views(site, HOME)["pools"]}
    assert views["archive"]["write_via"] == ["data", "sydata"]
    assert set(views["archive"]["read_via"]) == {"pilogin", "sylogin", "armlogin", "data", "sydata"}
    assert views["lustre"]["read_via"] == ["pilogin", "armlogin", "data"]
    assert views["dssg"]["write_via"] == ["sylogin", "data", "sydata"]
    assert views["union"]["union_of"] == ["archive", "vault"]
    assert "never run jobs" in views["vault"]["note"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/lustre/a/../b/", "/lustre/b"),
        ("//lustre//x", "/lustre/x"),
        ("/archive", "/archive"),
    ],
)
def test_paths_are_normalized(raw: str, clean: str) -> None:
    assert storage.clean_path(raw) == clean


@pytest.mark.parametrize("bad", ["relative/path", "~/x", "/lustre/a\nb", "/lustre/\x1b[31m", ""])
def test_bad_paths_are_refused(bad: str) -> None:
    with pytest.raises(BadInput) as caught:
        storage.clean_path(bad)
    assert caught.value.type == "invalid_path"


def test_paths_outside_every_pool_are_refused(site: SiteProfile) -> None:
    with pytest.raises(BadInput) as caught:
        storage.locate(site, "/etc/passwd")
    assert caught.value.type == "unknown_storage"
    with pytest.raises(BadInput):
        storage.locate(site, "/lustrefoo/x")  # a prefix of a mount is not the mount


def test_cold_storage_is_written_only_from_data_nodes(site: SiteProfile) -> None:
    archive = site.storage["archive"]
    storage.check_access(site, "data", archive, write=True)
    storage.check_access(site, "sydata", archive, write=True)
    storage.check_access(site, "pilogin", archive, write=False)
    with pytest.raises(BadInput) as caught:
        storage.check_access(site, "pilogin", archive, write=True)
    assert caught.value.type == "cold_storage_write_refused"
    assert "data, sydata" in (caught.value.hint or "")


def test_pools_a_node_cannot_reach(site: SiteProfile) -> None:
    with pytest.raises(BadInput) as caught:
        storage.check_access(site, "sylogin", site.storage["lustre"], write=False)
    assert caught.value.type == "pool_not_reachable"
    with pytest.raises(BadInput) as caught:
        storage.check_access(site, "nosuchnode", site.storage["lustre"], write=False)
    assert caught.value.type == "unknown_entry_node"


@pytest.mark.parametrize(
    ("source", "target", "node"),
    [
        (HOME + "/r", "/archive/home/acct-hpc/hpcrobot", "data"),
        ("/dssg/home/acct-hpc/u/r", "/vault/home/acct-hpc/u", "sydata"),
        ("/dssg/home/acct-hpc/u/r", HOME, "data"),  # sydata cannot write /lustre
        ("/archive/home/acct-hpc/u/r", "/scratch/home/acct-hpc/u", "data"),
    ],
)
def test_transfer_node(site: SiteProfile, source: str, target: str, node: str) -> None:
    chosen, why = storage.transfer_node(site, source, target)
    assert chosen == node
    assert node in why


def test_data_node_of_a_path(site: SiteProfile) -> None:
    assert storage.data_node_for(site, "/dssg/home/a/b")[0] == "sydata"
    assert storage.data_node_for(site, "/archive/home/a/b")[0] == "data"


# ---------------------------------------------------------------- df and the cold target

DF = """Filesystem           1-blocks       Used  Available Capacity Mounted on
nfs1:/export/archive 1000000000 400000000  600000000      40% /archive
nfs2:/export/vault   2000000000 100000000 1900000000       5% /vault
"""


def test_parse_df() -> None:
    rows = storage.parse_df(DF)
    assert [r.mounted_on for r in rows] == ["/archive", "/vault"]
    assert rows[1] == storage.DfRow(
        "nfs2:/export/vault", 2000000000, 100000000, 1900000000, "/vault"
    )


_fs = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)
_mount = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).map(
    lambda tail: "/" + tail
)
_rows = st.lists(
    st.builds(
        storage.DfRow,
        _fs,
        st.integers(0, 2**62),
        st.integers(0, 2**62),
        st.integers(0, 2**62),
        _mount,
    ),
    max_size=5,
)


@given(_rows, st.sampled_from([" ", "   ", "\t"]))
def test_parse_df_reads_back_what_df_prints(rows: list[storage.DfRow], gap: str) -> None:
    lines = ["Filesystem 1-blocks Used Available Capacity Mounted on"]
    for row in rows:
        capacity = f"{100 * row.used // row.size}%" if row.size else "-"
        lines.append(
            gap.join(
                [
                    row.filesystem,
                    str(row.size),
                    str(row.used),
                    str(row.available),
                    capacity,
                    row.mounted_on,
                ]
            )
        )
    assert storage.parse_df("\n".join(lines) + "\n") == rows


@given(st.text())
def test_parse_df_never_crashes(text: str) -> None:
    for row in storage.parse_df(text):
        assert row.size >= 0


def test_cold_target_is_the_pool_with_most_free_space() -> None:
    best, why = storage.choose_cold_target({"archive": 600, "vault": 1900 * 1024**2})
    assert best == "vault"
    assert why == "vault has the most free space (1.9 GiB free vs 600 B on archive)"
    assert storage.choose_cold_target({"archive": 5, "vault": 5})[0] == "archive"
    with pytest.raises(BadInput):
        storage.choose_cold_target({})


def test_cold_pools_and_union(site: SiteProfile) -> None:
    assert [p.name for p in storage.cold_pools(site)] == ["archive", "vault"]
    union = storage.union_pool(site)
    assert union is not None and union.mount == "/union"


# ---------------------------------------------------------------- listings and copy plans


def test_parse_remote_entries() -> None:
    text = "dir\0a.txt\0005\0001700000000.5\0sub/b c\0007\0001700000001.0000000000\0"
    kind, listing = xfer.parse_entries(text)
    assert kind == "dir"
    assert listing == {
        "a.txt": xfer.FileState(5, 1700000000),
        "sub/b c": xfer.FileState(7, 1700000001),
    }
    assert xfer.parse_entries("none\0") == ("none", {})


def test_copy_plan() -> None:
    state = xfer.FileState(3, 100)
    wanted = {"new": state, "same": state, "changed": state, "partial": state}
    present = {"same": state, "changed": xfer.FileState(4, 100), "partial": xfer.FileState(1, 100)}
    plan = xfer.plan_copy(wanted, present, ours=["partial"])
    assert plan.send == ["new", "partial"]
    assert plan.same == ["same"]
    assert plan.replace == ["changed"]
    assert xfer.plan_copy(wanted, wanted, ours=["same"]).send == ["same"]


def test_local_entries_skip_symlinks(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "f").write_text("abc")
    (tmp_path / "d" / "link").symlink_to(tmp_path / "d" / "sub" / "f")
    kind, listing = xfer.local_entries(tmp_path / "d")
    assert kind == "dir"
    assert list(listing) == ["sub/f"]
    assert listing["sub/f"].size == 3
    assert xfer.local_entries(tmp_path / "d" / "link")[0] == "file"  # named: followed
    assert xfer.local_entries(tmp_path / "missing") == ("none", {})


def test_a_local_path_that_cannot_be_read_is_bad_input(tmp_path: Path) -> None:
    """Found by the bad-input fuzz test (`upload.py / DIR` was exit 1 on /proc/1/cwd)."""
    with pytest.raises(BadInput) as caught:
        xfer.local_entries(tmp_path / ("x" * 300))
    assert caught.value.type == "local_unreadable"


def test_parse_sha256sum_unescapes_names() -> None:
    text = "aa  plain\n\\bb  new\\nline\\\\x\ncc  two  spaces\n"
    assert xfer.parse_sha256sum(text) == {"plain": "aa", "new\nline\\x": "bb", "two  spaces": "cc"}


def test_sha256_of_a_slice(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    whole = xfer.sha256_bytes(path)
    assert xfer.sha256_bytes(path, 0, 10) == whole
    assert xfer.sha256_bytes(path, 4, 3) == xfer.sha256_bytes(_write(tmp_path / "g", b"456"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")
def test_tar_stream_size_matches_tar(tmp_path: Path) -> None:
    sizes = [0, 1, 511, 512, 513, 20000]
    for index, size in enumerate(sizes):
        (tmp_path / f"f{index}").write_bytes(b"x" * size)
    names = [f"f{index}" for index in range(len(sizes))]
    stream = subprocess.run(
        ["tar", "-C", str(tmp_path), "-cf", "-", *names], capture_output=True, check=True
    ).stdout
    assert xfer.tar_stream_size(sizes) == len(stream)


def test_missing_paths_are_not_found() -> None:
    with pytest.raises(NotFound):
        xfer.require_kind("none", "/x", "data")
    with pytest.raises(NotFound):
        xfer.require_kind("other", "/dev/null", "data")
    xfer.require_kind("dir", "/x", "data")


# ---------------------------------------------------------------- rsync transfers


def test_transfer_ids() -> None:
    transfer_id = rsync_jobs.new_transfer_id(0, "a1b2c3")
    assert transfer_id == "19700101-000000-a1b2c3"
    assert rsync_jobs.check_transfer_id(transfer_id) == transfer_id
    for bad in ("x; rm -rf ~", "19700101-000000-A1B2C3", "../19700101-000000-a1b2c3"):
        with pytest.raises(BadInput):
            rsync_jobs.check_transfer_id(bad)


def test_replaced_by_rsync() -> None:
    itemized = "\n".join(
        [
            ">f+++++++++ results/new",
            ">f.st...... results/changed",
            ">fcs....... results/same size other content",
            "cd+++++++++ results/sub/",
            ".d..t...... results/",
            "*deleting   results/old",
        ]
    )
    assert rsync_jobs.replaced_by_rsync(itemized) == [
        "results/changed",
        "results/same size other content",
    ]


def test_parse_progress() -> None:
    log = [
        "@@ copy 1700000000",
        "         32,768   0%    0.00kB/s    0:00:00",
        "     30,000,003 100%  571.58MB/s    0:00:00 (xfr#2, to-chk=0/4)",
        "rsync: some warning",
    ]
    assert rsync_jobs.parse_progress(log) == {
        "bytes": 30000003,
        "percent": 100,
        "rate": "571.58MB/s",
        "time": "0:00:00",
        "files_copied": 2,
        "files_to_check": 0,
        "files_seen": 4,
    }
    assert rsync_jobs.parse_progress(log[:2])["bytes"] == 32768
    assert rsync_jobs.parse_progress(["nothing"]) is None


STATUS = """@@transfer 20260101-000000-aaaaaa
@@meta
{"source": "/lustre/a", "target": "/archive/a", "verify": true, "started": 1700000000}
@@result
exit=0
verify=mismatch
finished=1700000060
@@cancelled
@@alive
@@mismatch
>fc........ a/x
@@log
@@ copy 1700000000
  1,000 100%  1.00MB/s    0:00:01 (xfr#1, to-chk=0/2)
@@ verify 1700000050
@@transfer 20260101-000000-bbbbbb
@@meta
{"source": "/lustre/b", "target": "/vault/b", "verify": false, "started": 1700000000}
@@result
@@cancelled
@@alive
yes
@@mismatch
@@log
    500  50%  1.00MB/s    0:00:01
"""


def test_split_and_describe_status() -> None:
    blocks = rsync_jobs.split_status(STATUS)
    assert list(blocks) == ["20260101-000000-aaaaaa", "20260101-000000-bbbbbb"]
    first = rsync_jobs.describe_transfer(
        "20260101-000000-aaaaaa", blocks["20260101-000000-aaaaaa"], 1700000100, "data"
    )
    assert first["state"] == "verify_failed"
    assert first["mismatched"] == ["a/x"]
    assert first["elapsed_seconds"] == 60
    assert first["log_tail"] == ["@@ copy 1700000000", "@@ verify 1700000050"]
    second = rsync_jobs.describe_transfer(
        "20260101-000000-bbbbbb", blocks["20260101-000000-bbbbbb"], 1700000010, "data"
    )
    assert second["state"] == "running"
    assert second["verify"] == "skipped"
    assert second["progress"]["percent"] == 50
    assert second["elapsed_seconds"] == 10
    with pytest.raises(NotFound):
        rsync_jobs.describe_transfer("20260101-000000-cccccc", {}, 0, "data")


@pytest.mark.parametrize(
    ("result", "cancelled", "alive", "log", "state"),
    [
        ({}, False, True, [], "running"),
        ({}, False, True, ["@@ verify 1"], "verifying"),
        ({"exit": "0", "verify": "ok"}, False, False, [], "done"),
        ({"exit": "23", "verify": "skipped"}, False, False, [], "failed"),
        ({"exit": "20"}, True, False, [], "cancelled"),
        ({}, True, False, [], "cancelled"),
        ({}, False, False, [], "lost"),
    ],
)
def test_transfer_state(result: dict, cancelled: bool, alive: bool, log: list, state: str) -> None:
    assert rsync_jobs.transfer_state(result, cancelled, alive, log) == state


def test_failed_transfer_says_why() -> None:
    sections = {
        "meta": ['{"source": "/a", "target": "/b", "started": 1}'],
        "result": ["exit=11", "verify=skipped", "finished=2"],
        "log": ["rsync: write failed: No space left on device (28)"],
    }
    status = rsync_jobs.describe_transfer("20260101-000000-aaaaaa", sections, 3, "data")
    assert status["state"] == "failed"
    assert status["exit_code"] == 11
    assert "full" in status["reason"]
    assert status["log_tail"] == ["rsync: write failed: No space left on device (28)"]


NASTY = 'it\'s a "dir" $(touch pwned) `id`; x'


@pytest.mark.skipif(shutil.which("rsync") is None, reason="needs rsync")
@pytest.mark.parametrize("verify", [False, True])
def test_runner_script_copies_nasty_paths(tmp_path: Path, site: SiteProfile, verify: bool) -> None:
    """The generated runner, run by sh with a local rsync: quoting holds, result is written."""
    source = tmp_path / "src" / NASTY
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "f").write_text("data")
    dest = tmp_path / f"dest {NASTY}"
    home = tmp_path / "home"
    state = home / ".hpcskills" / "transfers"
    state.mkdir(parents=True)
    transfer_id = "20260101-000000-abcdef"
    runner = state / f"{transfer_id}.sh"
    runner.write_text(rsync_jobs.runner_script(transfer_id, str(source), str(dest), site, verify))
    subprocess.run(
        ["sh", str(runner)],
        cwd=tmp_path,
        env={**os.environ, "HOME": str(home)},
        check=True,
        timeout=60,
    )
    assert (dest / NASTY / "sub" / "f").read_text() == "data"
    assert not (tmp_path / "pwned").exists()
    result = rsync_jobs.parse_key_values((state / f"{transfer_id}.result").read_text())
    assert result["exit"] == "0"
    assert result["verify"] == ("ok" if verify else "skipped")
    log = (state / f"{transfer_id}.log").read_text().replace("\r", "\n").splitlines()
    assert rsync_jobs.parse_progress(log)["percent"] == 100


def test_site_rsync_flags_that_delete_are_refused() -> None:
    from hpcskills.core.errors import BadInput
    from hpcskills.sjtu.site import parse_site

    site = parse_site({"transfer": {"rsync_flags": ["--archive", "--delete-after"]}})
    with pytest.raises(BadInput, match="delete"):
        rsync_jobs.rsync_commands(site, "/lustre/a", "/archive/b")
