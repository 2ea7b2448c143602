"""Which jobs can take terminate / kill / delete, and the plans shown before any of them."""

from __future__ import annotations

import pytest

from hpcskills.bohrium.stop import binding_of, eligibility, plan_group, plan_jobs


def job(job_id: int, status: int, web: int | None = None) -> dict:
    return {
        "id": job_id,
        "jobName": f"j{job_id}",
        "status": status,
        "webStatus": status if web is None else web,
    }


@pytest.mark.parametrize(
    ("action", "status", "web", "allowed", "reason"),
    [
        ("terminate", 1, None, True, "results collected"),
        ("terminate", 0, None, False, "pending jobs cannot be terminated"),
        ("terminate", 3, None, False, "scheduling jobs cannot be terminated"),
        ("terminate", 2, None, False, "already ended (completed)"),
        ("terminate", 6, None, False, "already terminating"),
        ("terminate", 0, -1, False, "already ended (failed)"),
        ("kill", 0, None, True, "stopped now"),
        ("kill", 1, None, True, "stopped now"),
        ("kill", 9, None, True, "stopped now"),
        ("kill", -1, None, False, "already ended"),
        ("kill", 7, None, False, "already killing"),
        ("delete", 2, None, True, "removed with its results"),
        ("delete", 1, None, True, "stopped, then removed"),
    ],
)
def test_eligibility(action: str, status: int, web: int | None, allowed: bool, reason: str) -> None:
    ok, why = eligibility(action, job(1, status, web))
    assert ok is allowed and reason in why


def test_plan_lists_targets_skips_and_missing() -> None:
    plan = plan_jobs("terminate", [job(1, 1), job(2, 0)], [3])
    assert [t["job_id"] for t in plan["jobs"]] == [1]
    assert [t["job_id"] for t in plan["skipped"]] == [2]
    assert plan["not_found"] == [3]
    assert plan["effect"]["results"] == "kept"
    assert binding_of(plan) == ["terminate", None, [[1, 1, 1]]]
    changed = plan_jobs("terminate", [job(1, 6), job(2, 0)], [3])
    assert binding_of(changed) != binding_of(plan)


def test_group_plan_outcomes() -> None:
    plan = plan_group("terminate", 7, [job(1, 1), job(2, 0), job(3, 2)])
    assert [j["outcome"] for j in plan["jobs"]] == [
        "terminated, results kept",
        "stopped before running, no results",
        "unchanged (already ended)",
    ]
    assert binding_of(plan)[1] == 7
    assert {j["outcome"] for j in plan_group("delete", 7, [job(1, 1)])["jobs"]} == {"removed"}
