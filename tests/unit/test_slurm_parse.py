# ruff: noqa: E501 - the samples are whole output lines
"""Parsers of squeue, sacct, sinfo and sbatch output in the formats the pack asks for.

The squeue and sinfo samples follow output of Slurm 22.05 for `squeue_argv()` and
`sinfo_argv()` captured on a one-node cluster (paths, users and nodes renamed, more rows
added); the sacct rows follow the same release's fields for `sacct_argv()`, with the
pending, array, cancelled and step rows written as sacct prints them. `␟` stands for
FIELD_SEP.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.core.errors import RemoteError
from hpcskills.slurm.commands import FIELD_SEP, SACCT_FIELDS, SINFO_FIELDS, SQUEUE_FIELDS
from hpcskills.slurm.parse import (
    ParseError,
    parse_sacct,
    parse_sbatch,
    parse_sinfo,
    parse_squeue,
    split_array_id,
)
from hpcskills.slurm.states import STATES


def sample(text: str) -> str:
    return text.replace("␟", FIELD_SEP)


HOME = "/lustre/home/acct-hpc/hpcuser"
SQUEUE = sample(
    f"""\
1␟R␟RUNNING␟None␟a100␟hpcuser␟acct-hpc␟4:23␟10:00␟1␟16␟gres:gpu:1␟2024-05-01T10:00:00␟2024-05-01T10:00:01␟2024-05-01T10:10:01␟{HOME}/work␟gpu01␟hpcskills:abc|def␟we"ird 'name'; # x|y
4␟PD␟PENDING␟Resources␟cpu␟hpcuser␟acct-hpc␟0:00␟7-00:00:00␟2␟80␟N/A␟2024-05-01T10:00:00␟N/A␟N/A␟{HOME}/work␟␟(null)␟pend
5_[1-3]␟PD␟PENDING␟Priority␟cpu␟hpcuser␟acct-hpc␟0:00␟7-00:00:00␟1␟2␟N/A␟2024-05-01T10:00:00␟N/A␟N/A␟{HOME}/work␟␟(null)␟arr
5_4␟R␟RUNNING␟None␟cpu␟hpcuser␟acct-hpc␟1:40␟7-00:00:00␟1␟2␟N/A␟2024-05-01T10:00:00␟2024-05-01T10:02:00␟2024-05-08T10:02:00␟{HOME}/work␟cas[001-002]␟(null)␟arr
3␟F␟FAILED␟NonZeroExitCode␟cpu␟hpcuser␟acct-hpc␟0:00␟7-00:00:00␟1␟1␟N/A␟2024-05-01T10:00:00␟2024-05-01T10:00:01␟2024-05-01T10:00:01␟{HOME}/work␟cas001␟(null)␟failer
2␟CG␟COMPLETING␟None␟debug␟hpcuser␟acct-hpc␟0:19␟20:00␟1␟1␟N/A␟2024-05-01T10:00:00␟2024-05-01T10:00:01␟2024-05-01T10:00:20␟{HOME}/work␟cas002␟(null)␟plain
6␟RD␟RESV_DEL_HOLD␟ReqNodeNotAvail, UnavailableNodes:cas003␟cpu␟hpcuser␟acct-hpc␟0:00␟UNLIMITED␟1␟1␟N/A␟2024-05-01T10:00:00␟N/A␟N/A␟{HOME}/work␟␟(null)␟held
7␟ZZ␟FUTURE_STATE␟None␟cpu␟hpcuser␟acct-hpc␟0:00␟1:00:00␟1␟1␟N/A␟2024-05-01T10:00:00␟N/A␟N/A␟{HOME}/work␟␟(null)␟new
"""
)


def test_squeue_sample():
    jobs = parse_squeue(SQUEUE)
    assert [j.job_id for j in jobs] == ["1", "4", "5_[1-3]", "5_4", "3", "2", "6", "7"]
    first = jobs[0]
    assert first.name == "we\"ird 'name'; # x|y"
    assert first.comment == "hpcskills:abc|def"
    assert (first.state, first.raw_state, first.reason) == ("RUNNING", "RUNNING", None)
    assert (first.partition, first.user, first.account) == ("a100", "hpcuser", "acct-hpc")
    assert (first.elapsed_seconds, first.time_limit_seconds) == (263, 600)
    assert (first.nodes, first.cpus, first.tres_per_node) == (1, 16, "gres:gpu:1")
    assert first.submit_time == "2024-05-01T10:00:00"
    assert first.end_time == "2024-05-01T10:10:01"
    assert first.work_dir == f"{HOME}/work"
    assert first.node_list == "gpu01"
    pending = jobs[1]
    assert (pending.state, pending.reason, pending.node_list) == ("PENDING", "Resources", None)
    assert (pending.start_time, pending.end_time, pending.comment) == (None, None, None)
    assert (pending.nodes, pending.cpus, pending.tres_per_node) == (2, 80, None)
    array = jobs[2]
    assert (array.array_job_id, array.array_task_id) == ("5", "[1-3]")
    assert (jobs[3].array_job_id, jobs[3].array_task_id) == ("5", "4")
    assert jobs[3].node_list == "cas[001-002]"
    assert (jobs[4].state, jobs[4].reason) == ("FAILED", "NonZeroExitCode")
    assert (jobs[5].state, jobs[5].raw_state) == ("RUNNING", "COMPLETING")
    held = jobs[6]
    assert (held.state, held.raw_state) == ("PENDING", "RESV_DEL_HOLD")
    assert held.reason == "ReqNodeNotAvail, UnavailableNodes:cas003"
    assert held.time_limit_seconds is None
    assert (jobs[7].state, jobs[7].raw_state) == ("UNKNOWN", "FUTURE_STATE")


def test_squeue_falls_back_to_the_short_code_and_keeps_odd_names():
    line = SQUEUE.split("\n")[1].split(FIELD_SEP)
    line[2] = ""  # no long state
    line[-1] = f"a{FIELD_SEP}b\rc"  # a name holding the separator itself and a CR
    (job,) = parse_squeue(FIELD_SEP.join(line) + "\r\n")
    assert (job.state, job.raw_state) == ("PENDING", "PD")
    assert job.name == f"a{FIELD_SEP}b\rc"


def test_squeue_blank_and_empty_output():
    assert parse_squeue("") == []
    assert parse_squeue("\n  \n") == []


@pytest.mark.parametrize(
    "text",
    [
        "squeue: error: Invalid user: nobody",
        sample("1␟R␟RUNNING"),
        sample("abc" + "␟x" * (len(SQUEUE_FIELDS) - 1)),
        "JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)",
    ],
)
def test_squeue_malformed_lines_raise_a_typed_error(text):
    with pytest.raises(ParseError) as info:
        parse_squeue(SQUEUE + text + "\n")
    error = info.value
    assert isinstance(error, RemoteError)
    assert error.to_dict()["type"] == "slurm_parse_error"
    assert error.details["line_number"] == len(SQUEUE.split("\n"))


SACCT = sample(
    f"""\
