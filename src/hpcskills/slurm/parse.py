"""Pure parsers for the queue, accounting, partition and submission outputs.

The parsers read exactly the formats built in `hpcskills.slurm.commands`. Policy: blank
lines are skipped; a non-blank line that does not have the expected shape (wrong field
count, no job id) raises ParseError naming the line, because it means the format
assumptions are broken and guessing could misreport jobs. Values inside a well-formed line
never raise: unknown states become UNKNOWN, unreadable numbers and times become None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hpcskills.core.errors import RemoteError
from hpcskills.slurm.commands import FIELD_SEP, SACCT_FIELDS, SINFO_FIELDS, SQUEUE_FIELDS
from hpcskills.slurm.states import UNKNOWN, normalize
from hpcskills.slurm.units import (
    null_to_none,
    parse_duration,
    parse_int,
    parse_mem,
    parse_timestamp,
)

_JOB_ID = re.compile(r"^(\d+)(?:_(\d+|\[[0-9,%:-]+\]))?(?:\+\d+)?$", re.ASCII)
_EXIT = re.compile(r"^(\d+):(\d+)$", re.ASCII)
_TEST_ONLY = re.compile(
    r"Job (\d+) to start at (\S+) using (\d+) processors on nodes (\S+) in partition (\S+)"
)
_TEST_ONLY_REFUSAL = re.compile(r"^(?:sbatch: error: |allocation failure: )(.+)$", re.M)
_SBATCH = re.compile(r"^(?:(\d+)(?:;\S+)?|Submitted batch job (\d+)(?: on cluster \S+)?)$")


class ParseError(RemoteError):
    """A Slurm command printed something that is not in the format the pack asked for."""

    default_type = "slurm_parse_error"


def _malformed(command: str, lineno: int, line: str, why: str) -> ParseError:
    return ParseError(
        f"unexpected {command} output on line {lineno}: {why}",
        hint="the site's Slurm may print a different format; report this with the line",
        command=command,
        line_number=lineno,
        line=line[:200],
    )


def _lines(text: str) -> list[tuple[int, str]]:
    """Numbered non-blank lines; only `\\n` ends a line (names may hold other breaks)."""
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1) if line.strip()]


def _fields(command: str, names: list[str], lineno: int, line: str) -> dict[str, str]:
    values = line.split(FIELD_SEP, len(names) - 1)
    if len(values) != len(names):
        raise _malformed(command, lineno, line, f"{len(values)} fields, expected {len(names)}")
    return dict(zip(names, values, strict=True))


def split_array_id(job_id: str) -> tuple[str, str | None]:
    """(`123`, `4`) for array task `123_4`, (`123`, `[5-9]`) for pending tasks, (`123`,
    None) for a plain job."""
    base, sep, task = job_id.partition("_")
    return (base, task) if sep else (job_id, None)


def _state(*raws: str) -> str:
    for raw in raws:
        state = normalize(raw)
        if state != UNKNOWN:
            return state
    return UNKNOWN


def _exit_code(text: str) -> tuple[int | None, int | None]:
    match = _EXIT.match(text.strip())
    return (int(match[1]), int(match[2])) if match else (None, None)


def _tres(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in text.strip().split(",") if "=" in item)
    return {key: value for key, _, value in pairs}


@dataclass
class QueueJob:
    """One line of squeue: a job (or a pending array range) the controller still knows."""

    job_id: str
    array_job_id: str
    array_task_id: str | None
    name: str
    state: str
    raw_state: str
    reason: str | None
    partition: str
    user: str
    account: str | None
    elapsed_seconds: int | None
    time_limit_seconds: int | None
    nodes: int | None
    cpus: int | None
    tres_per_node: str | None
    submit_time: str | None
    start_time: str | None
    end_time: str | None
    work_dir: str | None
    node_list: str | None
    comment: str | None


def parse_squeue(text: str) -> list[QueueJob]:
    """Jobs in the output of `squeue_argv(...)`; ParseError for a malformed line."""
    names = [name for name, _ in SQUEUE_FIELDS]
    jobs = []
    for lineno, line in _lines(text):
        row = _fields("squeue", names, lineno, line)
        job_id = row["job_id"].strip()
        if not _JOB_ID.match(job_id):
            raise _malformed("squeue", lineno, line, f"no job id in {job_id[:40]!r}")
        array_job_id, array_task_id = split_array_id(job_id)
        jobs.append(
            QueueJob(
                job_id=job_id,
                array_job_id=array_job_id,
                array_task_id=array_task_id,
                name=row["name"],
                state=_state(row["raw_state"], row["state_code"]),
                raw_state=row["raw_state"].strip() or row["state_code"].strip(),
                reason=null_to_none(row["reason"]),
                partition=row["partition"].strip(),
                user=row["user"].strip(),
                account=null_to_none(row["account"]),
                elapsed_seconds=parse_duration(row["elapsed"]),
                time_limit_seconds=parse_duration(row["time_limit"]),
                nodes=parse_int(row["nodes"]),
                cpus=parse_int(row["cpus"]),
                tres_per_node=null_to_none(row["tres_per_node"]),
                submit_time=parse_timestamp(row["submit_time"]),
                start_time=parse_timestamp(row["start_time"]),
                end_time=parse_timestamp(row["end_time"]),
                work_dir=null_to_none(row["work_dir"]),
                node_list=null_to_none(row["node_list"]),
                comment=null_to_none(row["comment"]),
            )
        )
    return jobs


@dataclass
class AccountingRecord:
    """One allocation from sacct (`-X`): a job or one array task, finished or not."""

    job_id: str
    job_id_raw: str
    array_job_id: str
    array_task_id: str | None
    name: str
    state: str
    raw_state: str
    exit_code: int | None
    signal: int | None
    partition: str | None
    account: str | None
    user: str | None
    submit_time: str | None
    start_time: str | None
    end_time: str | None
    elapsed_seconds: int | None
    time_limit_seconds: int | None
    nodes: int | None
    cpus: int | None
    alloc_tres: dict[str, str]
    req_mem_bytes: int | None
    node_list: str | None
    work_dir: str | None
    reason: str | None
    comment: str | None


def parse_sacct(text: str) -> list[AccountingRecord]:
    """Records in the output of `sacct_argv(...)`; step lines (`123.batch`) are skipped;
    ParseError for a malformed line."""
    records = []
    for lineno, line in _lines(text):
        row = _fields("sacct", list(SACCT_FIELDS), lineno, line)
        job_id = row["JobID"].strip()
        if "." in job_id:
            continue
        if not _JOB_ID.match(job_id):
            raise _malformed("sacct", lineno, line, f"no job id in {job_id[:40]!r}")
        array_job_id, array_task_id = split_array_id(job_id)
        exit_code, signal = _exit_code(row["ExitCode"])
        node_list = null_to_none(row["NodeList"])
        records.append(
            AccountingRecord(
                job_id=job_id,
                job_id_raw=row["JobIDRaw"].strip() or job_id,
                array_job_id=array_job_id,
                array_task_id=array_task_id,
                name=row["JobName"],
                state=normalize(row["State"]),
                raw_state=row["State"].strip(),
                exit_code=exit_code,
                signal=signal,
                partition=null_to_none(row["Partition"]),
                account=null_to_none(row["Account"]),
                user=null_to_none(row["User"]),
                submit_time=parse_timestamp(row["Submit"]),
                start_time=parse_timestamp(row["Start"]),
                end_time=parse_timestamp(row["End"]),
                elapsed_seconds=parse_duration(row["Elapsed"]),
                time_limit_seconds=parse_duration(row["Timelimit"]),
                nodes=parse_int(row["NNodes"]),
                cpus=parse_int(row["NCPUS"]),
                alloc_tres=_tres(row["AllocTRES"]),
                req_mem_bytes=parse_mem(row["ReqMem"]),
                node_list=None if node_list == "None assigned" else node_list,
                work_dir=null_to_none(row["WorkDir"]),
                reason=null_to_none(row["Reason"]),
                comment=null_to_none(row["Comment"]),
            )
        )
    return records


@dataclass
class PartitionInfo:
    """A partition as sinfo reports it; node counts are allocated/idle/other/total.

    `cpus_per_node`, `memory_mb` and `gres` are Slurm's text (`40`, `40+` when nodes
    differ); a partition printed on several lines (mixed node types) is merged into one
    record with the counts summed and the distinct texts joined by commas.
    """

    name: str
    is_default: bool
    available: str
    time_limit_seconds: int | None
    nodes_allocated: int | None
    nodes_idle: int | None
    nodes_other: int | None
    nodes_total: int | None
    cpus_per_node: str
    memory_mb: str
    gres: str | None
    node_list: str | None


def _node_counts(text: str) -> list[int | None]:
    parts = text.strip().split("/")
    if len(parts) != 4:
        return [None] * 4
    return [parse_int(p) for p in parts]


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _join(a: str | None, b: str | None) -> str | None:
    values = [v for v in (a, b) if v]
    merged = list(dict.fromkeys(",".join(values).split(","))) if values else []
    return ",".join(merged) or None


def parse_sinfo(text: str) -> list[PartitionInfo]:
    """Partitions in the output of `sinfo_argv()`, in sinfo's order; the default
    partition's `*` is stripped and flagged. ParseError for a malformed line."""
    names = [name for name, _ in SINFO_FIELDS]
    partitions: dict[str, PartitionInfo] = {}
    for lineno, line in _lines(text):
        row = _fields("sinfo", names, lineno, line)
        raw_name = row["partition"].strip()
        name = raw_name.rstrip("*")
        if not name:
            raise _malformed("sinfo", lineno, line, "no partition name")
        allocated, idle, other, total = _node_counts(row["nodes"])
        info = PartitionInfo(
            name=name,
            is_default=raw_name.endswith("*"),
            available=row["available"].strip(),
            time_limit_seconds=parse_duration(row["time_limit"]),
            nodes_allocated=allocated,
            nodes_idle=idle,
            nodes_other=other,
            nodes_total=total,
            cpus_per_node=row["cpus_per_node"].strip(),
            memory_mb=row["memory_mb"].strip(),
            gres=null_to_none(row["gres"]),
            node_list=null_to_none(row["node_list"]),
        )
        seen = partitions.get(name)
        if seen is None:
            partitions[name] = info
            continue
        seen.is_default = seen.is_default or info.is_default
        seen.nodes_allocated = _add(seen.nodes_allocated, info.nodes_allocated)
        seen.nodes_idle = _add(seen.nodes_idle, info.nodes_idle)
        seen.nodes_other = _add(seen.nodes_other, info.nodes_other)
        seen.nodes_total = _add(seen.nodes_total, info.nodes_total)
        seen.cpus_per_node = _join(seen.cpus_per_node, info.cpus_per_node) or ""
        seen.memory_mb = _join(seen.memory_mb, info.memory_mb) or ""
        seen.gres = _join(seen.gres, info.gres)
        seen.node_list = _join(seen.node_list, info.node_list)
    return list(partitions.values())


