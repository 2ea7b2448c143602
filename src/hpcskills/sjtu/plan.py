"""Planning a job before it is submitted: the partitions it fits (across node groups), when
it would start on each (`sbatch --test-only`, one remote exec per node group), the limits
that apply and the expected charge from the site's price table. Nothing is submitted."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from hpcskills.core.errors import BadInput, HpcError
from hpcskills.sjtu.job_rules import check_job, check_run_options
from hpcskills.sjtu.session import ClusterSession
from hpcskills.sjtu.site import Partition, SiteProfile
from hpcskills.slurm.client import SlurmClient
from hpcskills.slurm.runopts import RunOptions
from hpcskills.slurm.script import JobSpec, resource_options, spec_from_mapping
from hpcskills.slurm.units import parse_duration

MAX_ESTIMATES_PER_GROUP = 8  # sbatch --test-only calls in one node group's exec
Connect = Callable[[str], ClusterSession]


@dataclass(frozen=True)
class Candidate:
    """A partition the request fits, as it would be submitted there."""

    partition: Partition
    spec: JobSpec
    warnings: list[str]


def cores_per_node(spec: JobSpec) -> int:
    """The CPU cores the job asks for on each node."""
    return (spec.ntasks_per_node or 1) * (spec.cpus_per_task or 1)


def _misfit(site: SiteProfile, spec: JobSpec, partition: Partition) -> str | Candidate:
    """Why `spec` does not fit `partition`, or the candidate as it would be submitted."""
    if not spec.gpus and partition.limits.has_gpus:
        return "a GPU partition, and the job asks for no GPU"
    cores = partition.cores_per_node
    if cores and cores_per_node(spec) > cores:
        return f"{cores} cores per node, the job asks for {cores_per_node(spec)}"
    try:
        check = check_job(site, replace(spec, partition=partition.name))
    except BadInput as exc:
        return exc.message
    return Candidate(partition, check.spec, check.warnings)


def sort_candidates(
    site: SiteProfile, spec: JobSpec, names: Iterable[str]
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """The partitions among `names` the job fits, and the others with why not (pure)."""
    fitting, others = [], []
    for name in names:
        partition = site.partition(name)
        found = _misfit(site, spec, partition)
        if isinstance(found, Candidate):
            fitting.append(found)
        else:
            others.append(
                {"partition": partition.name, "node_group": partition.node_group, "why": found}
            )
    return fitting, others


def expected_charge(
    site: SiteProfile, candidate: Candidate, run: RunOptions | None = None
) -> dict[str, Any]:
    """What the job costs at most (its whole time limit) by the site's price table (pure):
    cores × core-hour rate + GPU cards × card-hour rate, whole nodes where the partition
    charges them, times the array's size. `amount` None when a rate or the time is unknown."""
    partition, spec = candidate.partition, candidate.spec
    price = site.pricing.partitions.get(partition.name)
    time_text = spec.time or partition.max_time
    seconds = parse_duration(time_text or "")
    cores = spec.nodes * cores_per_node(spec)
    gpus = spec.nodes * spec.gpus
    whole = bool(price and price.whole_node)
    if whole:
        cores = spec.nodes * (partition.cores_per_node or cores_per_node(spec))
        gpus = spec.nodes * (partition.gpus_per_node or spec.gpus)
    tasks = run.array.size if run and run.array else 1
    charge: dict[str, Any] = {
        "currency": site.pricing.currency,
        "cores": cores,
        "gpu_cards": gpus,
        "hours": round(seconds / 3600, 4) if seconds else None,
        "tasks": tasks,
        "whole_node": whole,
        "basis": "the time limit" if spec.time else "the partition's maximum time (no --time)",
    }
    if price is None or not seconds:
        why = "no price for this partition in the site profile" if price is None else "no time"
        return {**charge, "amount": None, "why_unknown": why}
    core_rate, card_rate = price.core_hour or 0.0, price.gpu_card_hour or 0.0
    rates = {"core_hour": core_rate, "gpu_card_hour": card_rate}
    per_task = seconds / 3600 * (cores * core_rate + gpus * card_rate)
    return {
        **charge,
        "rates": rates,
        "amount": round(per_task * tasks, 2),
        "verified": price.verified,
        "source": price.source,
    }


