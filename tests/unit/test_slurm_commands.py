"""argv builders for the Slurm commands and the stderr classifiers."""

from __future__ import annotations

from datetime import datetime

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.jobs import sacct_since
from hpcskills.slurm import commands, units
from hpcskills.slurm.commands import (
    FIELD_SEP,
    SACCT_FIELDS,
    SQUEUE_FIELDS,
    is_invalid_job_id_error,
    is_no_accounting_error,
    is_transient_error,
    sacct_argv,
    sbatch_argv,
    scancel_argv,
    scontrol_show_job_argv,
    seff_argv,
    sinfo_argv,
    squeue_argv,
)


def _command(argv: list[str]) -> list[str]:
    """argv after the `env -u ... SLURM_TIME_FORMAT=standard` prefix."""
    assert argv[0] == "env"
    index = argv.index("SLURM_TIME_FORMAT=standard")
    assert all(argv[i] == "-u" for i in range(1, index, 2))
    return argv[index + 1 :]


def test_squeue_defaults_to_every_state_and_a_fixed_format():
    argv = squeue_argv()
    assert "SQUEUE_FORMAT" in argv and "SQUEUE_USERS" in argv  # unset, never inherited
    command = _command(argv)
    assert command[:2] == ["squeue", "--noheader"]
    assert "--states=all" in command
    fmt = next(a for a in command if a.startswith("--format="))
    codes = fmt.removeprefix("--format=").split(FIELD_SEP)
    assert codes == [code for _, code in SQUEUE_FIELDS]
    assert codes[-1] == "%j"  # the free-text name last
    assert all("." not in code for code in codes)  # no widths: nothing truncated


def test_squeue_filters():
    command = _command(
        squeue_argv(
            user="hpcuser",
            job_ids=["101", "102_3"],
            states=["PENDING", "RUNNING"],
            partitions=["cpu", "a100"],
            names=["my job", "other"],
        )
    )
    assert "--user=hpcuser" in command
    assert "--jobs=101,102_3" in command
    assert "--states=PENDING,RUNNING" in command
    assert "--states=all" not in command
    assert "--partition=cpu,a100" in command
    assert "--name=my job,other" in command


@pytest.mark.parametrize(
    "kwargs",
    [
        {"job_ids": ["1;rm -rf ~"]},
        {"job_ids": ["-1"]},
        {"job_ids": [""]},
        {"job_ids": []},
        {"job_ids": ["12_[1-3]"]},
        {"user": "-o%all"},
        {"user": "a b"},
        {"states": ["RUNNING,x=1"]},
        {"partitions": ["cpu;ls"]},
        {"names": ["a,b"]},
        {"names": ["line\nbreak"]},
    ],
)
def test_squeue_rejects_unsafe_values(kwargs):
    with pytest.raises(BadInput):
        squeue_argv(**kwargs)


def test_sacct_allocations_parsable_with_our_delimiter():
    argv = sacct_argv(job_ids=["7", "8_1"])
    assert "SACCT_FORMAT" in argv
    command = _command(argv)
    assert command[0] == "sacct"
    assert {"--noheader", "--allocations", "--parsable2"} <= set(command)
    assert "--delimiter=" + FIELD_SEP in command
    assert "--format=" + ",".join(SACCT_FIELDS) in command
    assert SACCT_FIELDS[-1] == "JobName"
    assert "--jobs=7,8_1" in command
    assert not any(a.startswith("--starttime") for a in command)


def test_sacct_since_user_and_states():
    command = _command(
        sacct_argv(user="hpcuser", since=datetime(2024, 5, 1, 8, 30), states=["FAILED"])
    )
    assert "--user=hpcuser" in command
    assert "--starttime=2024-05-01T08:30:00" in command
    assert "--state=FAILED" in command
    assert "--starttime=now-7days" in _command(sacct_argv(since="now-7days"))


def test_sacct_rejects_states_without_a_window_and_odd_times():
    with pytest.raises(BadInput, match="start time"):
        sacct_argv(states=["FAILED"])
    for since in ("-1", "2024 05 01", "now; rm", ""):
        with pytest.raises(BadInput):
            sacct_argv(since=since)


def test_sinfo_scontrol_scancel_sbatch_seff():
    sinfo = _command(sinfo_argv())
    assert sinfo[:2] == ["sinfo", "--noheader"]
    assert sinfo[2].startswith("--format=%P" + FIELD_SEP)
    assert _command(scontrol_show_job_argv("42")) == [
        "scontrol", "--oneliner", "show", "job", "42"
    ]  # fmt: skip
    assert scancel_argv(["1", "2_3"]) == ["scancel", "1", "2_3"]
    assert sbatch_argv("/lustre/home/a/u/job.sh") == [
        "sbatch", "--parsable", "/lustre/home/a/u/job.sh"
    ]  # fmt: skip
    assert seff_argv("42") == ["seff", "42"]
    for bad in ("", "-x.sh", "a\nb.sh"):
        with pytest.raises(BadInput):
            sbatch_argv(bad)
    with pytest.raises(BadInput):
        scancel_argv([])
    with pytest.raises(BadInput):
        scontrol_show_job_argv("42 43")


def test_stderr_classifiers():
    assert is_invalid_job_id_error("slurm_load_jobs error: Invalid job id specified\n")
    assert not is_invalid_job_id_error("squeue: error: Invalid user: bob")
    assert is_transient_error("squeue: error: Socket timed out on send/recv operation")
    assert is_transient_error(
        "sbatch: error: Batch job submission failed: Unable to contact slurm controller "
        "(connect failure)"
    )
    assert not is_transient_error("sbatch: error: invalid partition specified: gpu")
    assert is_no_accounting_error("Slurm accounting storage is disabled\n")
    assert not is_no_accounting_error("sacct: error: Problem talking to the database")
    assert is_transient_error("sacct: error: Problem talking to the database: Connection refused")


@pytest.mark.parametrize(
    "job_id", ["9" * 40, "4294967296", "123_4000001", "123_" + "9" * 40, "0", "00", "1_", "_1"]
)
def test_job_ids_beyond_what_slurm_can_hold_are_bad_input(job_id: str) -> None:
    with pytest.raises(BadInput):
        commands.check_job_ids([job_id])


def test_the_largest_job_ids_pass() -> None:
    assert commands.check_job_ids(["4294967295", "1_0", "1_4000000"]) == [
        "4294967295", "1_0", "1_4000000"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", "now-2hours"),
        ("30m", "now-30minutes"),
        ("1w", "now-1weeks"),
        ("2026-11-01", "2026-11-01"),
        ("2026-11-01T08:30", "2026-11-01T08:30"),
        ("2026-11-01T08:30:15", "2026-11-01T08:30:15"),
        ("now", "now"),
        ("now-7days", "now-7days"),
        ("now-90minutes", "now-90minutes"),
        ("now-3600", "now-3600"),
        (" 3d ", "now-3days"),
    ],
)
def test_sacct_start_times(text: str, expected: str) -> None:
    assert units.sacct_start(text) == expected


@pytest.mark.parametrize(
    "text",
    ["yesterdayish", "2026-13-45", "2026-02-30", "2026-11-01T25:00", "now-3fortnights",
     "now+2days", "now-99999999999days", "", " ", "2026-11-01 08:30", "-7days", "2h;id"],
)
def test_sacct_start_refuses_what_sacct_would_misread(text: str) -> None:
    assert units.sacct_start(text) is None
    with pytest.raises(BadInput) as caught:
        sacct_since(text)
    assert "--since" in caught.value.message
