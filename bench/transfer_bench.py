"""Uploads to the data node: one 500 MB incompressible file and a tree of 2000 small files,
through our upload (the library call, and `upload.py` as a whole script run, both over the
shared OpenSSH connection) against `scp` / `scp -r` with the same key and certificate to the
same sshd (the minicluster's data node). Prints medians and ratios and records them in
bench/RESULTS.md.

Run as root: `.venv/bin/python bench/transfer_bench.py [--size-mb 500] [--files 2000]`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.copies import upload
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.site import load_site
from hpcskills.ssh.base import Endpoint, command_line
from hpcskills.ssh.openssh import control_dir, socket_name

from _results import machine, write_section
from _site import ROOT, LocalSite, local_site

CHUNK = 8 * 1024 * 1024
SCP_CIPHER = "aes128-gcm@openssh.com"  # the cipher our OpenSSH backend asks for
POOLS = ("lustre", "vault")  # big file to disk (lustre), small files to tmpfs (vault)
Action = Callable[[Path], object]


def make_big_file(path: Path, size_mb: int) -> int:
    with open(path, "wb") as handle:
        for _ in range(size_mb * 1024 * 1024 // CHUNK):
            handle.write(os.urandom(CHUNK))
    return path.stat().st_size


def make_small_files(root: Path, count: int) -> int:
    for index in range(count):
        folder = root / f"d{index % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:05d}.dat").write_bytes(os.urandom(512 + index % 4096))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def interleaved_medians(
    site: LocalSite, runs: int, actions: dict[str, tuple[Action, Path]]
) -> tuple[dict[str, float], dict[str, int]]:
    """Median wall time of each action (into a fresh dir under its remote root, removed
    afterwards) and the logins it made. The actions take turns, so a busy machine slows
    them all alike, and each starts with the disk synced."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    logins = dict.fromkeys(actions, 0)
    for _ in range(runs):
        for name, (action, root) in actions.items():
            target = root / secrets.token_hex(4)
            target.mkdir()
            shutil.chown(target, site.doc["user"])
            os.sync()  # no writeback of the previous run's files during this one
            before = site.own_login_count("data")
            started = time.perf_counter()
            action(target)
            times[name].append(time.perf_counter() - started)
            logins[name] += site.own_login_count("data") - before
            shutil.rmtree(target)
    return {name: statistics.median(values) for name, values in times.items()}, logins


