"""Parsers of `scontrol -o show job` and `seff` reports."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hpcskills.slurm.details import parse_scontrol_jobs, parse_scontrol_line, parse_seff
from hpcskills.slurm.parse import ParseError
from hpcskills.slurm.states import STATES

W = "/lustre/home/acct-hpc/hpcuser/work"
# Slurm 22.05 `scontrol -o show job` (captured, paths renamed): a running GPU job whose
# name, comment and output path hold spaces, quotes, `#` and `|`, then one array task.
RUNNING = (
    "JobId=1 JobName=we\"ird 'name'; # x|y UserId=hpcuser(1001) GroupId=acct-hpc(1001) "
    "MCS_label=N/A Priority=4294901759 Nice=0 Account=acct-hpc QOS=normal JobState=RUNNING "
    "Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 "
    "RunTime=00:04:23 TimeLimit=00:10:00 TimeMin=N/A SubmitTime=2024-05-01T10:00:00 "
    "EligibleTime=2024-05-01T10:00:00 AccrueTime=2024-05-01T10:00:00 "
    "StartTime=2024-05-01T10:00:01 EndTime=2024-05-01T10:10:01 Deadline=N/A "
    "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2024-05-01T10:00:01 Scheduler=Main "
    "Partition=a100 AllocNode:Sid=sylogin1:8361 ReqNodeList=(null) ExcNodeList=(null) "
    "NodeList=gpu01 BatchHost=gpu01 NumNodes=1 NumCPUs=16 NumTasks=1 CPUs/Task=16 "
    "ReqB:S:C:T=0:0:*:* TRES=cpu=16,mem=64G,node=1,billing=16,gres/gpu=1 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=16 MinMemoryCPU=4G MinTmpDiskNode=0 "
    "Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
    f"Network=(null) Command={W}/job.sh WorkDir={W} Comment=hpcskills:abc|def  "
    f"StdErr={W}/my dir/1.out StdIn=/dev/null StdOut={W}/my dir/1.out Power= "
    "TresPerNode=gres:gpu:1 "
)
ARRAY_TASK = (
    "JobId=10 ArrayJobId=5 ArrayTaskId=2 JobName=arr UserId=hpcuser(1001) "
    "GroupId=acct-hpc(1001) MCS_label=N/A Priority=4294901755 Nice=0 Account=acct-hpc "
    "QOS=normal JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 "
    "BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:40 TimeLimit=7-00:00:00 TimeMin=N/A "
    "SubmitTime=2024-05-01T10:00:00 EligibleTime=2024-05-01T10:00:01 "
    "AccrueTime=2024-05-01T10:00:01 StartTime=2024-05-01T10:02:13 "
    "EndTime=2024-05-01T10:03:53 Deadline=N/A SuspendTime=None SecsPreSuspend=0 "
    "Partition=cpu AllocNode:Sid=pilogin1:8361 ReqNodeList=(null) ExcNodeList=(null) "
    "NodeList=cas[001-002] BatchHost=cas001 NumNodes=2 NumCPUs=80 NumTasks=2 CPUs/Task=40 "
    f"Command=(null) WorkDir={W} StdErr={W}/slurm-5_2.out StdIn=/dev/null "
    f"StdOut={W}/slurm-5_2.out Power= "
)
PENDING = (
    "JobId=77 JobName=sweep a=1 B=2 UserId=hpcuser(1001) GroupId=acct-hpc(1001) "
    "JobState=PENDING Reason=ReqNodeNotAvail,_UnavailableNodes:cas[003-004] "
    "Dependency=(null) ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED "
    "SubmitTime=2024-05-01T10:00:00 StartTime=Unknown EndTime=Unknown Partition=cpu "
    "NodeList= NumNodes=1-2 NumCPUs=40-80 WorkDir=/lustre/home/acct-hpc/hpcuser/a b "
    "Comment=note Key=Value X=1 StdErr=/dev/null StdOut=/dev/null"
)


def test_scontrol_running_job():
    (job,) = parse_scontrol_jobs(RUNNING)
    assert job.job_id == "1"
    assert job.name == "we\"ird 'name'; # x|y"
    assert (job.state, job.raw_state, job.reason) == ("RUNNING", "RUNNING", None)
    assert (job.exit_code, job.signal, job.user, job.partition) == (0, 0, "hpcuser", "a100")
    assert (job.run_time_seconds, job.time_limit_seconds) == (263, 600)
    assert (job.start_time, job.end_time) == ("2024-05-01T10:00:01", "2024-05-01T10:10:01")
    assert (job.node_list, job.num_nodes, job.num_cpus) == ("gpu01", 1, 16)
    assert (job.work_dir, job.command) == (W, f"{W}/job.sh")
    assert job.stdout_path == job.stderr_path == f"{W}/my dir/1.out"
    assert job.comment == "hpcskills:abc|def"
    assert (job.array_job_id, job.array_task_id) == (None, None)
    assert job.fields["AllocNode:Sid"] == "sylogin1:8361"
    assert job.fields["CPUs/Task"] == "16"
    assert job.fields["TRES"] == "cpu=16,mem=64G,node=1,billing=16,gres/gpu=1"
    assert job.fields["Power"] == ""
    assert job.fields["TresPerNode"] == "gres:gpu:1"


def test_scontrol_array_tasks_and_pending_job():
    task, pending = parse_scontrol_jobs(f"{ARRAY_TASK}\n\n{PENDING}\n")
    assert (task.job_id, task.array_job_id, task.array_task_id) == ("10", "5", "2")
    assert (task.state, task.exit_code, task.signal) == ("CANCELLED", 0, 15)
    assert (task.node_list, task.num_nodes, task.num_cpus) == ("cas[001-002]", 2, 80)
    assert task.command is None
    assert pending.name == "sweep a=1 B=2"
    assert pending.reason == "ReqNodeNotAvail,_UnavailableNodes:cas[003-004]"
    assert (pending.start_time, pending.end_time, pending.node_list) == (None, None, None)
    assert (pending.time_limit_seconds, pending.num_nodes, pending.num_cpus) == (None, 1, 40)
    assert pending.work_dir == "/lustre/home/acct-hpc/hpcuser/a b"
    assert pending.comment == "note Key=Value X=1"
    assert pending.stdout_path == "/dev/null"


def test_scontrol_line_keeps_unknown_keys_outside_free_text():
    fields = parse_scontrol_line("JobId=3 NewKey=a b JobState=FUTURE Odd=")
    assert fields == {"JobId": "3", "NewKey": "a b", "JobState": "FUTURE", "Odd": ""}
    (job,) = parse_scontrol_jobs("JobId=3 JobState=FUTURE")
    assert (job.state, job.name, job.exit_code, job.user) == ("UNKNOWN", "", None, None)


@pytest.mark.parametrize(
    "text",
    ["slurm_load_jobs error: Invalid job id specified", "No jobs in the system",
     "JobName=x JobId=1", "JobId=abc JobName=x"],
)  # fmt: skip
def test_scontrol_non_job_lines(text):
    with pytest.raises(ParseError):
        parse_scontrol_jobs(text)


@given(st.text())
def test_scontrol_raises_only_parse_errors(text):
    try:
        for job in parse_scontrol_jobs(text):
            assert job.state in STATES
    except ParseError:
        pass


@given(st.text(alphabet=st.characters(blacklist_characters="\n")))
def test_scontrol_job_name_survives_anything_without_a_known_key(name):
    name = " ".join(name.split())
    assume(not re.search(r"(?:^|\s)[A-Z][A-Za-z0-9_:/]*=", name))  # keys are capitalized
    (job,) = parse_scontrol_jobs(f"JobId=9 JobName={name} UserId=u(1) JobState=RUNNING")
    assert job.name == name
    assert (job.user, job.state) == ("u", "RUNNING")


SEFF_COMPLETED = """\
Job ID: 12345
Cluster: sjtupi
User/Group: hpcuser/acct-hpc
State: COMPLETED (exit code 0)
Nodes: 1
Cores per node: 40
CPU Utilized: 01:40:00
CPU Efficiency: 25.00% of 06:40:00 core-walltime
Job Wall-clock time: 00:10:00
Memory Utilized: 2.03 GB
Memory Efficiency: 1.08% of 187.50 GB
"""
SEFF_FAILED_ONE_CORE = """\
Job ID: 12346
Cluster: sjtupi
User/Group: hpcuser/acct-hpc
State: FAILED (exit code 3)
Cores: 1
CPU Utilized: 00:00:00
CPU Efficiency: 0.00% of 00:00:01 core-walltime
Job Wall-clock time: 00:00:01
Memory Utilized: 0.00 MB (estimated maximum)
Memory Efficiency: 0.00% of 1000.00 MB (1000.00 MB/core)
"""
SEFF_RUNNING_TASK = """\
Job ID: 12347
Array Job ID: 12340_7
Cluster: sjtupi
User/Group: hpcuser/acct-hpc
State: RUNNING
Nodes: 2
Cores per node: 40
CPU Utilized: 00:00:00
CPU Efficiency: 0.00% of 1-02:40:00 core-walltime
Job Wall-clock time: 00:20:00
Memory Utilized: 0.00 MB (estimated maximum)
Memory Efficiency: 0.00% of 375.00 GB (187.50 GB/node)
WARNING: Efficiency statistics may be misleading for RUNNING jobs.
"""
SEFF_PENDING = """\
Job ID: 12348
Cluster: sjtupi
User/Group: hpcuser/acct-hpc
State: PENDING
Cores: 1
Efficiency not available for jobs in the PENDING state.
"""


def test_seff_completed():
    report = parse_seff(SEFF_COMPLETED)
    assert (report.job_id, report.cluster, report.user, report.group) == (
        "12345", "sjtupi", "hpcuser", "acct-hpc"
    )  # fmt: skip
    assert (report.state, report.raw_state, report.exit_code) == ("COMPLETED", "COMPLETED", 0)
    assert (report.nodes, report.cores) == (1, 40)
    assert (report.cpu_utilized_seconds, report.core_walltime_seconds) == (6000, 24000)
    assert report.cpu_efficiency_percent == 25.0
    assert report.wall_clock_seconds == 600
    assert report.memory_utilized_bytes == int(2.03 * 1024**3)
    assert report.memory_efficiency_percent == 1.08
    assert report.memory_requested_bytes == int(187.5 * 1024**3)
    assert report.accounting_available and report.efficiency_available
    assert report.messages == []
    assert report.fields["Job Wall-clock time"] == "00:10:00"


def test_seff_failed_running_pending():
    failed = parse_seff(SEFF_FAILED_ONE_CORE)
    assert (failed.state, failed.exit_code, failed.nodes, failed.cores) == ("FAILED", 3, 1, 1)
    assert (failed.memory_utilized_bytes, failed.memory_requested_bytes) == (0, 1000 * 1024**2)
    running = parse_seff(SEFF_RUNNING_TASK)
    assert (running.job_id, running.array_job_id) == ("12347", "12340_7")
    assert (running.state, running.exit_code, running.cores) == ("RUNNING", None, 80)
    assert running.core_walltime_seconds == 96000
    assert running.memory_requested_bytes == 375 * 1024**3
    assert running.messages == [
        "WARNING: Efficiency statistics may be misleading for RUNNING jobs."
    ]
    assert "WARNING" not in running.fields
    pending = parse_seff(SEFF_PENDING)
    assert pending.accounting_available and not pending.efficiency_available
    assert (pending.state, pending.cpu_efficiency_percent, pending.cores) == ("PENDING", None, 1)
    assert pending.messages == ["Efficiency not available for jobs in the PENDING state."]


@pytest.mark.parametrize("text", ["Slurm accounting storage is disabled\n", "Job not found.\n", ""])
def test_seff_without_accounting(text):
    report = parse_seff(text)
    assert not report.accounting_available and not report.efficiency_available
    assert (report.job_id, report.state, report.cores) == (None, "UNKNOWN", None)


@given(st.text())
def test_seff_never_raises(text):
    report = parse_seff(text)
    assert report.state in STATES
