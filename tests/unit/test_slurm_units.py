"""Durations, memory sizes and timestamps in Slurm's text forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.slurm.units import (
    format_duration,
    null_to_none,
    parse_duration,
    parse_int,
    parse_mem,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 93784),
        ("7-00:00:00", 604800),
        ("02:03:04", 7384),
        ("05:00", 300),  # MM:SS, as squeue prints a 5-minute limit
        ("0:01", 1),  # squeue %M elapsed
        ("20", 1200),  # plain minutes, as --time takes them
        ("1-02", 93600),  # days-hours
        ("1-02:03", 93780),  # days-hours:minutes
        ("00:01.250", 1),  # sacct TotalCPU
        (" 00:00:00 ", 0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["UNLIMITED", "INVALID", "N/A", "Partition_Limit", "", "1:2:3:4", "-5", "1h", "١٢"]
)
def test_non_durations_are_none(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00:00"), (59, "00:00:59"), (1200, "00:20:00"), (86400, "1-00:00:00"),
     (93784, "1-02:03:04"), (10 * 86400 + 5, "10-00:00:05")],
)  # fmt: skip
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_duration_round_trip(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text())
def test_parse_duration_is_total(text):
    result = parse_duration(text)
    assert result is None or result >= 0


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4G", 4 * 1024**3),
        ("4000M", 4000 * 1024**2),
        ("4000", 4000 * 1024**2),  # bare numbers are MB
        ("512K", 512 * 1024),
        ("1T", 1024**4),
        ("1.5G", int(1.5 * 1024**3)),
        ("4000Mn", 4000 * 1024**2),  # old sacct ReqMem: per node
        ("2000Mc", 2000 * 1024**2),  # old sacct ReqMem: per CPU
        ("2.03 GB", int(2.03 * 1024**3)),  # seff
        ("4GiB", 4 * 1024**3),
        ("0", 0),
        ("64g", 64 * 1024**3),
    ],
)
def test_parse_mem(text, size):
    assert parse_mem(text) == size


@pytest.mark.parametrize("text", ["", "N/A", "G", "4X", "-4G", "4 G B", "lots"])
def test_non_sizes_are_none(text):
    assert parse_mem(text) is None


@given(st.text())
def test_parse_mem_is_total(text):
    result = parse_mem(text)
    assert result is None or result >= 0


def test_timestamps_and_nulls():
    assert parse_timestamp("2024-05-01T10:00:00") == "2024-05-01T10:00:00"
    for text in ("Unknown", "None", "N/A", "", "Tomorr 12:00", "2024-05-01"):
        assert parse_timestamp(text) is None
    assert parse_int(" 12 ") == 12
    assert parse_int("N/A") is None
    assert parse_int("²") is None
    for text in ("(null)", "N/A", "None", "", "  "):
        assert null_to_none(text) is None
    assert null_to_none(" gpu:4 ") == "gpu:4"
