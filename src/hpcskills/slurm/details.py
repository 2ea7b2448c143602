"""Pure parsers for one job's detail reports: `scontrol -o show job` and `seff`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hpcskills.slurm.parse import ParseError
from hpcskills.slurm.states import UNKNOWN, normalize
from hpcskills.slurm.units import (
    null_to_none,
    parse_duration,
    parse_int,
    parse_mem,
    parse_timestamp,
)

# A key starts after whitespace: `JobId=`, `AllocNode:Sid=`, `CPUs/Task=`, `MCS_label=`.
_KEY = re.compile(r"(?:^|(?<=\s))([A-Z][A-Za-z0-9_:/]*)=", re.ASCII)
# Values that are free text and may hold spaces and `Word=` themselves.
_FREE_TEXT = frozenset(
    {
        "JobName",
        "Comment",
        "AdminComment",
        "SystemComment",
        "Command",
        "WorkDir",
        "StdErr",
        "StdIn",
        "StdOut",
        "Reason",
    }
)
# Keys of `scontrol show job` (Slurm 20.11–23.x); inside a free-text value anything else
# is taken as part of the value.
_KNOWN_KEY_NAMES = """
    JobId ArrayJobId ArrayTaskId ArrayTaskThrottle HetJobId HetJobOffset HetJobIdSet
    JobName UserId GroupId MCS_label Priority Nice Account QOS JobState Reason Dependency
    Requeue Restarts BatchFlag Reboot ExitCode DerivedExitCode RunTime TimeLimit TimeMin
    SubmitTime EligibleTime AccrueTime StartTime EndTime Deadline PreemptEligibleTime
    PreemptTime SuspendTime SecsPreSuspend LastSchedEval Scheduler Partition AllocNode:Sid
    ReqNodeList ExcNodeList NodeList BatchHost NumNodes NumCPUs NumTasks CPUs/Task
    ReqB:S:C:T TRES Socks/Node NtasksPerN:B:S:C CoreSpec MinCPUsNode MinMemoryNode
    MinMemoryCPU MinTmpDiskNode Features ClusterFeatures Prefer DelayBoot OverSubscribe
    Contiguous Licenses Network Command WorkDir AdminComment SystemComment Comment StdErr
    StdIn StdOut Power TresPerNode TresPerJob TresPerSocket TresPerTask CpusPerTres
    MemPerTres TresBind TresFreq MailUser MailType Reservation BurstBuffer
    BurstBufferState CpuFreqMin CpuFreqMax CpuFreqGov NtasksPerTRES KillOnInvalidDependent
    Container ContainerID SelinuxContext OOMKillStep"""
_KNOWN_KEYS = frozenset(_KNOWN_KEY_NAMES.split())
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)%")
_OF_SIZE = re.compile(r"\bof\s+(\d+(?:\.\d+)?\s*[KMGTP]?B)\b")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?\s*[KMGTP]?B)\b")
_OF_TIME = re.compile(r"\bof\s+(\S+)\s+core-walltime")
_STATE_EXIT = re.compile(r"^\s*(\S+).*?\(exit code (\d+)\)", re.ASCII)


def parse_scontrol_line(line: str) -> dict[str, str]:
    """The `Key=Value` pairs of one `scontrol -o show ...` record, in order.

    Keys follow whitespace and start with a capital; a free-text value (JobName, Comment,
    Command, WorkDir, StdOut, StdErr, Reason, ...) runs on until the next known key, so
    `JobName=run a=1 x` keeps its spaces. Values are stripped of surrounding spaces.
    """
    line = line.strip()
    starts = []
    previous = None
    for match in _KEY.finditer(line):
        key = match[1]
        if previous in _FREE_TEXT and key not in _KNOWN_KEYS:
            continue
        starts.append(match)
        previous = key
    fields: dict[str, str] = {}
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(line)
        fields[match[1]] = line[match.end() : end].strip()
    return fields


@dataclass
class ScontrolJob:
    """The typed view of one `scontrol show job` record; `fields` keeps every pair."""

    job_id: str
    array_job_id: str | None
    array_task_id: str | None
    name: str
    state: str
    raw_state: str
    reason: str | None
    exit_code: int | None
    signal: int | None
    user: str | None
    partition: str | None
    submit_time: str | None
    start_time: str | None
    end_time: str | None
    run_time_seconds: int | None
    time_limit_seconds: int | None
    node_list: str | None
    num_nodes: int | None
    num_cpus: int | None
    work_dir: str | None
    command: str | None
    stdout_path: str | None
    stderr_path: str | None
    comment: str | None
    fields: dict[str, str] = field(default_factory=dict)


def _first_int(text: str) -> int | None:
    return parse_int(text.split("-")[0])


def _scontrol_job(fields: dict[str, str]) -> ScontrolJob:
    get = fields.get
    code, _, signal = get("ExitCode", "").partition(":")
    array_task = null_to_none(get("ArrayTaskId", ""))
    return ScontrolJob(
        job_id=fields["JobId"],
        array_job_id=null_to_none(get("ArrayJobId", "")),
        array_task_id=array_task,
        name=get("JobName", ""),
        state=normalize(get("JobState", "")),
        raw_state=get("JobState", ""),
        reason=null_to_none(get("Reason", "")),
        exit_code=parse_int(code),
        signal=parse_int(signal),
        user=null_to_none(get("UserId", "").split("(")[0]),
        partition=null_to_none(get("Partition", "")),
        submit_time=parse_timestamp(get("SubmitTime", "")),
        start_time=parse_timestamp(get("StartTime", "")),
        end_time=parse_timestamp(get("EndTime", "")),
        run_time_seconds=parse_duration(get("RunTime", "")),
        time_limit_seconds=parse_duration(get("TimeLimit", "")),
        node_list=null_to_none(get("NodeList", "")),
        num_nodes=_first_int(get("NumNodes", "")),
        num_cpus=_first_int(get("NumCPUs", "")),
        work_dir=null_to_none(get("WorkDir", "")),
        command=null_to_none(get("Command", "")),
        stdout_path=null_to_none(get("StdOut", "")),
        stderr_path=null_to_none(get("StdErr", "")),
        comment=null_to_none(get("Comment", "")),
        fields=fields,
    )


def parse_scontrol_jobs(text: str) -> list[ScontrolJob]:
    """Every record of `scontrol -o show job` output (an array prints one per task).

    ParseError for a non-blank line that is not a job record (no `JobId=` first).
    """
    jobs = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        fields = parse_scontrol_line(line)
        if not fields or next(iter(fields)) != "JobId" or not fields["JobId"].isdigit():
            raise ParseError(
                f"unexpected scontrol output on line {lineno}: not a job record",
                hint="expected the one-line form of `scontrol show job`",
                command="scontrol",
                line_number=lineno,
                line=line[:200],
            )
        jobs.append(_scontrol_job(fields))
    return jobs


@dataclass
class SeffReport:
    """seff's efficiency report. `accounting_available` is False when seff found no
    accounting record (no slurmdbd, or the job is unknown to it); `efficiency_available`
    is False when the report has no CPU/memory figures (e.g. a pending job). Lines that are
    not `Key: value` (warnings, errors) are kept in `messages`."""

    job_id: str | None
    array_job_id: str | None
    cluster: str | None
    user: str | None
    group: str | None
    state: str
    raw_state: str | None
    exit_code: int | None
    nodes: int | None
    cores: int | None
    cpu_utilized_seconds: int | None
    cpu_efficiency_percent: float | None
    core_walltime_seconds: int | None
    wall_clock_seconds: int | None
    memory_utilized_bytes: int | None
    memory_efficiency_percent: float | None
    memory_requested_bytes: int | None
    accounting_available: bool
    efficiency_available: bool
    messages: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def _percent(text: str | None) -> float | None:
    match = _PERCENT.match(text or "")
    return float(match[1]) if match else None


def _size(pattern: re.Pattern[str], text: str | None) -> int | None:
    match = pattern.search(text or "")
    return parse_mem(match[1]) if match else None


def parse_seff(text: str) -> SeffReport:
    """The report in seff's output (`Key: value` lines); never raises."""
    fields: dict[str, str] = {}
    messages = []
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        # `WARNING: ...` and other all-capital prefixes are messages, not report keys.
        if sep and key.strip() and key.strip() != key.strip().upper() and len(key) < 40:
            fields.setdefault(key.strip(), value.strip())
        elif line.strip():
            messages.append(line.strip())
    get = fields.get
    state_text = get("State", "")
    state_exit = _STATE_EXIT.match(state_text)
    user, _, group = get("User/Group", "").partition("/")
    nodes = parse_int(get("Nodes", "")) if "Nodes" in fields else (1 if "Cores" in fields else None)
    per_node = parse_int(get("Cores per node", ""))
    cores = parse_int(get("Cores", "")) if "Cores" in fields else None
    if cores is None and nodes is not None and per_node is not None:
        cores = nodes * per_node
    cpu_eff = get("CPU Efficiency")
    walltime = _OF_TIME.search(cpu_eff or "")
    mem_eff = get("Memory Efficiency")
    disabled = "accounting storage is disabled" in text.lower()
    return SeffReport(
        job_id=null_to_none(get("Job ID", "")),
        array_job_id=null_to_none(get("Array Job ID", "")),
        cluster=null_to_none(get("Cluster", "")),
        user=null_to_none(user),
        group=null_to_none(group),
        state=normalize(state_text) if state_text else UNKNOWN,
        raw_state=state_text.split()[0] if state_text.split() else None,
        exit_code=int(state_exit[2]) if state_exit else None,
        nodes=nodes,
        cores=cores,
        cpu_utilized_seconds=parse_duration(get("CPU Utilized", "")),
        cpu_efficiency_percent=_percent(cpu_eff),
        core_walltime_seconds=parse_duration(walltime[1]) if walltime else None,
        wall_clock_seconds=parse_duration(get("Job Wall-clock time", "")),
        memory_utilized_bytes=_size(_SIZE, get("Memory Utilized")),
        memory_efficiency_percent=_percent(mem_eff),
        memory_requested_bytes=_size(_OF_SIZE, mem_eff),
        accounting_available="Job ID" in fields and not disabled,
        efficiency_available=cpu_eff is not None or mem_eff is not None,
        messages=messages,
        fields=fields,
    )
