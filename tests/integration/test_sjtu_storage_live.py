"""Storage and data on the real local site: pool paths, cold-storage choice measured with df,
rsync transfers in tmux on the data node (status, verification, confirmed cancel), refusal of
cold writes through a login node, resumable uploads, many small files as one tar stream,
overwrite confirmation, and one SSH login per node for consecutive script runs."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hpcskills.ssh.certs import fingerprint

from scriptrun import Result, run_script, script_path
from sitefix import Cluster, exit_masters

SKILL = "sjtu-slurm"
NASTY = 'it\'s a "name"; $(touch pwned)'


def call(
    cluster: Cluster,
    script: str,
    *args: str,
    backend: str = "openssh",
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    full_env = {**cluster.env, "HPCSKILLS_SSH_BACKEND": backend, **(env or {})}
    return run_script(SKILL, script, *args, *cluster.ws_args, env=full_env, timeout=timeout)


def our_logins(cluster: Cluster, node: str) -> int:
    """Logins with this workspace's key in the node's sshd log (other workspaces, e.g. of a
    concurrent test run, log in as the same user)."""
    public = (cluster.workspace / "credentials" / "id_ed25519.pub").read_text()
    log = Path(cluster.site["sshd_logs"][node]).read_text(errors="replace")
    mine = fingerprint(public)
    return sum(
        1
        for line in log.splitlines()
        if line.startswith(f"Accepted publickey for {cluster.user} ") and mine in line
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def give_to_user(cluster: Cluster, path: Path) -> None:
    subprocess.run(["chown", "-R", f"{cluster.user}:", str(path)], check=True)


@dataclass
class Area:
    """A directory of this test under the user's home on every pool."""

    cluster: Cluster
    name: str

    def on(self, pool: str) -> Path:
        return Path(self.cluster.site["storage"]["homes"][pool]) / self.name


@pytest.fixture
def area(cluster: Cluster) -> Iterator[Area]:
    area = Area(cluster, f"storage-test-{secrets.token_hex(4)}")
    area.on("lustre").mkdir()
    give_to_user(cluster, area.on("lustre"))
    yield area
    for pool in ("lustre", "archive", "vault"):
        shutil.rmtree(area.on(pool), ignore_errors=True)
    records = Path(pwd.getpwnam(cluster.user).pw_dir) / ".hpcskills" / "transfers"
    for meta in records.glob("*.json"):  # the data node's records of this test's transfers
        if area.name in meta.read_text():
            for path in records.glob(f"{meta.stem}.*"):
                path.unlink()


def make_tree(root: Path, count: int) -> Path:
    for index in range(count):
        folder = root / f"d{index % 7}" / ("deep" if index % 3 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index}.txt").write_text(f"file {index}\n" * (index % 5 + 1))
    (root / NASTY).write_text("quoted\n")
    return root


