"""openclaw.json (JSON5): skills.entries.<name> env and apiKey."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.core.openclaw_config import (
    CONFIG_PATH_ENV,
    SkillEntry,
    config_path,
    load_skill_entry,
    parse_skill_entry,
)

CONFIG = """
// OpenClaw config, as people write it
{
  skills: {
    entries: {
      'bohrium-job': {
        enabled: true,
        apiKey: "bohr-key-123",   // a plain string
        env: { BOHRIUM_PROJECT_ID: 42, REGION: 'cn', },
      },
      "sjtu-slurm": {
        /* a SecretRef to an env var */
        apiKey: { source: "env", id: "MY_SJTU_KEY" },
      },
      "ref-to-file": { apiKey: { source: "file", id: "/x" } },
      broken: "not an object",
    },
  },
}
"""


def test_plain_api_key_and_env_with_comments_and_trailing_commas() -> None:
    entry = parse_skill_entry(CONFIG, "bohrium-job")
    assert entry.api_key == "bohr-key-123"
    assert entry.env == {"BOHRIUM_PROJECT_ID": "42", "REGION": "cn"}


def test_env_secret_ref(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SJTU_KEY", "from-env-456")
    assert parse_skill_entry(CONFIG, "sjtu-slurm").api_key == "from-env-456"
    monkeypatch.delenv("MY_SJTU_KEY")
    assert parse_skill_entry(CONFIG, "sjtu-slurm").api_key is None


def test_unsupported_ref_and_odd_entries_are_empty() -> None:
    assert parse_skill_entry(CONFIG, "ref-to-file").api_key is None
    assert parse_skill_entry(CONFIG, "broken") == SkillEntry()


@pytest.mark.parametrize(
    "text", ["{}", "[]", "{skills: null}", "{skills: {entries: []}}", "{skills: {}}"]
)
def test_missing_entry_is_empty(text: str) -> None:
    assert parse_skill_entry(text, "bohrium-job") == SkillEntry()


@pytest.mark.parametrize("text", ["{skills: ", "{'a': }", "not json at all {"])
def test_invalid_json5_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_skill_entry(text, "x", source=Path("/cfg/openclaw.json"))
    assert caught.value.type == "config_invalid"
    assert caught.value.exit_code == 2
    assert "/cfg/openclaw.json" in caught.value.message


def test_missing_file_is_an_empty_entry(tmp_path: Path) -> None:
    assert load_skill_entry("bohrium-job", tmp_path / "nope.json") == SkillEntry()


def test_load_from_file_records_the_source(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(CONFIG)
    entry = load_skill_entry("bohrium-job", path)
    assert entry.api_key == "bohr-key-123"
    assert entry.source == path


def test_config_path_env_then_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(CONFIG_PATH_ENV, raising=False)
    assert config_path() == tmp_path / ".openclaw" / "openclaw.json"
    custom = tmp_path / "elsewhere.json"
    custom.write_text("{skills: {entries: {x: {apiKey: 'k-1'}}}}")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(custom))
    assert config_path() == custom
    assert load_skill_entry("x").api_key == "k-1"
