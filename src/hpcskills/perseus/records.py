"""Slurm and Bohrium jobs as PERSEUS job records, exactly in the seed's fields (pure).

States are already the PERSEUS vocabulary (the pack's normalized states); UNKNOWN has no
PERSEUS counterpart, so such jobs are not sent. Times are ISO strings as the cluster prints
them (Slurm: cluster-local time without zone). Array tasks carry `group_id` (the array job
id) and `group_index` (the task index); a still-pending range of tasks is one record whose
index is the range's first, its range kept in `additional_data.pending_tasks`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hpcskills.slurm import states as st
from hpcskills.slurm.units import parse_mem

PERSEUS_STATES = tuple(s for s in st.STATES if s != st.UNKNOWN)
_RANGE_START = re.compile(r"^\[?(\d+)")
_BOHRIUM_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})")
_REASONS = {
    st.TIMEOUT: "time limit reached",
    st.OUT_OF_MEMORY: "out of memory",
    st.NODE_FAIL: "node failure",
    st.BOOT_FAIL: "nodes failed to boot",
    st.DEADLINE: "deadline reached",
    st.PREEMPTED: "preempted",
}


@dataclass(frozen=True)
class Scope:
    """The PERSEUS project and cluster the records belong to."""

    project_oid: str
    compute_project_id: str
    cluster_id: str


def expand_hostlist(text: str | None) -> list[str]:
    """`node[01-03,07],gpu1` → node01, node02, node03, node07, gpu1 (zero padding kept)."""
    if not text:
        return []
    hosts: list[str] = []
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,\[\]]+)", text):
        if plain:
            hosts.append(plain)
            continue
        for item in ranges.split(","):
            low, _, high = item.partition("-")
            if not high:
                hosts.append(prefix + low)
                continue
            width = len(low)
            hosts += [f"{prefix}{n:0{width}d}" for n in range(int(low), int(high) + 1)]
    return hosts


def human_bytes(count: int) -> str:
    """1536 → `1.5 KiB`; binary units, one decimal below 10."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if value < 10 and unit != "B" else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _plural(count: int | str, word: str) -> str:
    return f"{count} {word}" if str(count) == "1" else f"{count} {word}s"


def allocated_resources(part: dict[str, Any]) -> list[str]:
    """Human-readable resources: nodes, CPUs, memory, GPUs (allocation, else request)."""
    tres = part.get("alloc_tres") or {}
    nodes = tres.get("node") or part.get("nodes")
    cpus = tres.get("cpu") or part.get("cpus")
    memory = parse_mem(tres["mem"]) if tres.get("mem") else part.get("req_mem_bytes")
    gpus = tres.get("gres/gpu")
    if gpus is None and part.get("tres_per_node"):
        found = re.search(r"gpu(?::[^:,]+)?:(\d+)", str(part["tres_per_node"]))
        gpus = found[1] if found else None
    shown = []
    if nodes:
        shown.append(_plural(nodes, "node"))
    if cpus:
        shown.append(_plural(cpus, "CPU"))
    if memory:
        shown.append(f"{human_bytes(int(memory))} memory")
    if gpus and str(gpus) != "0":
        shown.append(_plural(gpus, "GPU"))
    return shown


