"""Option types: finite positive seconds and non-empty text are checked at the option layer."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from hpcskills.core.params import NonEmptyText, Seconds


@click.command()
@click.option("--timeout", type=Seconds(maximum=3600), default=60)
@click.option("--name", type=NonEmptyText())
def probe(timeout: float, name: str | None) -> None:
    click.echo(f"{timeout!r} {name!r}")


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "-inf", "-5", "0", "3601", "1e400", "abc", ""]
)
def test_seconds_must_be_finite_positive_and_bounded(value: str) -> None:
    result = CliRunner().invoke(probe, ["--timeout", value])
    assert result.exit_code == 2, result.output
    assert "--timeout" in result.output


@pytest.mark.parametrize(("value", "expected"), [("1.5", 1.5), ("3600", 3600.0), ("2", 2.0)])
def test_good_seconds_pass(value: str, expected: float) -> None:
    result = CliRunner().invoke(probe, ["--timeout", value])
    assert result.exit_code == 0 and result.output.startswith(repr(expected))


@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_empty_text_is_not_the_default(value: str) -> None:
    result = CliRunner().invoke(probe, ["--name", value])
    assert result.exit_code == 2 and "empty" in result.output


def test_text_is_kept_as_given() -> None:
    assert CliRunner().invoke(probe, ["--name", "alice"]).output == "60.0 'alice'\n"
    assert CliRunner().invoke(probe, []).output == "60.0 None\n"
