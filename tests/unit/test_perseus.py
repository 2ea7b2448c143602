"""PERSEUS: records mapped per seed 002 (pure), and the simulator's validation and upsert."""

from __future__ import annotations

import pytest
import requests

from hpcskills.core.errors import AuthRequired, BadInput, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.perseus import records as pr
from hpcskills.perseus.client import PerseusClient
from hpcskills.perseus.config import load_settings, load_token, parse_cluster_ids
from hpcskills.sim.perseus import ADD_PATH, PerseusSimulator, validate_job

OID = "65f0c0ffee0000000000abcd"
SCOPE = pr.Scope(OID, "cp-1", "sjtupi")
EXTRA = {"site": "sjtu", "ledger_id": 1}


def sacct_part(**changes):
    part = {
        "job_id": "100",
        "job_id_raw": "100",
        "array_job_id": "100",
        "array_task_id": None,
        "name": "relax",
        "state": "COMPLETED",
        "raw_state": "COMPLETED",
        "exit_code": 0,
        "signal": 0,
        "partition": "cpu",
        "account": "acct",
        "user": "alice",
        "submit_time": "2024-05-01T10:00:00",
        "start_time": "2024-05-01T10:00:05",
        "end_time": "2024-05-01T11:00:05",
        "elapsed_seconds": 3600,
        "time_limit_seconds": 7200,
        "nodes": 2,
        "cpus": 80,
        "alloc_tres": {"cpu": "80", "mem": "4000M", "node": "2", "gres/gpu": "4", "billing": "80"},
        "req_mem_bytes": None,
        "node_list": "node[01-02]",
        "work_dir": "/lustre/home/alice/run",
        "reason": None,
        "comment": None,
    }
    return {**part, **changes}


def test_finished_job_maps_every_field() -> None:
    record = pr.slurm_record(sacct_part(), SCOPE, EXTRA)
    assert record == {
        "job_id": 100,
        "job_name": "relax",
        "project_oid": SCOPE.project_oid,
        "compute_project_id": "cp-1",
        "cluster_id": "sjtupi",
        "partition": "cpu",
        "nodes": ["node01", "node02"],
        "allocated_resources": ["2 nodes", "80 CPUs", "3.9 GiB memory", "4 GPUs"],
        "working_directory": "/lustre/home/alice/run",
        "submitted": "2024-05-01T10:00:00",
        "start": "2024-05-01T10:00:05",
        "end": "2024-05-01T11:00:05",
        "time_limit": 7200,
        "user": "alice",
        "state": "COMPLETED",
        "additional_data": {
            "platform": "slurm",
            "raw_state": "COMPLETED",
            "exit_code": 0,
            "account": "acct",
            "elapsed_seconds": 3600,
            **EXTRA,
        },
    }
    assert validate_job(record, 0) == []


def test_reasons_for_unsuccessful_jobs() -> None:
    failed = pr.slurm_record(sacct_part(state="FAILED", raw_state="FAILED", exit_code=3), SCOPE, {})
    assert failed["reason"] == "exit code 3"
    cancelled = pr.slurm_record(
        sacct_part(state="CANCELLED", raw_state="CANCELLED by 1001"), SCOPE, {}
    )
    assert cancelled["reason"] == "CANCELLED by 1001"
    timeout = pr.slurm_record(sacct_part(state="TIMEOUT", raw_state="TIMEOUT"), SCOPE, {})
    assert timeout["reason"] == "time limit reached"
    pending = pr.slurm_record(
        sacct_part(
            state="PENDING",
            raw_state="PENDING",
            reason="Priority",
            start_time=None,
            end_time=None,
            node_list=None,
            alloc_tres={},
            req_mem_bytes=1 << 30,
        ),
        SCOPE,
        {},
    )
    assert pending["reason"] == "Priority" and "end" not in pending and "nodes" not in pending
    assert pending["allocated_resources"] == ["2 nodes", "80 CPUs", "1.0 GiB memory"]