def parse_sbatch(stdout: str) -> str:
    """The job id `sbatch --parsable` printed (`jobid` or `jobid;cluster`).

    ParseError when there is none: the caller must then treat the submission as unknown
    (look for the job before submitting again), not as failed.
    """
    for _, line in reversed(_lines(stdout)):
        match = _SBATCH.match(line.strip())
        if match:
            return match[1] or match[2]
    raise ParseError(
        "sbatch printed no job id",
        hint="the job may or may not have been submitted; look for it in squeue before "
        "submitting again",
        command="sbatch",
        stdout=stdout[-500:],
    )


@dataclass
class StartEstimate:
    """`sbatch --test-only`'s answer: when and where the job would start, or why Slurm
    would refuse it (`refusal`; then the other fields are None)."""

    start_time: str | None = None
    processors: int | None = None
    node_list: str | None = None
    partition: str | None = None
    refusal: str | None = None


def parse_test_only(text: str) -> StartEstimate:
    """The estimate in `sbatch --test-only`'s output (stderr), or the refusal it printed;
    ParseError when it printed neither."""
    found = _TEST_ONLY.search(text)
    if found:
        return StartEstimate(
            start_time=parse_timestamp(found[2]),
            processors=int(found[3]),
            node_list=found[4],
            partition=found[5],
        )
    refusals = [line.strip() for line in _TEST_ONLY_REFUSAL.findall(text)]
    if refusals:
        return StartEstimate(refusal="; ".join(dict.fromkeys(refusals))[:300])
    raise ParseError(
        f"unexpected sbatch --test-only output: {text.strip()[:200]!r}",
        hint="the site's Slurm may print a different format; report this with the output",
        command="sbatch --test-only",
    )
