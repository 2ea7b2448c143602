"""Guidance for the agent: `data.summary` and `data.next`, rendered once by cli.run."""

from __future__ import annotations

from pathlib import Path

from hpcskills.core import render
from hpcskills.core.guidance import FollowUp, Guided
from hpcskills.sjtu import rsync_jobs
from hpcskills.sjtu.guidance import after_cancel, after_submit

HERE = Path("/pack/skills/sjtu-slurm/scripts")


def test_follow_ups_are_exact_quoted_commands() -> None:
    step = FollowUp("job_info.py", ("12", "it's"))
    assert step.command(HERE) == f"python3 {HERE}/job_info.py 12 'it'\"'\"'s'"
    assert FollowUp("jobs.py", skill="hpc-jobs").command(HERE, ["--workspace", "/w s"]) == (
        "python3 /pack/skills/hpc-jobs/scripts/jobs.py --workspace '/w s'"
    )


def test_render_adds_only_what_is_there() -> None:
    assert Guided({"a": 1}).render(HERE) == {"a": 1}
    assert Guided({"a": 1}, summary="Done.").render(HERE) == {"a": 1, "summary": "Done."}


def test_human_shows_the_summary_first_and_the_calls_last() -> None:
    text = render.human({"summary": "Done.", "a": 1, "next": ["python3 x.py 1"]})
    assert text.splitlines() == ["Done.", "a: 1", "", "next:", "  python3 x.py 1"]


def test_after_a_submit_look_at_the_job_on_its_node_group() -> None:
    data = {"job_id": "42", "entry_node": "pilogin", "node_group": "pi", "reused": False}
    rendered = after_submit(data).render(HERE)
    assert rendered["summary"] == "Job 42 was submitted on pilogin."
    assert rendered["next"] == [
        f"python3 {HERE}/job_info.py 42 --node-group pi",
        f"python3 {HERE}/list_jobs.py --node-group pi",
    ]
    again = after_submit({**data, "reused": True}).render(HERE)
    assert again["summary"] == "Job 42 was already submitted on pilogin."


def test_after_a_cancel() -> None:
    assert after_cancel({"cancelled": [], "message": "nothing to cancel"}).render(HERE) == {
        "cancelled": [], "message": "nothing to cancel",
    }
    done = after_cancel(
        {"node_group": "sy", "cancelled": [{"job_id": "1", "verified": True}]}
    ).render(HERE)
    assert done["summary"] == "1 of 1 job(s) cancelled and seen stopped."
    assert done["next"] == [f"python3 {HERE}/list_jobs.py --node-group sy"]


def test_a_transfer_says_what_to_do_and_polls_only_while_it_runs() -> None:
    running = rsync_jobs._guided({"id": "t1", "state": "running"}, "running").render(HERE)
    assert running["summary"].startswith("Transfer t1 is running: poll transfer.py status t1")
    assert running["next"] == [f"python3 {HERE}/transfer.py status t1"]
    done = rsync_jobs._guided({"id": "t1", "state": "done"}, "done").render(HERE)
    assert done["summary"] == "Transfer t1 is done: the copy is complete." and "next" not in done