def tree_contents(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def wait_for(cluster: Cluster, transfer_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = call(cluster, "transfer.py", "status", transfer_id).data
        if status["state"] in states or time.monotonic() > deadline:
            return status
        time.sleep(0.3)


def test_storage_paths(cluster: Cluster, area: Area) -> None:
    data = call(cluster, "storage_paths.py", str(area.on("lustre")) + "/results").data
    views = {view["pool"]: view for view in data["pools"]}
    assert data["pool"] == "lustre"
    for pool in ("archive", "vault", "union", "scratch"):
        assert views[pool]["path"] == str(area.on(pool) / "results")
    assert views["archive"]["write_via"] == ["data", "sydata"]
    assert views["lustre"]["kind"] == "hot"


def test_cold_storage_picks_the_pool_with_most_free_space(cluster: Cluster, area: Area) -> None:
    data = call(cluster, "cold_storage.py", "--path", str(area.on("lustre"))).data
    free = {pool["pool"]: pool["free_bytes"] for pool in data["pools"]}
    assert data["measured_on"] == "data"
    assert free["vault"] > free["archive"] > 0
    assert data["write_to"] == "vault"
    assert data["reason"].startswith("vault has the most free space")
    assert data["write_path"] == str(area.on("vault"))
    assert data["read_from"] == "union"
    assert data["read_path"] == str(area.on("union"))


def test_transfer_to_cold_storage_with_checksums(cluster: Cluster, area: Area) -> None:
    source = make_tree(area.on("lustre") / "results", 30)
    (source / "big.bin").write_bytes(os.urandom(3_000_000))
    give_to_user(cluster, source)
    started = call(
        cluster,
        "transfer.py",
        "start",
        "--from",
        str(source),
        "--to",
        str(area.on("vault")),
        "--verify",
    ).data
    assert started["node"] == "data"
    assert started["target"] == str(area.on("vault") / "results")
    done = wait_for(cluster, started["id"], {"done", "failed", "verify_failed", "lost"})
    assert done["state"] == "done", done
    assert done["verify"] == "ok"
    assert done["progress"]["percent"] == 100
    assert tree_contents(area.on("vault") / "results") == tree_contents(source)
    assert (area.on("union") / "results" / "big.bin").is_file()  # reads go through union
    listed = call(cluster, "transfer.py", "list").data["transfers"]
    assert started["id"] in [row["id"] for row in listed]

    # Corrupt the copy without changing size or time: only the checksum pass can see it.
    copy = area.on("vault") / "results" / "big.bin"
    stat = copy.stat()
    with open(copy, "r+b") as handle:
        handle.write(b"X" * 16)
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = call(
        cluster,
        "transfer.py",
        "start",
        "--from",
        str(source),
        "--to",
        str(area.on("vault")),
        "--verify",
    ).data
    checked = wait_for(cluster, again["id"], {"done", "failed", "verify_failed", "lost"})
    assert checked["state"] == "verify_failed"
    assert checked["mismatched"] == ["results/big.bin"]


def slow_site(cluster: Cluster, tmp_path: Path) -> dict[str, str]:
    """The site overlay with rsync limited to 1 MB/s, so a transfer stays running."""
    overlay = json.loads(Path(cluster.env["HPCSKILLS_SITE_FILE"]).read_text())
    overlay["transfer"] = {"rsync_flags": ["--archive", "--partial", "--bwlimit=1m"]}
    path = tmp_path / "slow-site.json"
    path.write_text(json.dumps(overlay))
    return {"HPCSKILLS_SITE_FILE": str(path)}


def test_long_transfer_survives_a_dropped_connection_and_is_cancelled(
    cluster: Cluster, area: Area, tmp_path: Path
) -> None:
    sparse = area.on("lustre") / "sparse.img"
    with open(sparse, "wb") as handle:
        handle.truncate(1 << 30)
    give_to_user(cluster, sparse)
    slow = slow_site(cluster, tmp_path)
    started = call(
        cluster,
        "transfer.py",
        "start",
        "--from",
        str(sparse),
        "--to",
        str(area.on("archive")),
        env=slow,
    ).data
    exit_masters(cluster.workspace, cluster.site)  # the connection drops; rsync goes on
    running = wait_for(cluster, started["id"], {"running"})
    assert running["state"] == "running"

    plan = call(cluster, "transfer.py", "cancel", started["id"])
    assert plan.returncode == 3
    assert plan.error["plan"]["state"] == "running"
    assert plan.error["plan"]["target"] == str(area.on("archive") / "sparse.img")
    assert wait_for(cluster, started["id"], {"running"})["state"] == "running"  # untouched

    done = call(
        cluster, "transfer.py", "cancel", started["id"], "--confirm", plan.error["confirm"]
    ).data
    assert done["state"] == "cancelled"
    assert done["was"] == "running"
    session = f"hpcskills-xfer-{started['id']}"
    alive = subprocess.run(
        ["runuser", "-u", cluster.user, "--", "tmux", "has-session", "-t", session],
        capture_output=True,
        check=False,
    )
    assert alive.returncode != 0
    partial = area.on("archive") / ".rsync-partial" / "sparse.img"
    size = partial.stat().st_size
    assert 0 < size < 1 << 30
    time.sleep(1.5)
    assert partial.stat().st_size == size  # nothing writes any more
    again = call(cluster, "transfer.py", "cancel", started["id"])
    assert again.returncode == 2
    assert again.error["type"] == "transfer_not_running"


def test_cold_storage_writes_are_refused_through_a_login_node(cluster: Cluster, area: Area) -> None:
    local = area.on("lustre") / "x.txt"
    local.write_text("x")
    logins = our_logins(cluster, "login")
    refused = call(
        cluster,
        "transfer.py",
        "start",
        "--from",
        str(local),
        "--to",
        str(area.on("archive")),
        "--node",
        "pilogin",
    )
    assert refused.returncode == 2
    assert refused.error["type"] == "cold_storage_write_refused"
    upload = call(cluster, "upload.py", str(local), str(area.on("vault")), "--node", "sylogin")
    assert upload.returncode == 2
    assert upload.error["type"] == "cold_storage_write_refused"
    assert not area.on("archive").exists() and not area.on("vault").exists()
    assert our_logins(cluster, "login") == logins  # refused before connecting


def settled_size(path: Path, quiet: float = 0.5, timeout: float = 30) -> int:
    """The file's size once it stopped changing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        current = path.stat().st_size
        if current == size:
            return size
        size = current
        time.sleep(quiet)
    raise AssertionError(f"{path} kept growing")


def test_interrupted_upload_resumes(cluster: Cluster, area: Area, tmp_path: Path) -> None:
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(50 * 1024 * 1024))
    part = area.on("lustre") / "big.bin.part"
    argv = [
        sys.executable,
        str(script_path(SKILL, "upload.py")),
        str(local),
        str(area.on("lustre")),
        *cluster.ws_args,
    ]
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **cluster.env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGSTOP)
    proc.kill()
    proc.wait()
    kept = settled_size(part)  # the ssh client sends what it holds, then the remote cat ends
    assert 0 < kept < local.stat().st_size

    resumed = call(cluster, "upload.py", str(local), str(area.on("lustre")), "--verify").data
    assert resumed["resumed_from"] == kept
    assert resumed["sent_bytes"] == local.stat().st_size - kept
    assert resumed["verified"] is True
    assert sha256(area.on("lustre") / "big.bin") == sha256(local)
    assert not part.exists()


@pytest.mark.parametrize("backend", ["openssh", "paramiko"])
def test_tree_of_small_files_up_and_down(
    cluster: Cluster, area: Area, tmp_path: Path, backend: str
) -> None:
    tree = make_tree(tmp_path / "tree", 500)
    up = call(
        cluster, "upload.py", str(tree), str(area.on("lustre")), "--verify", backend=backend
    ).data
    assert (up["files"], up["copied_files"], up["verified"]) == (501, 501, True)
    assert tree_contents(area.on("lustre") / "tree") == tree_contents(tree)
    again = call(cluster, "upload.py", str(tree), str(area.on("lustre")), backend=backend).data
    assert (again["copied_files"], again["unchanged_files"]) == (0, 501)

    down = call(
        cluster,
        "download.py",
        str(area.on("lustre") / "tree"),
        str(tmp_path / "back"),
        "--verify",
        backend=backend,
    ).data
    assert (down["copied_files"], down["verified"]) == (501, True)
    assert tree_contents(tmp_path / "back" / "tree") == tree_contents(tree)
    assert not (tmp_path / "pwned").exists()


def test_overwrites_need_confirmation(cluster: Cluster, area: Area, tmp_path: Path) -> None:
    local = tmp_path / "notes.txt"
    local.write_text("first\n")
    remote = area.on("lustre") / "notes.txt"
    assert call(cluster, "upload.py", str(local), str(area.on("lustre"))).data["copied_files"] == 1
    local.write_text("second version\n")
    plan = call(cluster, "upload.py", str(local), str(area.on("lustre")))
    assert plan.returncode == 3
    assert plan.error["plan"]["replace"][0]["path"] == str(remote)
    assert remote.read_text() == "first\n"
    local.write_text("third, changed after the plan\n")
    stale = call(
        cluster, "upload.py", str(local), str(area.on("lustre")), "--confirm", plan.error["confirm"]
    )
    assert stale.returncode == 3 and stale.error["type"] == "confirmation_mismatch"
    done = call(
        cluster,
        "upload.py",
        str(local),
        str(area.on("lustre")),
        "--confirm",
        stale.error["confirm"],
    ).data
    assert done["replaced_files"] == 1
    assert remote.read_text() == "third, changed after the plan\n"

    fetched = tmp_path / "fetched"
    call(cluster, "download.py", str(remote), str(fetched))
    (fetched / "notes.txt").write_text("edited here\n")
    local_plan = call(cluster, "download.py", str(remote), str(fetched))
    assert local_plan.returncode == 3
    assert (fetched / "notes.txt").read_text() == "edited here\n"


def test_consecutive_runs_share_one_login(cluster: Cluster, area: Area, tmp_path: Path) -> None:
    before = our_logins(cluster, "data")
    local = tmp_path / "a.txt"
    local.write_text("a\n")
    call(cluster, "cold_storage.py")
    call(cluster, "upload.py", str(local), str(area.on("lustre")))
    call(cluster, "download.py", str(area.on("lustre") / "a.txt"), str(tmp_path / "back"))
    started = call(
        cluster,
        "transfer.py",
        "start",
        "--from",
        str(area.on("lustre") / "a.txt"),
        "--to",
        str(area.on("vault")),
    ).data
    wait_for(cluster, started["id"], {"done"})
    call(cluster, "transfer.py", "list")
    assert our_logins(cluster, "data") - before == 1