101␟101␟COMPLETED␟0:0␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:00:00␟2024-05-01T10:00:01␟2024-05-01T10:00:05␟00:00:04␟7-00:00:00␟1␟2␟billing=2,cpu=2,mem=2000M,node=1␟2000M␟cas001␟{HOME}/run␟None␟␟burn.sh
101.batch␟101.batch␟COMPLETED␟0:0␟␟acct-hpc␟␟2024-05-01T10:00:01␟2024-05-01T10:00:01␟2024-05-01T10:00:05␟00:00:04␟␟1␟2␟cpu=2,mem=2000M,node=1␟␟cas001␟␟␟␟batch
102␟102␟FAILED␟3:0␟a100␟acct-hpc␟hpcuser␟2024-05-01T10:01:00␟2024-05-01T10:01:01␟2024-05-01T10:01:01␟00:00:00␟7-00:00:00␟1␟16␟billing=16,cpu=16,gres/gpu=1,mem=64G,node=1␟64G␟gpu01␟{HOME}/run␟None␟hpcskills:k1␟train | eval
103␟103␟CANCELLED by 1000␟0:15␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:02:00␟None␟2024-05-01T10:03:00␟00:00:00␟UNLIMITED␟1␟1␟␟4000Mn␟None assigned␟{HOME}/run␟None␟␟never ran
104_2␟106␟TIMEOUT␟0:0␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:04:00␟2024-05-01T10:04:01␟2024-05-01T10:24:01␟00:20:00␟00:20:00␟1␟1␟billing=1,cpu=1,mem=1000M,node=1␟1000M␟cas002␟{HOME}/run␟None␟␟arr
104_[3-9%2]␟104␟PENDING␟0:0␟cpu,debug␟acct-hpc␟hpcuser␟2024-05-01T10:04:00␟Unknown␟Unknown␟00:00:00␟00:20:00␟1␟1␟␟1000M␟None assigned␟{HOME}/run␟JobArrayTaskLimit␟␟arr
105␟105␟OUT_OF_MEMORY␟0:125␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:05:00␟2024-05-01T10:05:01␟2024-05-01T10:06:01␟00:01:00␟01:00:00␟1␟1␟billing=1,cpu=1,mem=1000M,node=1␟1000M␟cas001␟{HOME}/run␟None␟␟oom
107␟107␟RUNNING␟0:0␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:07:00␟2024-05-01T10:07:01␟Unknown␟00:03:10␟1-00:00:00␟2␟80␟billing=80,cpu=80,mem=375G,node=2␟375G␟cas[003-004]␟{HOME}/run␟None␟␟long
108␟108␟NEW_STATE␟␟cpu␟acct-hpc␟hpcuser␟2024-05-01T10:08:00␟Unknown␟Unknown␟INVALID␟Partition_Limit␟␟␟␟␟␟␟␟␟odd
"""
)


def test_sacct_sample():
    records = parse_sacct(SACCT)
    assert [r.job_id for r in records] == ["101", "102", "103", "104_2", "104_[3-9%2]", "105",
                                           "107", "108"]  # fmt: skip
    done = records[0]
    assert (done.state, done.exit_code, done.signal) == ("COMPLETED", 0, 0)
    assert (done.elapsed_seconds, done.time_limit_seconds) == (4, 604800)
    assert done.alloc_tres == {"billing": "2", "cpu": "2", "mem": "2000M", "node": "1"}
    assert (done.req_mem_bytes, done.reason, done.comment) == (2000 * 1024**2, None, None)
    assert (done.name, done.work_dir, done.account) == ("burn.sh", f"{HOME}/run", "acct-hpc")
    failed = records[1]
    assert (failed.state, failed.exit_code, failed.signal) == ("FAILED", 3, 0)
    assert failed.name == "train | eval"
    assert failed.alloc_tres["gres/gpu"] == "1"
    assert failed.comment == "hpcskills:k1"
    cancelled = records[2]
    assert (cancelled.state, cancelled.raw_state) == ("CANCELLED", "CANCELLED by 1000")
    assert (cancelled.exit_code, cancelled.signal) == (0, 15)
    assert (cancelled.start_time, cancelled.end_time) == (None, "2024-05-01T10:03:00")
    assert (cancelled.node_list, cancelled.time_limit_seconds) == (None, None)
    assert cancelled.alloc_tres == {}
    assert cancelled.req_mem_bytes == 4000 * 1024**2
    task = records[3]
    assert (task.job_id_raw, task.array_job_id, task.array_task_id) == ("106", "104", "2")
    assert task.state == "TIMEOUT"
    pending = records[4]
    assert (pending.array_job_id, pending.array_task_id) == ("104", "[3-9%2]")
    assert (pending.state, pending.reason, pending.partition) == (
        "PENDING", "JobArrayTaskLimit", "cpu,debug"
    )  # fmt: skip
    assert (pending.start_time, pending.end_time) == (None, None)
    assert records[5].state == "OUT_OF_MEMORY"
    assert (records[5].exit_code, records[5].signal) == (0, 125)
    running = records[6]
    assert (running.state, running.end_time, running.nodes, running.cpus) == (
        "RUNNING", None, 2, 80
    )  # fmt: skip
    odd = records[7]
    assert (odd.state, odd.exit_code, odd.elapsed_seconds, odd.time_limit_seconds) == (
        "UNKNOWN", None, None, None
    )  # fmt: skip
    assert (odd.nodes, odd.user, odd.partition) == (None, "hpcuser", "cpu")


def test_sacct_name_may_hold_the_separator():
    fields = ["9"] * (len(SACCT_FIELDS) - 1) + [f"x{FIELD_SEP}y"]
    fields[2] = "COMPLETED"
    (record,) = parse_sacct(FIELD_SEP.join(fields))
    assert record.name == f"x{FIELD_SEP}y"


def test_sacct_malformed():
    with pytest.raises(ParseError):
        parse_sacct("sacct: error: Unknown arguments\n")
    with pytest.raises(ParseError):
        parse_sacct(sample("JobID" + "␟x" * (len(SACCT_FIELDS) - 1)))
    assert parse_sacct("") == []


SINFO = sample(
    """\