def iso_time(text: Any) -> str | None:
    """An ISO datetime string from Slurm's or Bohrium's forms; None when there is none."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    matched = _BOHRIUM_TIME.match(value)
    if matched:
        value = f"{matched[1]}T{matched[2]}"
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value


def _reason(part: dict[str, Any], state: str) -> str | None:
    reason = part.get("reason")
    if reason and reason != "None":
        return str(reason)
    if state == st.FAILED and part.get("exit_code") is not None:
        signal = f", signal {part['signal']}" if part.get("signal") else ""
        return f"exit code {part['exit_code']}{signal}"
    if state == st.CANCELLED:
        return str(part.get("raw_state") or "cancelled")
    return _REASONS.get(state)


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    record["additional_data"] = {
        k: v for k, v in record.get("additional_data", {}).items() if v is not None
    }
    return {k: v for k, v in record.items() if v not in (None, [], "")}


def _int(text: Any) -> int | None:
    return (
        int(text) if isinstance(text, int) or (isinstance(text, str) and text.isdigit()) else None
    )


def slurm_record(
    part: dict[str, Any], scope: Scope, extra: dict[str, Any]
) -> dict[str, Any] | None:
    """One sacct (or squeue) line as a PERSEUS job; None for an UNKNOWN state."""
    state = part["state"]
    if state not in PERSEUS_STATES:
        return None
    task = part.get("array_task_id")
    group_id = group_index = None
    pending_range = None
    if task is not None:
        group_id = _int(part["array_job_id"])
        start = _RANGE_START.match(str(task))
        group_index = int(start[1]) if start else None
        pending_range = None if str(task).isdigit() else str(task)
    job_id = _int(part.get("job_id_raw")) or _int(part["array_job_id"])
    record = {
        "job_id": job_id,
        "group_id": group_id,
        "group_index": group_index,
        "job_name": part.get("name"),
        "project_oid": scope.project_oid,
        "compute_project_id": scope.compute_project_id,
        "cluster_id": scope.cluster_id,
        "partition": part.get("partition"),
        "nodes": expand_hostlist(part.get("node_list")),
        "allocated_resources": allocated_resources(part),
        "working_directory": part.get("work_dir"),
        "submitted": iso_time(part.get("submit_time")),
        "start": iso_time(part.get("start_time")),
        "end": iso_time(part.get("end_time")),
        "time_limit": part.get("time_limit_seconds"),
        "user": part.get("user"),
        "state": state,
        "reason": _reason(part, state),
        "additional_data": {
            "platform": "slurm",
            "raw_state": part.get("raw_state"),
            "exit_code": part.get("exit_code"),
            "account": part.get("account"),
            "elapsed_seconds": part.get("elapsed_seconds"),
            "pending_tasks": pending_range,
            **extra,
        },
    }
    return _clean(record)


def _bohrium_start(job: dict[str, Any]) -> str | None:
    end, spent = iso_time(job.get("ended")), job.get("spend_time")
    if not end or not isinstance(spent, int | float) or spent <= 0:
        return None
    ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    started = ended - timedelta(seconds=float(spent))
    text = started.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if end.endswith("Z") else text


def bohrium_record(
    job: dict[str, Any], scope: Scope, extra: dict[str, Any]
) -> dict[str, Any] | None:
    """A Bohrium job (as the pack records it) as a PERSEUS job; None for an UNKNOWN state."""
    state = job.get("state")
    job_id = _int(job.get("job_id"))
    if state not in PERSEUS_STATES or job_id is None:
        return None
    minutes = job.get("max_run_time")
    record = {
        "job_id": job_id,
        "job_name": job.get("name"),
        "project_oid": scope.project_oid,
        "compute_project_id": scope.compute_project_id,
        "cluster_id": scope.cluster_id,
        "allocated_resources": [f"machine type {job['machine_type']}"]
        if job.get("machine_type")
        else [],
        "submitted": iso_time(job.get("created")),
        "start": _bohrium_start(job),
        "end": iso_time(job.get("ended")),
        "time_limit": int(minutes) * 60 if isinstance(minutes, int) and minutes > 0 else None,
        "state": state,
        "reason": job.get("error") or _REASONS.get(state),
        "additional_data": {
            "platform": "bohrium",
            "status": job.get("status"),
            "web_status": job.get("web_status"),
            "job_group_id": job.get("group_id"),
            "project_id": job.get("project_id"),
            "image": job.get("image"),
            "cost": job.get("cost"),
            "spend_time_seconds": job.get("spend_time"),
            **extra,
        },
    }
    return _clean(record)


def record_key(record: dict[str, Any]) -> str:
    """What PERSEUS matches on: the array tuple for array tasks, else the job id."""
    if "group_id" in record:
        return f"{record['cluster_id']}:{record['group_id']}_{record['group_index']}"
    return f"{record['cluster_id']}:{record['job_id']}"


def fingerprint(record: dict[str, Any]) -> str:
    """Records are re-sent when this changes: the state."""
    return str(record["state"])
