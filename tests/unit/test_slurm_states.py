"""The normalized state vocabulary and the mapping of Slurm's states onto it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.slurm import states
from hpcskills.slurm.states import STATES, UNKNOWN, is_active, is_terminal, normalize

# Every code in facts/slurm.md, long and short, with the normalized state chosen for it.
CODES = [
    ("BF", "BOOT_FAIL", "BOOT_FAIL"),
    ("CA", "CANCELLED", "CANCELLED"),
    ("CD", "COMPLETED", "COMPLETED"),
    ("CF", "CONFIGURING", "RUNNING"),
    ("CG", "COMPLETING", "RUNNING"),
    ("DL", "DEADLINE", "DEADLINE"),
    ("F", "FAILED", "FAILED"),
    ("NF", "NODE_FAIL", "NODE_FAIL"),
    ("OOM", "OUT_OF_MEMORY", "OUT_OF_MEMORY"),
    ("PD", "PENDING", "PENDING"),
    ("PR", "PREEMPTED", "PREEMPTED"),
    ("R", "RUNNING", "RUNNING"),
    ("RD", "RESV_DEL_HOLD", "PENDING"),
    ("RF", "REQUEUE_FED", "PENDING"),
    ("RH", "REQUEUE_HOLD", "PENDING"),
    ("RQ", "REQUEUED", "PENDING"),
    ("RS", "RESIZING", "RUNNING"),
    ("RV", "REVOKED", "CANCELLED"),
    ("SI", "SIGNALING", "RUNNING"),
    ("SE", "SPECIAL_EXIT", "FAILED"),
    ("SO", "STAGE_OUT", "RUNNING"),
    ("ST", "STOPPED", "SUSPENDED"),
    ("S", "SUSPENDED", "SUSPENDED"),
    ("TO", "TIMEOUT", "TIMEOUT"),
]


@pytest.mark.parametrize(("short", "long", "expected"), CODES)
def test_every_slurm_code_maps_long_and_short(short, long, expected):
    assert normalize(short) == expected
    assert normalize(long) == expected
    assert normalize(long.lower()) == expected
    assert normalize(f"  {short.lower()}\n") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CANCELLED by 1000", "CANCELLED"),
        ("CANCELLED by 0", "CANCELLED"),
        ("CANCELLED+", "CANCELLED"),
        ("OUT_OF_ME+", "OUT_OF_MEMORY"),
        ("NODE_FA+", "NODE_FAIL"),
        ("REQUEUE+", "PENDING"),  # every REQUEUE* state is PENDING
        ("RE+", "UNKNOWN"),  # ambiguous prefix
        ("+", "UNKNOWN"),
        ("", "UNKNOWN"),
        ("   ", "UNKNOWN"),
        ("LAUNCHED", "UNKNOWN"),
        ("XX", "UNKNOWN"),
        ("RUNNINGX", "UNKNOWN"),
    ],
)
def test_sacct_and_odd_spellings(raw, expected):
    assert normalize(raw) == expected


def test_vocabulary_is_the_design_set():
    assert STATES == (
        "PENDING", "RUNNING", "SUSPENDED", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT",
        "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "UNKNOWN",
    )  # fmt: skip
    assert all(getattr(states, name) == name for name in STATES)


def test_active_and_terminal_partition_the_known_states():
    for state in STATES:
        if state == UNKNOWN:
            assert not is_active(state) and not is_terminal(state)
        else:
            assert is_active(state) != is_terminal(state), state
    assert {s for s in STATES if is_active(s)} == {"PENDING", "RUNNING", "SUSPENDED"}


@given(st.text())
def test_normalize_is_total(raw):
    assert normalize(raw) in STATES


@given(st.sampled_from(CODES), st.text(alphabet=" 0123456789byBY", max_size=12))
def test_trailing_words_do_not_matter(code, tail):
    _, long, expected = code
    assert normalize(f"{long} {tail}") == expected