def scp(site: LocalSite, source: Path, *extra: str) -> Action:
    data = site.doc["data"]
    base = ["scp", "-q", *site.ssh_options(), "-P", str(data["port"]), *extra, str(source)]
    return lambda target: subprocess.run(
        [*base, f"{site.doc['user']}@{data['host']}:{target}/"],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def library(site: LocalSite, source: Path) -> Action:
    """`hpcskills.sjtu.copies.upload`, in this process."""
    os.environ.update(site.env)
    profile = load_site(ROOT / "skills/sjtu-slurm/site.json")
    access = SiteAccess(Workspace(site.workspace), profile)
    return lambda target: upload(
        access, source, str(target), verify=False, node=None, confirm_token=None
    )


def script(site: LocalSite, source: Path) -> Action:
    """`upload.py SOURCE TARGET`, a whole script run as an agent makes it."""
    return lambda target: site.script("upload.py", str(source), str(target))


def tar_pipe(site: LocalSite, source: Path) -> Action:
    """`tar -c | ssh host tar -x` over the same shared connection: the floor for a tree."""
    data = site.doc["data"]
    endpoint = Endpoint(data["host"], data["port"], site.doc["user"])
    control = control_dir(site.workspace / ".hpcskills") / socket_name(endpoint)
    ssh = [
        "ssh",
        *site.ssh_options(),
        f"-oControlPath={control}",
        "-oControlMaster=no",
        "-p",
        str(data["port"]),
        "-l",
        site.doc["user"],
        data["host"],
    ]

    def run(target: Path) -> None:
        tar = subprocess.Popen(
            ["tar", "-C", str(source.parent), "-cf", "-", source.name], stdout=subprocess.PIPE
        )
        subprocess.run(
            [*ssh, command_line(["tar", "-C", str(target), "-xf", "-"])],
            stdin=tar.stdout,
            check=True,
        )
        assert tar.wait() == 0

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with local_site() as site, tempfile.TemporaryDirectory(prefix="hpcskills-xfer-") as tmp:
        big, tree = Path(tmp) / "big.bin", Path(tmp) / "tree"
        sizes = {
            "big": make_big_file(big, args.size_mb),
            "tree": make_small_files(tree, args.files),
        }
        homes = site.doc["storage"]["homes"]
        roots = {pool: Path(homes[pool]) / f"bench-{secrets.token_hex(4)}" for pool in POOLS}
        for root in roots.values():
            root.mkdir()
            shutil.chown(root, site.doc["user"])
        disk, memory = roots["lustre"], roots["vault"]
        actions = {
            "library_big": (library(site, big), disk),
            "script_big": (script(site, big), disk),
            "scp_big": (scp(site, big), disk),
            "scp_gcm_big": (scp(site, big, "-c", SCP_CIPHER), disk),
            "library_tree": (library(site, tree), memory),
            "script_tree": (script(site, tree), memory),
            "pipe_tree": (tar_pipe(site, tree), memory),
            "scp_tree": (scp(site, tree, "-r"), memory),
        }
        try:
            site.script("cold_storage.py")  # the shared connection is up, as in a session
            timings, logins = interleaved_medians(site, args.runs, actions)
        finally:
            for root in roots.values():
                shutil.rmtree(root, ignore_errors=True)
    ours = ("library", "script")
    our_logins = sum(count for name, count in logins.items() if name.startswith(ours))
    report(args, timings, sizes, our_logins)


def report(
    args: argparse.Namespace, timings: dict[str, float], sizes: dict[str, int], logins: int
) -> None:
    def row(label: str, key: str) -> str:
        seconds = timings[key]
        size = sizes[key.rsplit("_", 1)[1]]
        return f"| {label} | {seconds:.2f} s | {size / seconds / 1e6:.0f} MB/s |"

    def ratio(reference: str, ours: str) -> str:
        return f"{timings[reference] / timings[ours]:.2f}×"

    lines = [
        f"`bench/transfer_bench.py`, {machine()}; medians of {args.runs} interleaved runs; "
        "client and data node sshd on this machine (loopback); the big file lands on the "
        "lustre pool (disk), the small files on the vault pool (tmpfs), so creating files on "
        "a busy disk does not hide the transfer itself.",
        "",
        "| upload | time | throughput |",
        "|---|---|---|",
        row(f"{args.size_mb} MB random file: library `upload()`", "library_big"),
        row("same: `upload.py` (whole script run)", "script_big"),
        row("same: `scp`", "scp_big"),
        row(f"same: `scp -c {SCP_CIPHER}`", "scp_gcm_big"),
        row(f"{args.files} small files: library `upload()` (one tar stream)", "library_tree"),
        row("same: `upload.py` (whole script run)", "script_tree"),
        row("same: `tar -c` piped into `ssh host tar -x`, shared connection (floor)", "pipe_tree"),
        row("same: `scp -r`", "scp_tree"),
        "",
        f"Single file: {ratio('scp_big', 'library_big')} scp's throughput "
        f"({ratio('scp_gcm_big', 'library_big')} against scp with our cipher; "
        f"{ratio('scp_big', 'script_big')} as a script run); goal ≥ 0.8×.",
        f"Small files: {ratio('scp_tree', 'library_tree')} faster than `scp -r` "
        f"({ratio('scp_tree', 'script_tree')} as a script run); goal ≥ 3×.",
        f"All {4 * args.runs} of our uploads together made {logins} new SSH logins (the "
        "shared connection was open); every scp logs in afresh. A script run adds Python "
        "start-up and imports to the library call. The runs take turns, so load from other "
        "work on this shared machine hits all rows alike.",
    ]
    print("\n".join(lines))
    write_section("SJTU transfers", "\n".join(lines))


if __name__ == "__main__":
    main()
