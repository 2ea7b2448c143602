"""The catalog data the code uses agrees with the references the agent reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hpcskills.bohrium.catalog import load_catalog
from hpcskills.core.errors import BadInput

SKILL_DIR = Path(__file__).resolve().parents[2] / "skills" / "bohrium-job"
CATALOG = load_catalog(SKILL_DIR)
REFERENCES = SKILL_DIR / "references"


def backticked(path: Path) -> set[str]:
    return set(re.findall(r"`([^`]+)`", path.read_text()))


def test_machine_types_and_images_match_the_references() -> None:
    machines = backticked(REFERENCES / "machine-types.md")
    assert set(CATALOG.machine_types) <= machines
    images = backticked(REFERENCES / "images.md")
    assert {entry["container"] for entry in CATALOG.images} <= images


def test_troubleshooting_rows_match_the_reference() -> None:
    text = (REFERENCES / "troubleshooting.md").read_text()
    for row in CATALOG.troubleshooting:
        assert row.problem in text and row.solution in text


def test_templates_are_listed_and_documented() -> None:
    names = CATALOG.template_names()
    assert names == ["abacus", "cp2k", "deepmd", "gromacs", "lammps"]
    text = (REFERENCES / "templates.md").read_text()
    for name in names:
        template = CATALOG.template(name)
        assert "project_id" not in template  # comes from the user's settings
        assert f"`{name}`" in text and template["image_address"] in text
    with pytest.raises(BadInput):
        CATALOG.template("../catalog")


def test_hints_and_suggestions() -> None:
    assert "relative" in (CATALOG.hint_for("cd /root/input: No such file") or "")
    assert "run.sh" in (CATALOG.hint_for("HTTP 405 Not Allowed") or "")
    assert CATALOG.hint_for("all good") is None
    assert CATALOG.image_suggestion("deepmd") == (
        "registry.dp.tech/dptech/deepmd-kit:2.1.5-cuda11.6"
    )
    assert CATALOG.image_suggestion("LBG_LAMMPS_stable_23Jun2022_v1") == (
        "registry.dp.tech/dptech/lammps:29Sep2021"
    )
    assert CATALOG.image_suggestion("unknown-thing") is None
    json.dumps(CATALOG.limits)
