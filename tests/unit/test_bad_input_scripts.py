"""Reproductions of the audit's validation gaps (security audit 2026-12-04, items 6-8): each
bad input is one JSON error with exit 2, and nothing changed — the workspace is byte-for-byte
the same and no request could be made (the Bohrium host is a closed port, so any request
would be exit 5; an SJTU script that got past validation would need a token: exit 4)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.users import remember_user

from scriptrun import run_script

CLOSED = "http://127.0.0.1:9"
BOHRIUM_ENV = {"ACCESS_KEY": "fake-key-123456", "OPENAPI_HOST": CLOSED, "PROJECT_ID": "154",
               "TIEFBLUE_HOST": CLOSED}
ANSI = "a\x1b[31mred"
LONG = "x" * 100_000
DIGITS40 = "9" * 40

CASES: list[tuple[str, str, tuple[str, ...]]] = [
    # item 8: SJTU times, ids, empty values, email
    ("sjtu-slurm", "list_jobs.py", ("--since", "yesterdayish")),
    ("sjtu-slurm", "list_jobs.py", ("--since", "2026-13-45")),
    ("sjtu-slurm", "list_jobs.py", ("--since", "2026-02-30")),
    ("sjtu-slurm", "list_jobs.py", ("--since", "now-3fortnights")),
    ("sjtu-slurm", "list_jobs.py", ("--since", "now-99999999999days")),
    ("sjtu-slurm", "list_jobs.py", ("--since", "")),
    ("sjtu-slurm", "list_jobs.py", ("--name", "")),
    ("sjtu-slurm", "list_jobs.py", ("--node-group", "")),
    ("sjtu-slurm", "cancel_jobs.py", (DIGITS40,)),
    ("sjtu-slurm", "cancel_jobs.py", ("4294967296",)),
    ("sjtu-slurm", "cancel_jobs.py", ("123_" + DIGITS40,)),
    ("sjtu-slurm", "job_info.py", (DIGITS40,)),
    ("sjtu-slurm", "job_efficiency.py", (DIGITS40,)),
    ("sjtu-slurm", "cluster_status.py", ("--node-group", "")),
    ("sjtu-slurm", "cluster_status.py", ("--node-group", " ")),
    ("sjtu-slurm", "user_info.py", ("--name", "")),
    ("sjtu-slurm", "quota.py", ("--name", "")),
    ("sjtu-slurm", "select_entry_node.py", ("--node-group", "")),
    ("sjtu-slurm", "submit_job.py", ("--name", "", "-p", "cpu", "--command", "true",
                                     "--dry-run")),
    ("sjtu-slurm", "update_user.py", ("--name", "", "--email", "a@example.org")),
    ("sjtu-slurm", "update_user.py", ("--email", LONG + "@example.org")),
    ("sjtu-slurm", "update_user.py", ("--email", "a" * 65 + "@example.org")),
    ("sjtu-slurm", "update_user.py", ("--email", "a@b@example.org")),
    ("sjtu-slurm", "update_user.py", ("--email", "a@example.org\x1b[31m")),
    # item 6: numbers that are not numbers of seconds
    ("hpc-jobs", "watch_jobs.py", ("88", "--max-interval", "nan")),
    ("hpc-jobs", "watch_jobs.py", ("88", "--timeout", "nan")),
    ("hpc-jobs", "watch_jobs.py", ("88", "--timeout", "inf")),
    ("hpc-jobs", "watch_jobs.py", ("88", "--timeout", "-5")),
    ("hpc-jobs", "submit_dpdispatcher.py", ("--timeout", "-5", "--dry-run")),
    ("hpc-jobs", "submit_dpdispatcher.py", ("--timeout", "nan", "--dry-run")),
    # item 8: Bohrium names
    ("bohrium-job", "rename_job.py", ("22153600", "a\nb")),
    ("bohrium-job", "rename_job.py", ("22153600", ANSI)),
    ("bohrium-job", "rename_job.py", ("22153600", LONG)),
    ("bohrium-job", "rename_job.py", ("22153600", "")),
    ("bohrium-job", "job_group.py", ("create", "-n", "a\x01b\n")),
    ("bohrium-job", "job_group.py", ("create", "-n", LONG)),
    ("bohrium-job", "job_group.py", ("create", "-n", "")),
    ("bohrium-job", "job_group.py", ("rename", "7", ANSI)),
]


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize(("skill", "name", "args"), CASES, ids=lambda v: str(v)[:40])
def test_bad_input_is_exit_2_and_changes_nothing(
    skill: str, name: str, args: tuple[str, ...], tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    remember_user(Workspace(workspace), "alice")  # so that good input goes on to need a token
    before = _tree_hash(workspace)
    env = {**BOHRIUM_ENV, "OPENCLAW_CONFIG_PATH": str(tmp_path / "openclaw.json")}
    result = run_script(skill, name, *args, "--workspace", str(workspace), env=env)
    assert result.returncode == 2, result.describe()
    assert result.error["type"] != "username_required"
    assert _tree_hash(workspace) == before


@pytest.mark.parametrize(
    ("skill", "name", "args"),
    [("sjtu-slurm", "list_jobs.py", ("--since", since))
     for since in ("2h", "2026-11-01", "2026-11-01T08:30", "now-7days", "now")]
    + [("sjtu-slurm", "cancel_jobs.py", ("4294967295", "123_4000000")),
       ("sjtu-slurm", "user_info.py", ("--name", "alice"))],
)
def test_good_input_goes_on_to_need_a_token(
    skill: str, name: str, args: tuple[str, ...], tmp_path: Path
) -> None:
    """The other side of the cases above: the same scripts with good values get past
    validation (and stop at the missing token, exit 4)."""
    workspace = tmp_path / "ws"
    remember_user(Workspace(workspace), "alice")
    result = run_script(skill, name, *args, "--workspace", str(workspace))
    assert result.returncode == 4, result.describe()


def test_bohrium_submit_refuses_names_with_control_characters(tmp_path: Path) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "in.shear").write_text("run 100\n")
    for bad in ("a\nb", ANSI, "x" * 129):
        result = run_script(
            "bohrium-job", "submit_job.py", "--template", "lammps", "-p", str(folder),
            "-n", bad, "--dry-run", "--workspace", str(tmp_path / "ws"), env=BOHRIUM_ENV,
        )
        assert result.returncode == 2, result.describe()
        assert "name" in result.error["message"]
    fine = run_script(
        "bohrium-job", "submit_job.py", "--template", "lammps", "-p", str(folder),
        "-n", "x" * 128, "--dry-run", "--workspace", str(tmp_path / "ws"), env=BOHRIUM_ENV,
    )
    assert fine.returncode == 0, fine.describe()


@pytest.mark.parametrize(
    "profile",
    [{"username": "-oProxyCommand=touch /tmp/hsec"}, {"hostname": "-oProxyCommand=x"},
     {"port": 99999}, {"timeout": -5}],
)
def test_dpdispatcher_refuses_ssh_profiles_that_are_not_one(tmp_path: Path, profile) -> None:
    import json
    import shutil

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "dpdispatcher"
    base = tmp_path / "job"
    shutil.copytree(fixtures, base)
    machine = json.loads((base / "machine.json").read_text())
    machine["remote_profile"].update(profile)
    (base / "machine.json").write_text(json.dumps(machine))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    result = run_script(
        "hpc-jobs", "submit_dpdispatcher.py", "--machine", str(base / "machine.json"),
        "--resources", str(base / "resources.json"), "--task", str(base / "task.json"),
        "--workspace", str(workspace),
    )
    assert result.returncode == 2, result.describe()
    assert result.error["field"].startswith("machine.remote_profile.")
    assert list(workspace.iterdir()) == []
