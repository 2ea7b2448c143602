"""Arrays, dependencies and holds: parsed and checked before any connection, rendered as
sbatch options, checked against the site's array limit, and array tasks listed one by one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fakeslurm import LocalShell

from hpcskills.core.errors import BadInput
from hpcskills.jobs.slurm_status import summarize, task_states
from hpcskills.sjtu.jobs import one_per_task
from hpcskills.sjtu.release import is_held
from hpcskills.sjtu.site import SlurmSettings, load_site
from hpcskills.sjtu.submit import prepare
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.commands import FIELD_SEP, SQUEUE_FIELDS
from hpcskills.slurm.parse import parse_squeue
from hpcskills.slurm.runopts import expand_task_range, parse_array, run_options

SITE = load_site(Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json")


@pytest.mark.parametrize(
    ("text", "indices", "throttle"),
    [
        ("1-8%2", tuple(range(1, 9)), 2),
        ("0,3,5-7", (0, 3, 5, 6, 7), None),
        ("1-9:4", (1, 5, 9), None),
        ("7", (7,), None),
        ("3,1-2", (1, 2, 3), None),
    ],
)
def test_array_specs(text: str, indices: tuple[int, ...], throttle: int | None) -> None:
    spec = parse_array(text)
    assert spec.indices == indices and spec.throttle == throttle and spec.size == len(indices)


@pytest.mark.parametrize(
    "text", ["", "1-8%0", "1-8%", "8-1", "1-8:0", "a-b", "1--3", "1-8%2%3", "1-99999999", "1;2"]
)
def test_bad_array_specs_are_bad_input(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_array(text)
    assert caught.value.type == "bad_array"


def test_run_options_render_sbatch_options_and_describe_themselves() -> None:
    run = run_options(array="1-8%2", after_ok=["12", "13_2"], after_any=["14"], hold=True)
    assert run.sbatch_options() == [
        "--array=1-8%2",
        "--dependency=afterok:12:13_2,afterany:14",
        "--hold",
    ]
    assert run.depends_on == ["12", "13_2", "14"]
    assert run.describe() == {
        "array": {"spec": "1-8%2", "size": 8, "throttle": 2},
        "depends_on": [
            {"kind": "afterok", "job_ids": ["12", "13_2"]},
            {"kind": "afterany", "job_ids": ["14"]},
        ],
        "held": True,
    }
    assert run_options().sbatch_options() == [] and run_options().describe() == {}
    with pytest.raises(BadInput):
        run_options(after_not_ok=["12; rm -rf /"])


def test_array_size_is_checked_against_the_site_and_marked_unverified() -> None:
    fields = {"partition": "cpu", "command": "echo $SLURM_ARRAY_TASK_ID", "time": "10"}
    ok = prepare(
        SITE, script_file=None, spec_file=None, fields=fields, run=run_options(array="0-1000%5")
    )
    assert ok.run.array is not None and ok.run.array.size == 1001
    assert any("unverified" in w for w in ok.warnings)
    with pytest.raises(BadInput) as caught:
        prepare(
            SITE, script_file=None, spec_file=None, fields=fields, run=run_options(array="1-1001")
        )
    assert caught.value.type == "over_array_limit" and "unverified" in caught.value.message
    verified = replace(SITE, slurm=SlurmSettings(max_array_size=50, max_array_size_source="doc"))
    checked = prepare(
        verified, script_file=None, spec_file=None, fields=fields, run=run_options(array="1-49")
    )
    assert not any("unverified" in w for w in checked.warnings)
    unlimited = replace(SITE, slurm=SlurmSettings())
    assert (
        prepare(
            unlimited,
            script_file=None,
            spec_file=None,
            fields=fields,
            run=run_options(array="1-5000"),
        ).run.array
        is not None
    )


def test_site_profile_reads_and_writes_the_array_limit() -> None:
    assert SITE.slurm.max_array_size == 1001 and not SITE.slurm.max_array_size_verified
    document = SITE.to_document()
    assert document["slurm"]["max_array_size"] == 1001


def _line(job_id: str, state: str, reason: str = "") -> str:
    values = {
        "job_id": job_id,
        "raw_state": state,
        "reason": reason,
        "partition": "cpu",
        "user": "u",
        "name": "n",
        "cpus": "1",
    }
    return FIELD_SEP.join(values.get(name, "") for name, _ in SQUEUE_FIELDS)


def test_pending_ranges_are_listed_task_by_task() -> None:
    queued = parse_squeue(
        "\n".join([_line("7_1", "RUNNING"), _line("7_[2-4%2]", "PENDING"), _line("8", "PENDING")])
    )
    rows = one_per_task(queued)
    assert [(r.job_id, r.array_job_id, r.array_task_id) for r in rows] == [
        ("7_1", "7", "1"),
        ("7_2", "7", "2"),
        ("7_3", "7", "3"),
        ("7_4", "7", "4"),
        ("8", "8", None),
    ]
    assert task_states(queued[:2]) == {
        "1": "RUNNING",
        "2": "PENDING",
        "3": "PENDING",
        "4": "PENDING",
    }
    status = summarize("7", queued[:2], "squeue")
    assert status.detail["array_task_states"]["4"] == "PENDING"
    assert status.detail["array_tasks"] == {"RUNNING": 1, "PENDING": 1}
    assert expand_task_range("[1-5000]", 1000) is None and expand_task_range("3") is None


def test_held_jobs_are_told_apart_and_released_with_one_scontrol(tmp_path: Path) -> None:
    held, waiting = parse_squeue(
        "\n".join(
            [_line("9_[1-8%2]", "PENDING", "JobHeldUser"), _line("10", "PENDING", "Dependency")]
        )
    )
    assert is_held(held) and not is_held(waiting)
    shell = LocalShell(tmp_path)
    shell.answer("scontrol")
    SlurmClient(shell, shell).release(["9", "11"])
    assert shell.calls("scontrol") == ["release 9,11"]
    shell.answer("scontrol", stderr="Invalid job id specified", status=1)
    with pytest.raises(Exception, match="scontrol release failed"):
        SlurmClient(shell, shell).release(["9"])
