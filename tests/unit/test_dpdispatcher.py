"""DPDispatcher inputs (pure): parsing with its names and defaults, scripts per batch type,
task grouping, per-task states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.dpdispatcher import inputs, render, status
from hpcskills.jobs.shell_status import parse_status
from hpcskills.ledger.records import Submission

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dpdispatcher"
SSH = {
    "batch_type": "Slurm",
    "context_type": "SSHContext",
    "local_root": "./",
    "remote_root": "/scratch/work/",
    "remote_profile": {"hostname": "login", "username": "u"},
}
TASK = {"command": "run", "task_work_path": "a/"}


def spec(machine=None, resources=None, tasks=None, **kw):
    task_list = [inputs.parse_task(t) for t in tasks or [TASK]]
    return inputs.build_submission(
        machine or SSH,
        {"group_size": 1} if resources is None else resources,
        task_list,
        base_dir=Path("/w"),
        **kw,
    )


def test_seed_fixture_files_load_with_defaults() -> None:
    loaded = inputs.load_submission(
        machine=FIXTURES / "machine.json",
        resources=FIXTURES / "resources.json",
        tasks=(FIXTURES / "task.json", FIXTURES / "tasks.json"),
        work_base="lammps_md_300K_5GPa/",
        forward_common=("graph.pb",),
    )
    assert loaded.machine.ssh.port == 2222 and loaded.machine.local_root == str(FIXTURES)
    assert len(loaded.tasks) == 5 and loaded.tasks[0].outlog == "log"
    assert loaded.tasks[1].errlog == "err"  # DPDispatcher's default
    assert loaded.resources.para_deg == 2 and loaded.resources.if_cuda_multi_devices
    assert [len(j.tasks) for j in render.plan_jobs(loaded)] == [2, 2, 1]


def test_submission_file_form(tmp_path: Path) -> None:
    document = {
        "work_base": "wb/",
        "machine": SSH,
        "resources": {"group_size": 0},
        "task_list": [TASK, {**TASK, "task_work_path": "b"}],
        "forward_common_files": ["g.pb"],
    }
    path = tmp_path / "submission.json"
    path.write_text(json.dumps(document))
    loaded = inputs.load_submission(submission=path)
    assert loaded.machine.local_root == str(tmp_path) and loaded.work_base == "wb/"
    assert len(render.plan_jobs(loaded)) == 1  # group_size 0 = all tasks in one job
    with pytest.raises(BadInput):
        inputs.load_submission(submission=path, machine=path)


def test_same_definition_same_hash_and_jobs() -> None:
    first, second = spec(), spec()
    assert first.hash == second.hash
    assert render.plan_jobs(first) == render.plan_jobs(second)
    assert spec(resources={"group_size": 2}).hash != first.hash


@pytest.mark.parametrize(
    ("machine", "resources", "tasks", "field"),
    [
        ({**SSH, "batch_type": "PBS"}, None, None, "machine.batch_type"),
        ({**SSH, "context_type": "LocalContext"}, None, None, "machine.context_type"),
        ({**SSH, "remote_proflie": {}}, None, None, "machine"),
        (None, {"group_size": 1, "cpu_per_nod": 2}, None, "resources"),
        (None, {}, None, "resources.group_size"),
        (
            None,
            {"group_size": 1, "strategy": {"if_cuda_multi_devices": True}},
            None,
            "resources.strategy.if_cuda_multi_devices",
        ),
        (None, {"group_size": 1, "module_list": ["ok", "bad name"]}, None, "resources.module_list"),
        (None, {"group_size": 1, "envs": {"1X": "y"}}, None, "resources.envs.1X"),
        (None, None, [{"command": "x", "task_work_path": "../up"}], "task.task_work_path"),
        (None, None, [{"command": "x", "task_work_path": "/abs"}], "task.task_work_path"),
        (None, None, [TASK, TASK], "task_list"),
        *[
            ({**SSH, "remote_profile": {"hostname": "login", "username": bad}}, None, None,
             "machine.remote_profile.username")
            for bad in ("-oProxyCommand=touch /tmp/x", "u v", "u\nv", "u\x1b[31m", "x" * 65)
        ],
        *[
            ({**SSH, "remote_profile": {"hostname": bad, "username": "u"}}, None, None,
             "machine.remote_profile.hostname")
            for bad in ("-oProxyCommand=touch /tmp/x", "lo gin", "login\n", "a;b", "x" * 254)
        ],
        *[
            ({**SSH, "remote_profile": {"hostname": "h", "username": "u", "port": port}}, None,
             None, "machine.remote_profile.port")
            for port in (0, 65536, 99999, -1, "22", 22.0, True)
        ],
        *[
            ({**SSH, "remote_profile": {"hostname": "h", "username": "u", "timeout": t}}, None,
             None, "machine.remote_profile.timeout")
            for t in (-5, 0, float("nan"), float("inf"), "10", True)
        ],
    ],
)
def test_bad_inputs_name_the_field(machine, resources, tasks, field) -> None:
    with pytest.raises(BadInput) as raised:
        spec(machine, resources, tasks)
    assert raised.value.details["field"] == field


def test_good_ssh_profiles_pass() -> None:
    for profile in (
        {"hostname": "sylogin1.hpc.sjtu.edu.cn", "username": "alice_01", "port": 65535},
        {"hostname": "127.0.0.1", "username": "u.v-w", "port": 1, "timeout": 10},
        {"hostname": "login", "username": "u", "timeout": 2.5},
    ):
        assert spec({**SSH, "remote_profile": profile}).machine.ssh is not None


def test_passwords_in_the_files_are_never_used() -> None:
    ssh = {**SSH, "remote_profile": {"hostname": "h", "username": "u", "password": "pw-123"}}
    assert "password" in spec(ssh).machine.ssh.notes[0]
    bohrium = {
        "batch_type": "Bohrium",
        "context_type": "Bohrium",
        "remote_profile": {
            "email": "a@b.c",
            "password": "pw-123",
            "program_id": 7,
            "input_data": {},
        },
    }
    built = spec(bohrium)
    assert built.machine.bohrium_profile == {"program_id": 7, "input_data": {}}
    assert "password" in built.machine.notes[0] and "pw-123" not in str(built)


def test_unknown_key_gets_a_suggestion() -> None:
    with pytest.raises(BadInput) as raised:
        spec(resources={"group_size": 1, "cpu_per_nod": 2})
    assert "cpu_per_nod → cpu_per_node" in raised.value.hint


def test_slurm_script_has_every_resource_field() -> None:
    resources = {
        "number_node": 2,
        "cpu_per_node": 4,
        "gpu_per_node": 2,
        "queue_name": "gpu",
        "group_size": 3,
        "para_deg": 2,
        "custom_flags": ["#SBATCH --nice=100"],
        "strategy": {"if_cuda_multi_devices": True},
        "module_purge": True,
        "module_unload_list": ["singularity"],
        "module_list": ["singularity/3.0.0"],
        "source_list": ["./env.sh", "~/.bashrc"],
        "envs": {"A": "x y", "B": "$PATH:/opt"},
        "prepend_script": ["ulimit -s unlimited"],
        "append_script": ["echo done"],
    }
    tasks = [{**TASK, "task_work_path": p, "outlog": "o", "errlog": None} for p in "abc"]
    built = spec(resources=resources, tasks=tasks)
    (job,) = render.plan_jobs(built)
    text = render.render_job(built, job, "/r/x")
    for line in (
        "#!/bin/bash -l",
        "#SBATCH --nodes 2",
        "#SBATCH --ntasks-per-node 4",
        "#SBATCH --gres=gpu:2",
        "#SBATCH --partition gpu",
        "#SBATCH --nice=100",
        "module purge",
        "module unload singularity",
        "module load singularity/3.0.0",
        "source ./env.sh",
        "source ~/.bashrc",
        'export A="x y"',
        'export B="$PATH:/opt"',
        "ulimit -s unlimited",
        "echo done",
        "REMOTE_ROOT=/r/x",
    ):
        assert line in text.splitlines(), line
    assert text.count("export CUDA_VISIBLE_DEVICES=0;") == 2  # tasks a and c
    assert text.count("export CUDA_VISIBLE_DEVICES=1;") == 1
    assert text.count("fi &") == 3 and text.count("\nwait\n") == 2  # para_deg 2: waits
    assert "1>>o" in text and "2>>" not in text  # errlog None: stderr not redirected
    assert text.index("module purge") < text.index("REMOTE_ROOT=")


def test_custom_gpu_line_and_array_and_shell() -> None:
    gpu = {
        "group_size": 0,
        "gpu_per_node": 1,
        "kwargs": {"custom_gpu_line": "#SBATCH --gpus-per-node=a100:1"},
    }
    tasks = [{**TASK, "task_work_path": p} for p in "ab"]
    built = spec(resources=gpu, tasks=tasks)
    text = render.render_job(built, render.plan_jobs(built)[0], "/r")
    assert "#SBATCH --gpus-per-node=a100:1" in text and "--gres" not in text
    array = spec({**SSH, "batch_type": "SlurmJobArray"}, {"group_size": 0}, tasks)
    text = render.render_job(array, render.plan_jobs(array)[0], "/r")
    assert "#SBATCH --array=0-1" in text and 'case "$SLURM_ARRAY_TASK_ID" in' in text
    assert "0)" in text and "1)" in text
    shell = spec({**SSH, "batch_type": "shell"}, {"group_size": 1}, tasks)
    text = render.render_job(shell, render.plan_jobs(shell)[0], "/r")
    assert text.startswith("#!/bin/bash\n") and "#SBATCH" not in text


def _record(state: str | None, phase: str = "submitted") -> Submission:
    return Submission(
        1,
        "slurm",
        "h",
        "k",
        phase,
        "t",
        "t",
        job_id="5",
        state=state,
        details={"job_hash": "j", "attempt": 1},
    )


def test_task_states_from_tags_and_job_state() -> None:
    assert status.task_state(("finished", None), None)[0] == "finished"
    assert status.task_state(None, None)[0] == "not_submitted"
    assert status.task_state(("none", None), _record("RUNNING"))[0] == "running"
    assert status.task_state(("none", None), _record("PENDING"))[0] == "pending"
    assert status.task_state(("failed", 3), _record("FAILED")) == ("failed", 3, "exit code 3")
    # a stale exit code while the job runs again is not a failure yet
    assert status.task_state(("failed", 3), _record("RUNNING"))[0] == "running"
    state, code, reason = status.task_state(("none", None), _record("TIMEOUT"))
    assert (state, code) == ("failed", None) and "TIMEOUT" in reason
    assert status.task_state(("none", None), _record(None, "unknown"))[0] == "unknown"


def test_latest_attempt_wins() -> None:
    old, new = _record("FAILED"), _record("RUNNING")
    new.details = {"job_hash": "j", "attempt": 2}
    assert status.latest_attempts([new, old])["j"] is new


def test_shell_status_lines() -> None:
    found = parse_status("12 EXIT 0\n13 EXIT 2\n14 RUNNING -\n15 VANISHED -\nnoise\n")
    assert found["12"][0] == "COMPLETED" and found["13"] == ("FAILED", "exit 2", 2)
    assert found["14"][0] == "RUNNING" and found["15"][:2] == ("FAILED", "VANISHED")
