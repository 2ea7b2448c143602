"""Planning a job (pure parts): which partitions fit and why not, the expected charge from
the price table (whole nodes, arrays, unverified rates), and sbatch --test-only's output."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.sjtu import plan as planning
from hpcskills.sjtu.plan import Candidate, expected_charge, request_of, sort_candidates
from hpcskills.sjtu.site import Price, Pricing, load_site
from hpcskills.slurm.parse import ParseError, parse_test_only
from hpcskills.slurm.runopts import run_options
from hpcskills.slurm.script import resource_options

SITE = load_site(Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json")


def test_partitions_that_fit_and_why_the_others_do_not() -> None:
    spec, names = request_of(SITE, {"cpus_per_task": 64, "time": "3-00:00:00"})
    assert names == list(SITE.partitions)
    fitting, others = sort_candidates(SITE, spec, names)
    why = {o["partition"]: o["why"] for o in others}
    assert "GPU partition" in why["a100"]
    assert "40 cores per node" in why["cpu"]
    assert "above" in why["huge"]  # 2-day limit
    assert "debug" in why and {c.partition.name for c in fitting} >= {"64c512g", "arm128c256g"}
    gpu, names = request_of(SITE, {"gpus": 1, "partition": "debug100"})
    assert names == ["debuga100"] and gpu.gpus == 1
    with pytest.raises(BadInput):
        request_of(SITE, {"cpus": 2})  # unknown spec key, with its suggestion


def test_charge_per_core_gpu_whole_node_and_array() -> None:
    spec, _ = request_of(SITE, {"cpus_per_task": 4, "nodes": 2, "time": "2:00:00"})
    cpu = Candidate(SITE.partition("cpu"), replace(spec, partition="cpu"), [])
    charge = expected_charge(SITE, cpu)
    assert (charge["cores"], charge["hours"], charge["amount"]) == (8, 2.0, 0.64)
    assert charge["verified"] is False and charge["source"] is None
    arrays = expected_charge(SITE, cpu, run_options(array="1-10%2"))
    assert arrays["amount"] == 6.4 and arrays["tasks"] == 10
    whole = replace(
        SITE,
        pricing=Pricing("CNY", {"cpu": Price("cpu", 0.1, 0.0, True, "price list 2026")}),
    )
    charged = expected_charge(whole, cpu)
    assert charged["cores"] == 80 and charged["whole_node"] and charged["verified"]
    assert charged["amount"] == round(80 * 0.1 * 2, 2)  # 2 nodes of 40 cores, 2 hours
    gpu_spec, _ = request_of(SITE, {"gpus": 2, "partition": "a100"})
    a100 = Candidate(SITE.partition("a100"), gpu_spec, [])
    gpu_charge = expected_charge(SITE, a100)
    assert gpu_charge["basis"].startswith("the partition's maximum")  # no --time given
    assert gpu_charge["amount"] == round(7 * 24 * 2 * 2.0, 2)
    unpriced = expected_charge(replace(SITE, pricing=Pricing()), cpu)
    assert unpriced["amount"] is None and "no price" in unpriced["why_unknown"]


def test_resource_options_leave_out_names_paths_and_the_command() -> None:
    spec, _ = request_of(
        SITE,
        {
            "partition": "cpu",
            "cpus_per_task": 2,
            "mem": "1G",
            "time": "10",
            "name": "x",
            "output": "/tmp/o",
            "extra_flags": ["--exclusive"],
        },
    )
    assert resource_options(spec) == [
        "--partition=cpu",
        "--nodes=1",
        "--cpus-per-task=2",
        "--mem=1G",
        "--time=00:10:00",
        "--exclusive",
    ]


def test_test_only_output() -> None:
    line = (
        "sbatch: Job 17 to start at 2026-12-04T18:04:43 using 8 processors on nodes n[1-2] "
        "in partition cpu"
    )
    estimate = parse_test_only(line + "\n")
    assert (estimate.start_time, estimate.processors, estimate.node_list, estimate.partition) == (
        "2026-12-04T18:04:43",
        8,
        "n[1-2]",
        "cpu",
    )
    refused = parse_test_only("allocation failure: More processors requested than permitted\n")
    assert refused.refusal == "More processors requested than permitted" and not refused.start_time
    with pytest.raises(ParseError):
        parse_test_only("something else\n")


def test_plan_orders_by_start_and_reports_refusals_and_failed_groups(monkeypatch) -> None:
    starts = {"cpu": "2026-12-04T18:30:00", "huge": "2026-12-04T18:10:00"}

    def estimate(session, candidates):
        return {
            c.partition.name: {
                "start_time": starts.get(c.partition.name),
                "processors": 1,
                "node_list": "n1",
                "partition": c.partition.name,
                "refusal": None if c.partition.name in starts else "invalid partition",
            }
            for c in candidates
        }

    def connect(group):
        if group == "kp":
            raise RemoteError("no route to armlogin", type="connection_failed")
        return group

    monkeypatch.setattr(planning, "_estimate_group", estimate)
    spec, names = request_of(SITE, {"time": "1:00:00"})
    result = planning.plan_job(SITE, spec, names, connect)
    assert [r["partition"] for r in result["partitions"]] == ["huge", "cpu"]
    assert {u["partition"] for u in result["unavailable"]} >= {"192c6t", "64c512g"}
    assert [e["node_group"] for e in result["errors"]] == ["kp"]
    with pytest.raises(RemoteError):
        planning.plan_job(SITE, spec, ["arm128c256g"], connect)
    with pytest.raises(BadInput) as caught:
        planning.plan_job(SITE, replace(spec, gpus=0), ["a100"], connect)
    assert caught.value.type == "no_fitting_partition"