cpu*␟up␟7-00:00:00␟120/30/6/156␟40␟190000␟(null)␟cas[001-156]
debug␟up␟20:00␟0/4/0/4␟40␟190000␟(null)␟cas[157-160]
dgx2␟up␟7-00:00:00␟5/2/1/8␟96␟1500000␟gpu:16␟vol[01-08]
huge␟down␟2-00:00:00␟0/0/2/2␟80␟3000000␟(null)␟huge[1-2]
mixed␟up␟infinite␟1/0/0/1␟40␟190000␟(null)␟m01
mixed␟up␟infinite␟0/2/0/2␟64␟512000␟gpu:4␟m[02-03]
"""
)


def test_sinfo_sample():
    partitions = parse_sinfo(SINFO)
    assert [p.name for p in partitions] == ["cpu", "debug", "dgx2", "huge", "mixed"]
    cpu = partitions[0]
    assert cpu.is_default and not any(p.is_default for p in partitions[1:])
    assert (cpu.nodes_allocated, cpu.nodes_idle, cpu.nodes_other, cpu.nodes_total) == (
        120, 30, 6, 156
    )  # fmt: skip
    assert (cpu.available, cpu.time_limit_seconds, cpu.gres) == ("up", 604800, None)
    assert (cpu.cpus_per_node, cpu.memory_mb, cpu.node_list) == ("40", "190000", "cas[001-156]")
    assert partitions[1].time_limit_seconds == 1200
    assert partitions[2].gres == "gpu:16"
    assert partitions[3].available == "down"
    mixed = partitions[4]
    assert mixed.time_limit_seconds is None
    assert (mixed.nodes_allocated, mixed.nodes_idle, mixed.nodes_total) == (1, 2, 3)
    assert (mixed.cpus_per_node, mixed.memory_mb) == ("40,64", "190000,512000")
    assert (mixed.gres, mixed.node_list) == ("gpu:4", "m01,m[02-03]")


def test_sinfo_odd_counts_and_malformed_lines():
    (odd,) = parse_sinfo(sample("p␟up␟1:00:00␟n/a␟1␟1␟(null)␟x"))
    assert odd.nodes_total is None
    with pytest.raises(ParseError):
        parse_sinfo("PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n")
    with pytest.raises(ParseError):
        parse_sinfo(sample("*" + "␟x" * (len(SINFO_FIELDS) - 1)))


@pytest.mark.parametrize(
    ("stdout", "job_id"),
    [
        ("12345\n", "12345"),
        ("12345;sjtupi\n", "12345"),
        ("sbatch: warning: something\n678\n", "678"),
        ("Submitted batch job 91\n", "91"),
        ("  42  \r\n", "42"),
    ],
)
def test_parse_sbatch(stdout, job_id):
    assert parse_sbatch(stdout) == job_id


@pytest.mark.parametrize("stdout", ["", "\n", "sbatch: error: Batch job submission failed", "x1"])
def test_parse_sbatch_without_an_id(stdout):
    with pytest.raises(ParseError) as info:
        parse_sbatch(stdout)
    assert "may or may not" in info.value.hint


def test_split_array_id():
    assert split_array_id("123") == ("123", None)
    assert split_array_id("123_4") == ("123", "4")
    assert split_array_id("123_[5-9]") == ("123", "[5-9]")


# Never anything but ParseError, whatever the text.
PARSERS = [parse_squeue, parse_sacct, parse_sinfo]
PIECES = st.sampled_from(
    [FIELD_SEP, "\n", "\r", " ", "1", "12_3", "12_[1-3]", "R", "PD", "CANCELLED by 0", "N/A",
     "(null)", "Unknown", "None", "UNLIMITED", "7-00:00:00", "1:00", "3:0", "a=1,b", "1/2/3/4",
     "cpu*", "x", "=", "%", "é", "\x00"]
)  # fmt: skip


@given(st.sampled_from(PARSERS), st.text())
def test_parsers_raise_only_parse_errors_on_random_text(parser, text):
    with contextlib.suppress(ParseError):
        parser(text)


@given(st.sampled_from(PARSERS), st.lists(PIECES, max_size=80))
def test_parsers_raise_only_parse_errors_on_near_miss_text(parser, pieces):
    try:
        result = parser("".join(pieces))
    except ParseError:
        return
    for record in result:
        if hasattr(record, "state"):
            assert record.state in STATES


FIELD_TEXT = st.text(alphabet=st.characters(blacklist_characters="\n\x1f"))


@given(
    st.sampled_from(
        [(parse_squeue, len(SQUEUE_FIELDS)), (parse_sacct, len(SACCT_FIELDS)),
         (parse_sinfo, len(SINFO_FIELDS))]
    ),
    st.lists(FIELD_TEXT, min_size=30, max_size=30),
    st.sampled_from(["1", "2_3", "4_[1-5]", "6+1"]),
    st.text(),
)  # fmt: skip
def test_wellformed_lines_always_parse(parser_and_width, values, job_id, last):
    parser, width = parser_and_width
    last = last.replace("\n", " ")
    line = FIELD_SEP.join([job_id, *values[: width - 2], last])
    (record,) = parser(line)
    if parser is parse_sinfo:
        assert record.name == job_id
        return
    assert record.job_id == job_id
    assert record.state in STATES
    assert record.name == last.rstrip("\r")


@given(st.text())
def test_parse_sbatch_raises_only_parse_errors(text):
    with contextlib.suppress(ParseError):
        assert parse_sbatch(text).isdigit()
