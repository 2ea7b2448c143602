"""Bohrium settings: environment first, then openclaw.json, with sources and no key shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcskills.bohrium.config import (
    DEFAULT_OPENAPI_HOST,
    load_config,
    normalize_host,
    resolve_config,
)
from hpcskills.core.errors import AuthRequired, BadInput
from hpcskills.core.openclaw_config import SkillEntry
from hpcskills.core.redact import redact

NO_ENTRY = SkillEntry()


def test_environment_wins_and_both_spellings_work() -> None:
    config = resolve_config({"BOHRIUM_ACCESS_KEY": "key-one", "BOHRIUM_PROJECT_ID": "12"}, NO_ENTRY)
    assert config.access_key == "key-one" and config.project_id == 12
    assert config.sources["access_key"] == "env:BOHRIUM_ACCESS_KEY"
    assert config.openapi_host == DEFAULT_OPENAPI_HOST
    assert config.api_base == "https://open.bohrium.com/openapi"
    assert config.sources["openapi_host"] == "default"

    both = resolve_config({"ACCESS_KEY": "a-key", "BOHRIUM_ACCESS_KEY": "b-key"}, NO_ENTRY)
    assert both.access_key == "a-key"
    assert both.notes == (
        "env:BOHRIUM_ACCESS_KEY differs from env:ACCESS_KEY; using env:ACCESS_KEY",
    )


def test_openclaw_entry_is_the_fallback() -> None:
    entry = SkillEntry(
        env={"PROJECT_ID": "154", "OPENAPI_HOST": "openapi.dp.tech"},
        api_key="from-api-key",
        source=Path("/x/openclaw.json"),
    )
    config = resolve_config({}, entry)
    assert config.access_key == "from-api-key"
    assert config.sources == {
        "access_key": "/x/openclaw.json:apiKey",
        "project_id": "/x/openclaw.json:env.PROJECT_ID",
        "openapi_host": "/x/openclaw.json:env.OPENAPI_HOST",
        "tiefblue_host": "default",
    }
    assert config.openapi_host == "https://openapi.dp.tech"
    with_env = resolve_config({}, SkillEntry(env={"ACCESS_KEY": "env-key"}, api_key="other"))
    assert with_env.access_key == "env-key"  # entry env before apiKey


def test_hosts_are_normalized_and_checked() -> None:
    assert normalize_host("https://open.bohrium.com/openapi/", "X") == "https://open.bohrium.com"
    assert normalize_host("http://127.0.0.1:8080", "X") == "http://127.0.0.1:8080"
    with pytest.raises(BadInput):
        normalize_host("http://open.bohrium.com", "X")  # plain http only on loopback


def test_missing_key_and_project_and_bad_project() -> None:
    config = resolve_config({}, NO_ENTRY)
    with pytest.raises(AuthRequired) as missing:
        config.require_key()
    assert "openclaw.json" in (missing.value.hint or "")
    with pytest.raises(BadInput):
        config.require_project()
    assert config.require_project(7) == 7
    with pytest.raises(BadInput):
        resolve_config({"PROJECT_ID": "abc"}, NO_ENTRY)


def test_describe_never_holds_the_key() -> None:
    config = resolve_config({"ACCESS_KEY": "very-secret-key-123"}, NO_ENTRY)
    text = json.dumps(config.describe())
    assert "very-secret-key-123" not in text
    assert redact(text) == text  # nothing that looks like a secret either


def test_load_config_reads_json5_and_registers_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(
        '// comment\n{skills: {entries: {"bohrium-job": {apiKey: "json5-key-42",'
        ' env: {PROJECT_ID: "3",},},},},}\n'
    )
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(path))
    config = load_config({})
    assert (config.access_key, config.project_id) == ("json5-key-42", 3)
    assert redact("key json5-key-42 here") == "key *** here"