def test_array_tasks_and_pending_ranges() -> None:
    task = pr.slurm_record(
        sacct_part(job_id="100_3", job_id_raw="104", array_task_id="3"), SCOPE, {}
    )
    assert (task["job_id"], task["group_id"], task["group_index"]) == (104, 100, 3)
    rest = pr.slurm_record(
        sacct_part(job_id="100_[4-9%2]", array_task_id="[4-9%2]", state="PENDING"), SCOPE, {}
    )
    assert (rest["job_id"], rest["group_id"], rest["group_index"]) == (100, 100, 4)
    assert rest["additional_data"]["pending_tasks"] == "[4-9%2]"
    assert pr.record_key(task) == "sjtupi:100_3" and pr.record_key(rest) == "sjtupi:100_4"
    assert pr.fingerprint(task) == "COMPLETED"


def test_unknown_state_is_not_sent() -> None:
    assert pr.slurm_record(sacct_part(state="UNKNOWN"), SCOPE, {}) is None


def test_bohrium_job() -> None:
    job = {
        "job_id": 7,
        "name": "deepmd-hs1",
        "state": "FAILED",
        "status": -1,
        "web_status": -1,
        "machine_type": "c4_m15_1 * NVIDIA T4",
        "created": "2024-05-01 10:00:00",
        "ended": "2024-05-01T10:30:00Z",
        "spend_time": 600,
        "max_run_time": 120,
        "error": "exit code 1",
        "group_id": 9,
    }
    record = pr.bohrium_record(job, pr.Scope("p", "c", "bohrium"), {"site": "bohrium"})
    assert record["submitted"] == "2024-05-01T10:00:00"
    assert record["start"] == "2024-05-01T10:20:00Z" and record["end"] == "2024-05-01T10:30:00Z"
    assert record["time_limit"] == 7200 and record["reason"] == "exit code 1"
    assert record["allocated_resources"] == ["machine type c4_m15_1 * NVIDIA T4"]
    assert record["additional_data"]["job_group_id"] == 9 and "group_id" not in record
    assert validate_job(record, 0) == []


def test_hostlists_and_sizes() -> None:
    assert pr.expand_hostlist("cn[008-010],gpu1,a[1,3]") == [
        "cn008",
        "cn009",
        "cn010",
        "gpu1",
        "a1",
        "a3",
    ]
    assert pr.expand_hostlist(None) == []
    assert pr.human_bytes(512) == "512 B" and pr.human_bytes(3 << 40) == "3.0 TiB"


def test_validation_of_the_simulator() -> None:
    assert validate_job({"job_id": True}, 0)  # bool is not an int; required fields missing
    errors = validate_job(
        {
            "job_id": 1,
            "project_oid": "p",
            "compute_project_id": "c",
            "cluster_id": "x",
            "state": "DONE",
            "start": "yesterday",
            "group_id": 1,
            "colour": "red",
        },
        4,
    )
    fields = {tuple(e["loc"][2:]) for e in errors}
    assert fields == {("state",), ("start",), ("group_index",), ("colour",)}
    assert all(e["loc"][:2] == ["body", 4] for e in errors)


@pytest.fixture
def sim():
    simulator = PerseusSimulator(token="tok-123456", log=None)
    simulator.start()
    yield simulator
    simulator.stop()


def job(job_id: int, state: str = "PENDING", **more):
    return {
        "job_id": job_id,
        "project_oid": "p",
        "compute_project_id": "c",
        "cluster_id": "x",
        "state": state,
        **more,
    }


def test_simulator_upserts_on_job_id_or_group(sim) -> None:
    client = PerseusClient(sim.base_url, "tok-123456")
    assert client.add([job(1), job(2, group_id=2, group_index=0)]) == {"created": 2, "updated": 0}
    assert client.add([job(1, "RUNNING"), job(9, "RUNNING", group_id=2, group_index=0)]) == {
        "created": 0,
        "updated": 2,
    }
    assert sorted((j["job_id"], j["state"]) for j in sim.stored()) == [
        (1, "RUNNING"),
        (9, "RUNNING"),
    ]


def test_simulator_refuses_bad_batches_and_tokens(sim) -> None:
    with pytest.raises(AuthRequired):
        PerseusClient(sim.base_url, "wrong-token").add([job(1)])
    client = PerseusClient(sim.base_url, "tok-123456")
    with pytest.raises(RemoteError) as raised:
        client.add([job(1), {"job_id": 2}])
    assert raised.value.type == "perseus_rejected" and raised.value.details["detail"]
    assert sim.stored() == []  # the whole batch was refused
    response = requests.post(
        sim.base_url + ADD_PATH,
        json={"job_id": 1},
        timeout=5,
        headers={"Authorization": "Bearer tok-123456"},
    )
    assert response.status_code == 422


