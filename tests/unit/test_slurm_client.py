"""The Slurm client: batching (one exec, quoted, split back by markers), the failure rules
it decides for every caller, and that writes go through the non-retrying runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakeslurm import LocalShell

from hpcskills.core.errors import RemoteError
from hpcskills.slurm import batch, client
from hpcskills.slurm.client import NO_ACCOUNTING, SlurmClient
from hpcskills.slurm.commands import FIELD_SEP, SQUEUE_FIELDS
from hpcskills.ssh.base import CommandResult

NASTY = 'it\'s; $(touch {flag}) `touch {flag}` "x" ✓'


def squeue_line(job_id: str, state: str, name: str = "n") -> str:
    values = {"job_id": job_id, "raw_state": state, "name": name, "partition": "cpu", "user": "u"}
    return FIELD_SEP.join(values.get(field, "") for field, _ in SQUEUE_FIELDS)


def test_batched_words_reach_the_commands_verbatim(tmp_path: Path) -> None:
    flag = tmp_path / "pwned"
    name = NASTY.format(flag=flag)
    shell = LocalShell(tmp_path)
    shell.answer("squeue", squeue_line("5", "RUNNING", name) + "\n")
    shell.answer("sacct")
    queued, history = SlurmClient(shell).queue_and_history(
        user="u", since="now-1days", names=[name]
    )
    assert len(shell.execs) == 1 and shell.execs[0][:2] == ["sh", "-c"]
    assert not flag.exists()
    assert f"--name={name}" in shell.calls("squeue")[0]
    assert [job.name for job in queued] == [name] and history.records == []


def test_job_states_is_one_exec_per_chunk(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(client, "MAX_IDS_PER_CALL", 2)
    shell = LocalShell(tmp_path)
    shell.answer("squeue", squeue_line("1", "RUNNING") + "\n")
    shell.answer("sacct")
    found = SlurmClient(shell).job_states(["1", "2", "3"])
    assert len(shell.execs) == 2
    assert [c.split()[-1] for c in shell.calls("sacct")] == ["--jobs=2", "--jobs=3"]
    assert found.commands == ["squeue", "sacct", "squeue", "sacct"]
    assert [j.job_id for j in found.queued_for("1")] == ["1", "1"]  # the fake answers twice


def test_a_similar_id_does_not_count_as_known(tmp_path: Path) -> None:
    shell = LocalShell(tmp_path)
    shell.answer("squeue", squeue_line("77", "RUNNING") + "\n" + squeue_line("8_1", "RUNNING"))
    shell.answer("sacct")
    SlurmClient(shell).job_states(["7", "8", "77"])
    assert shell.calls("sacct")[0].split()[-1] == "--jobs=7"


def replying(*results: CommandResult):
    calls: list[list[str]] = []

    def run(argv: list[str]) -> CommandResult:
        calls.append(argv)
        return results[len(calls) - 1]

    return run, calls


def test_cut_short_batch_is_a_retryable_error() -> None:
    marker = "hpcskills-0123456789abcdef"
    steps = [batch.Step("squeue", ("squeue",)), batch.Step("sacct", ("sacct",))]
    cut = CommandResult(("sh",), -1, f"{marker} begin squeue\n1\x1fR", "")
    with pytest.raises(RemoteError) as raised:
        batch.split_outputs(cut, marker, steps)
    assert raised.value.retryable and "stopped during squeue" in raised.value.message
    nothing = CommandResult(("sh",), 127, "", "sh: not found\n")
    with pytest.raises(RemoteError) as raised:
        batch.split_outputs(nothing, marker, steps)
    assert raised.value.retryable


def test_split_keeps_each_commands_output_status_and_skips() -> None:
    marker = "hpcskills-0123456789abcdef"
    steps = [batch.Step("squeue", ("squeue",)), batch.Step("sacct", ("sacct",))]
    out = f"motd noise\n{marker} begin squeue\na\nb\n\n{marker} end squeue 1\n"
    err = f"{marker} begin squeue\noops\n{marker} end squeue 1\n"
    result = CommandResult(("sh",), 0, out, err)
    results = batch.split_outputs(result, marker, steps, may_skip=["sacct"])
    assert results == {"squeue": CommandResult(("squeue",), 1, "a\nb\n", "oops")}
    with pytest.raises(RemoteError) as raised:  # sacct was due
        batch.split_outputs(result, marker, steps)
    assert raised.value.retryable and "before sacct" in raised.value.message


@pytest.mark.parametrize("count", [1, 3])
def test_ids_that_left_the_queue_are_no_error(count: int) -> None:
    gone = CommandResult((), 1, "", "slurm_load_jobs error: Invalid job id specified\n")
    run, _ = replying(gone)
    assert SlurmClient(run).queue(job_ids=[str(i) for i in range(1, count + 1)]) == []


def test_retryable_only_when_slurm_says_it_could_not_reach_its_daemons() -> None:
    unreachable = CommandResult((), 0, "", "squeue: error: Socket timed out on send/recv\n")
    run, _ = replying(unreachable)
    with pytest.raises(RemoteError) as raised:
        SlurmClient(run).queue(user="u")
    assert raised.value.retryable and raised.value.hint == client.UNREACHABLE_HINT
    # exit 255 alone is no sign: the SSH layer raises for a lost connection itself
    odd = CommandResult((), 255, "", "squeue: error: something else\n")
    run, _ = replying(odd)
    with pytest.raises(RemoteError) as raised:
        SlurmClient(run).queue(user="u")
    assert not raised.value.retryable


def test_no_accounting_degrades_to_a_note() -> None:
    run, _ = replying(CommandResult((), 1, "", "Slurm accounting storage is disabled\n"))
    answer = SlurmClient(run).accounting(job_ids=["5"])
    assert answer.records == [] and answer.note == NO_ACCOUNTING and not answer.available


def test_writes_go_through_the_write_runner_only() -> None:
    read, read_calls = replying()
    write, write_calls = replying(CommandResult((), 0, "42\n", ""), CommandResult((), 0, "", ""))
    slurm = SlurmClient(read, write)
    assert slurm.submit("/w/job.sbatch", ["--job-name=x"], workdir="/w") == "42"
    slurm.cancel(["42"])
    assert read_calls == []
    assert write_calls[0][:5] == ["sh", "-c", client.SBATCH_IN_DIR, "sh", "/w"]
    assert write_calls[0][5:] == ["sbatch", "--parsable", "--job-name=x", "/w/job.sbatch"]
    assert write_calls[1] == ["scancel", "42"]
    with pytest.raises(ValueError):
        SlurmClient(read).cancel(["42"])


def test_refused_submission_is_definite_and_names_the_script() -> None:
    refused = CommandResult((), 1, "", "sbatch: error: Batch job submission failed: nope\n")
    run, _ = replying(refused)
    with pytest.raises(RemoteError) as raised:
        SlurmClient(run, run).submit("/w/a.sbatch", workdir="/w")
    assert raised.value.type == "submit_rejected" and not raised.value.retryable
    assert raised.value.details["script_path"] == "/w/a.sbatch"
