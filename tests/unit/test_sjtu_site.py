"""The sjtu-slurm site profile: a data file, overridable without code changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, deep_merge, load_site

SITE_FILE = Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_URL_ENV, raising=False)
    monkeypatch.delenv(SITE_FILE_ENV, raising=False)


def test_shipped_profile_matches_the_facts() -> None:
    site = load_site(SITE_FILE)
    assert site.api_base_url == "https://api.hpc.sjtu.edu.cn"
    assert site.api_domain == "pi"
    assert site.support_email == "hpc@sjtu.edu.cn"
    assert site.security_docs == "https://docs.hpc.sjtu.edu.cn/accounts/security.html"
    assert site.default_cert_valid_seconds == 3600
    assert site.twofa_wait_seconds >= 600
    assert site.contact_methods == ["jwb", "email"]


def test_api_url_env_replaces_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_URL_ENV, "http://127.0.0.1:8765/")
    site = load_site(SITE_FILE)
    assert site.api_base_url == "http://127.0.0.1:8765"
    assert site.api_domain == "pi"  # the rest of the api block is kept


def test_api_url_env_must_be_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_URL_ENV, "http://api.example.org")
    with pytest.raises(BadInput):
        _ = load_site(SITE_FILE).api_base_url


def test_site_file_overlay_merges_deeply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "site.json"
    overlay.write_text(json.dumps({
        "api": {"timeout_seconds": 5},
        "support": {"email": "help@example.org"},
        "entry_nodes": {"pilogin": {"host": "127.0.0.1", "port": 2222}},
    }))
    monkeypatch.setenv(SITE_FILE_ENV, str(overlay))
    site = load_site(SITE_FILE)
    assert site.api_timeout == 5.0
    assert site.api_base_url == "https://api.hpc.sjtu.edu.cn"  # kept
    assert site.support_email == "help@example.org"
    assert site.security_docs.endswith("/accounts/security.html")  # kept
    pilogin = site.data["entry_nodes"]["pilogin"]
    assert pilogin["host"] == "127.0.0.1" and pilogin["port"] == 2222
    assert pilogin["node_groups"] == ["pi"]  # kept
    assert "sylogin" in site.data["entry_nodes"]


def test_api_url_env_wins_over_the_overlay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "site.json"
    overlay.write_text(json.dumps({"api": {"base_url": "https://overlay.example.org"}}))
    monkeypatch.setenv(SITE_FILE_ENV, str(overlay))
    assert load_site(SITE_FILE).api_base_url == "https://overlay.example.org"
    monkeypatch.setenv(API_URL_ENV, "http://localhost:1")
    assert load_site(SITE_FILE).api_base_url == "http://localhost:1"


@pytest.mark.parametrize(
    ("content", "error_type"),
    [("{bad", "site_invalid"), ("[1]", "site_invalid"), (None, "site_missing")],
)
def test_broken_overlay_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     content: str | None, error_type: str) -> None:
    overlay = tmp_path / "site.json"
    if content is not None:
        overlay.write_text(content)
    monkeypatch.setenv(SITE_FILE_ENV, str(overlay))
    with pytest.raises(BadInput) as caught:
        load_site(SITE_FILE)
    assert caught.value.type == error_type


def test_deep_merge_does_not_mutate() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    merged = deep_merge(base, {"a": {"b": 9}, "d": [2], "e": 3})
    assert merged == {"a": {"b": 9, "c": 2}, "d": [2], "e": 3}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1]}
