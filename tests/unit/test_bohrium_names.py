"""Names the pack sends to Bohrium (jobs, groups): printable, not blank, at most 128 chars."""

from __future__ import annotations

import pytest

from hpcskills.bohrium.names import MAX_NAME_LEN, check_name
from hpcskills.core.errors import BadInput


@pytest.mark.parametrize(
    "name", ["", "   ", "a\nb", "a\rb", "a\x01b", "a\x1b[31mred", "a\u2028b", "x" * 129,
             "x" * 100_000]
)
def test_bad_names(name: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_name(name, "the group name")
    assert caught.value.type == "invalid_name"
    assert "the group name" in caught.value.message
    assert len(caught.value.message) < 200  # a long name is not echoed whole


@pytest.mark.parametrize("name", ["relax", "shear run 2", "模拟-1", "x" * MAX_NAME_LEN])
def test_good_names(name: str) -> None:
    assert check_name(name, "the job name") == name