def limits_of(site: SiteProfile, partition: Partition) -> dict[str, Any]:
    """The limits and hardware the site profile states for the partition."""
    limits = dict(partition.described() or {})
    if site.slurm.max_array_size is not None:
        limits["max_array_size"] = site.slurm.max_array_size
    return limits


def _estimate_group(
    session: ClusterSession, candidates: list[Candidate]
) -> dict[str, dict[str, Any]]:
    requests = {c.partition.name: resource_options(c.spec) for c in candidates}
    estimates = SlurmClient.over(session.remote).estimate_starts(requests)
    return {name: asdict(estimate) for name, estimate in estimates.items()}


def plan_job(
    site: SiteProfile,
    spec: JobSpec,
    partitions: list[str],
    connect: Connect,
    run: RunOptions | None = None,
) -> dict[str, Any]:
    """Every fitting partition among `partitions` with its start estimate, limits and
    expected charge, earliest start first; the rest with why they do not fit or were
    refused. One remote exec per node group with candidates."""
    run = run or RunOptions()
    warnings = check_run_options(site, run)
    fitting, not_fitting = sort_candidates(site, spec, partitions)
    if not fitting:
        raise BadInput(
            "the job fits none of the partitions considered",
            type="no_fitting_partition",
            hint="; ".join(f"{o['partition']}: {o['why']}" for o in not_fitting[:6]),
            not_fitting=not_fitting,
        )
    groups: dict[str, list[Candidate]] = {}
    for candidate in fitting:
        groups.setdefault(candidate.partition.node_group, []).append(candidate)
    rows, unavailable, errors = [], [], []
    failures: list[HpcError] = []
    for group, members in groups.items():
        kept, skipped = members[:MAX_ESTIMATES_PER_GROUP], members[MAX_ESTIMATES_PER_GROUP:]
        for extra in skipped:
            not_fitting.append(
                {
                    "partition": extra.partition.name,
                    "node_group": group,
                    "why": f"not estimated: at most {MAX_ESTIMATES_PER_GROUP} per node group",
                }
            )
        try:
            estimates = _estimate_group(connect(group), kept)
        except HpcError as exc:
            failures.append(exc)
            errors.append({"node_group": group, "error": exc.to_dict()})
            continue
        for candidate in kept:
            estimate = estimates[candidate.partition.name]
            name = candidate.partition.name
            if estimate["refusal"]:
                unavailable.append(
                    {"partition": name, "node_group": group, "why": estimate["refusal"]}
                )
                continue
            rows.append(
                {
                    "partition": name,
                    "node_group": group,
                    "estimated_start": estimate["start_time"],
                    "processors": estimate["processors"],
                    "nodes": estimate["node_list"],
                    "limits": limits_of(site, candidate.partition),
                    "charge": expected_charge(site, candidate, run),
                    "warnings": candidate.warnings,
                }
            )
    if failures and not rows and not unavailable:
        raise failures[0]  # no node group answered: the error says what to do
    rows.sort(key=lambda r: (r["estimated_start"] or "9999", r["charge"].get("amount") or 0))
    return {
        "partitions": rows,
        "unavailable": unavailable,
        "not_fitting": not_fitting,
        "errors": errors,
        "warnings": warnings,
        "note": "estimates come from the scheduler's current view (sbatch --test-only) and "
        "change as other jobs start and end; charges are upper bounds for the whole time limit",
    }


def request_of(
    site: SiteProfile, mapping: dict[str, Any], node_group: str | None = None
) -> tuple[JobSpec, list[str]]:
    """The resource request (a spec's fields laid under the flags) and the partitions to
    consider: the one asked for, else every partition (of `node_group` when given)."""
    partition = mapping.get("partition")
    if partition:
        names = [site.partition(partition).name]
    else:
        if node_group is not None:
            site.node_group(node_group)
        names = [
            p.name
            for p in site.partitions.values()
            if node_group is None or p.node_group == node_group
        ]
    spec_fields = {**mapping, "partition": names[0] if names else "none"}
    spec_fields.setdefault("command", "true")  # not run: sbatch --test-only uses --wrap
    return spec_from_mapping(spec_fields), names
