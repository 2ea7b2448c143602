"""Fetching a job's outputs to this machine on the real local site (watch_jobs.py
--fetch-outputs): same-named files of different remote directories stay apart, and a local
file that differs from the remote one is never overwritten (audit 2026-12-04, section 10)."""

from __future__ import annotations

import os
from pathlib import Path

from hpcskills.jobs.group_outputs import download_files
from hpcskills.jobs.outputs import fetch_declared
from hpcskills.ledger.records import Submission
from hpcskills.ssh.base import Remote

from jobsfix import login

FILES = {"logs/out.txt": "stdout\n", "errs/out.txt": "stderr\n", "t2/sub/x.dat": "x\n"}


def remote_tree(remote: Remote) -> str:
    """A fresh remote directory holding FILES; its absolute path."""
    script = 'd=$(mktemp -d) && cd "$d" && while [ $# -gt 0 ]; do mkdir -p "$(dirname "$1")" ' \
        '&& printf %s "$2" > "$1"; shift 2; done && pwd -P'
    pairs = [part for item in FILES.items() for part in item]
    return remote.run(["sh", "-c", script, "sh", *pairs]).check("setup").stdout.strip()


def record(remote_dir: str, files: list[str]) -> Submission:
    return Submission(
        id=1, platform="slurm", site="sjtu", idempotency_key="k", phase="submitted",
        created_at="", updated_at="", job_id="77", name="j", remote_user="u",
        details={"outputs": {"remote_dir": remote_dir, "files": files}},
    )


def test_same_named_outputs_stay_apart_and_local_edits_are_kept(cluster, tmp_path: Path) -> None:
    _endpoint, remote = login(cluster)
    try:
        remote_dir = remote_tree(remote)
        job = record(remote_dir, ["logs/out.txt", "errs/out.txt", "missing-%j.txt"])
        out = tmp_path / "out"
        first = fetch_declared(remote, job, out)
        assert (out / "logs" / "out.txt").read_text() == "stdout\n"
        assert (out / "errs" / "out.txt").read_text() == "stderr\n"
        assert first["fetched"] == ["errs/out.txt", "logs/out.txt"]
        assert first["absent"] == [f"{remote_dir}/missing-77.txt"]

        (out / "logs" / "out.txt").write_text("my notes\n")  # the user's own edit
        again = fetch_declared(remote, job, out)
        assert (out / "logs" / "out.txt").read_text() == "my notes\n"
        assert again["fetched"] == [] and again["unchanged"] == ["errs/out.txt"]
        assert again["not_overwritten"] == [str(out / "logs" / "out.txt")]
        assert "another --output-dir" in again["hint"]

        flat = fetch_declared(remote, record(remote_dir, ["logs/out.txt"]), tmp_path / "flat")
        assert flat["fetched"] == ["out.txt"]  # one directory: the files themselves
        assert (tmp_path / "flat" / "out.txt").read_text() == "stdout\n"
    finally:
        remote.close()


def test_group_files_keep_their_task_paths_and_never_replace_local_files(
    cluster, tmp_path: Path
) -> None:
    _endpoint, remote = login(cluster)
    try:
        remote_dir = remote_tree(remote)
        base = tmp_path / "work"
        (base / "logs").mkdir(parents=True)
        (base / "logs" / "out.txt").write_text("local input, not an output\n")
        got = download_files(remote, remote_dir, base, ["logs/*.txt", "errs/out.txt", "t2/sub"])
        assert (base / "logs" / "out.txt").read_text() == "local input, not an output\n"
        assert (base / "errs" / "out.txt").read_text() == "stderr\n"
        assert (base / "t2" / "sub" / "x.dat").read_text() == "x\n"  # a directory, expanded
        assert got.fetched == ["errs/out.txt", "t2/sub/x.dat"]
        assert got.not_overwritten == ["logs/out.txt"]

        os.utime(base / "errs" / "out.txt", (0, 0))  # same bytes, another mtime: not the same
        again = download_files(remote, remote_dir, base, ["errs/out.txt", "t2/sub"])
        assert again.fetched == [] and again.unchanged == ["t2/sub/x.dat"]
        assert again.not_overwritten == ["errs/out.txt"]
    finally:
        remote.close()