def test_settings_and_token(tmp_path) -> None:
    env = {
        "PERSEUS_URL": "http://127.0.0.1:9",
        "PERSEUS_PROJECT_OID": OID,
        "PERSEUS_COMPUTE_PROJECT_ID": "c",
        "PERSEUS_CLUSTER_ID": "all",
    }
    settings = load_settings(env=env, cluster_ids=["bohrium=bh"])
    assert settings.scope("sjtu").cluster_id == "all"
    assert settings.scope("bohrium").cluster_id == "bh"
    with pytest.raises(BadInput):
        load_settings(env={"PERSEUS_URL": "http://127.0.0.1:9"})
    with pytest.raises(BadInput):
        load_settings(env={**env, "PERSEUS_URL": "http://portal.example.org"})  # not https
    assert (
        load_settings(
            env={"PERSEUS_PROJECT_OID": OID, "PERSEUS_COMPUTE_PROJECT_ID": "c"}, need_url=False
        ).url
        is None
    )
    no_cluster = load_settings(env={k: v for k, v in env.items() if k != "PERSEUS_CLUSTER_ID"})
    with pytest.raises(BadInput):
        no_cluster.scope("sjtu")
    assert parse_cluster_ids(["a", "s=b"]) == ("a", {"s": "b"})
    with pytest.raises(BadInput):
        parse_cluster_ids(["=x"])
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(AuthRequired):
        load_token(ws, env={})
    ws.credentials().write_text("perseus_token", "from-file-123\n")
    assert load_token(ws, env={}) == "from-file-123"
    assert load_token(ws, env={"PERSEUS_TOKEN": "from-env-456"}) == "from-env-456"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"PERSEUS_PROJECT_OID": "zz"}, "project_oid"),
        ({"PERSEUS_PROJECT_OID": OID + "0"}, "project_oid"),
        ({"PERSEUS_COMPUTE_PROJECT_ID": "cp 1"}, "compute_project_id"),
        ({"PERSEUS_COMPUTE_PROJECT_ID": "c\x1b[31m"}, "compute_project_id"),
        ({"PERSEUS_CLUSTER_ID": "x" * 129}, "cluster_id"),
        ({"PERSEUS_CLUSTER_ID": "a\nb"}, "cluster_id"),
    ],
)
def test_ids_of_the_wrong_shape_are_bad_input(changes, field) -> None:
    env = {"PERSEUS_PROJECT_OID": OID, "PERSEUS_COMPUTE_PROJECT_ID": "cp-1",
           "PERSEUS_CLUSTER_ID": "sjtupi", **changes}
    with pytest.raises(BadInput) as caught:
        load_settings(env=env, need_url=False)
    assert field in caught.value.message


def test_per_site_cluster_ids_are_checked_too() -> None:
    env = {"PERSEUS_PROJECT_OID": OID, "PERSEUS_COMPUTE_PROJECT_ID": "cp-1"}
    assert load_settings(env=env, cluster_ids=["sjtu=sjtupi"], need_url=False).cluster_ids
    with pytest.raises(BadInput):
        load_settings(env=env, cluster_ids=["sjtu=a b"], need_url=False)


def test_export_refuses_bad_ids_and_url_passwords(tmp_path) -> None:
    from scriptrun import run_script

    ws = ["--workspace", str(tmp_path / "ws")]
    env = {"PERSEUS_COMPUTE_PROJECT_ID": "cp-1", "PERSEUS_URL": "", "PERSEUS_PROJECT_OID": ""}
    bad_oid = run_script(
        "hpc-jobs", "export_perseus.py", "--project-oid", "zz", "--dry-run", *ws, env=env
    )
    assert bad_oid.returncode == 2 and "project_oid" in bad_oid.error["message"]
    url = run_script(
        "hpc-jobs", "export_perseus.py", "--url", "https://user:UrlPass77@portal.example.org",
        "--project-oid", OID, *ws, env=env,
    )
    assert url.returncode == 2 and url.error["type"] == "url_credentials"
    assert "UrlPass77" not in url.stdout + url.stderr
    assert not (tmp_path / "ws" / ".hpcskills").exists()  # nothing changed
