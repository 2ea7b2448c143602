"""One state for a job made of several parts (array tasks, DPDispatcher tasks) (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hpcskills.slurm import states as st

# when the parts disagree and none is active, the first of these present wins
_FAILING_ORDER = (
    st.NODE_FAIL,
    st.BOOT_FAIL,
    st.OUT_OF_MEMORY,
    st.TIMEOUT,
    st.DEADLINE,
    st.FAILED,
    st.PREEMPTED,
    st.CANCELLED,
)


def combined_state(states: Iterable[str]) -> str:
    """RUNNING/SUSPENDED/PENDING while any part is active (in that order); UNKNOWN if any
    part is unknown; COMPLETED when all completed; else the worst failing state."""
    counts = Counter(states)
    if not counts:
        return st.UNKNOWN
    for active in (st.RUNNING, st.SUSPENDED, st.PENDING):
        if counts[active]:
            return active
    if counts[st.UNKNOWN]:
        return st.UNKNOWN
    for failing in _FAILING_ORDER:
        if counts[failing]:
            return failing
    return st.COMPLETED if counts[st.COMPLETED] == sum(counts.values()) else st.UNKNOWN
