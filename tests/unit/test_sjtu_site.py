"""The sjtu-slurm site profile: a data file, overridable without code changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.site import API_URL_ENV, SITE_FILE_ENV, deep_merge, load_site, parse_site

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
    assert site.contact_methods == ("jwb", "email")


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
    pilogin = site.entry_nodes["pilogin"]
    assert pilogin.host == "127.0.0.1" and pilogin.port == 2222
    assert pilogin.node_groups == ("pi",)  # kept
    assert "sylogin" in site.entry_nodes


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


# ---------------------------------------------------------------- the typed profile


def _document() -> dict:
    return json.loads(SITE_FILE.read_text())


def test_shipped_profile_reads_into_records() -> None:
    site = load_site(SITE_FILE)
    assert site.node_groups["sy"].home_pool == "dssg"
    debug = site.partitions["debuga100"]
    assert (debug.node_group, debug.max_time, debug.gpus_per_node) == ("sy", "00:20:00", 4)
    assert debug.limits.has_gpus and not site.partitions["cpu"].limits.has_gpus
    assert site.partition("debug100") is debug
    assert site.entry_nodes["data"].node_groups == ("pi", "kp")
    assert site.entry_nodes["data"].is_data_node and not site.entry_nodes["pilogin"].is_data_node
    assert [p.name for p in site.pools_of_kind("cold")] == ["archive", "vault", "union"]
    assert site.storage["union"].union_of == ("archive", "vault")
    assert site.transfer.rsync_flags == ("--archive", "--partial")
    assert site.partitions["cpu"].described() == {
        "cores_per_node": 40,
        "mem_per_node_gb": 192,
        "max_time": "7-00:00:00",
    }


def test_profile_written_back_reads_the_same() -> None:
    site = load_site(SITE_FILE)
    assert parse_site(site.to_document()) == site
    assert parse_site(json.loads(json.dumps(site.to_document()))) == site  # as JSON, too
    assert parse_site(_document()).to_document() == site.to_document()


def test_partition_aliases_never_shadow_a_partition() -> None:
    with pytest.raises(BadInput) as caught:
        parse_site(deep_merge(_document(), {"partition_aliases": {"cpu": "debug"}}))
    assert caught.value.details["field"] == "partition_aliases.cpu"


@pytest.mark.parametrize(
    ("overlay", "field"),
    [
        ({"partitions": {"debug": {"max_nodes": "two"}}}, "partitions.debug.max_nodes"),
        ({"partitions": {"debug": {"max_nodes": True}}}, "partitions.debug.max_nodes"),
        ({"partitions": {"cpu": {"max_node": 2}}}, "partitions.cpu.max_node"),
        ({"partitions": {"cpu": {"max_time": "a week"}}}, "partitions.cpu.max_time"),
        ({"partitions": {"cpu": {"node_group": "xx"}}}, "partitions.cpu.node_group"),
        ({"partitions": {"new": {"max_time": "1:00:00"}}}, "partitions.new.node_group"),
        ({"partitions": {"cpu": 7}}, "partitions.cpu"),
        ({"partition_aliases": {"dbg": "nosuch"}}, "partition_aliases.dbg"),
        ({"entry_nodes": {"pilogin": {"node_groups": ["xx"]}}}, "entry_nodes.pilogin.node_groups"),
        ({"entry_nodes": {"pilogin": {"node_groups": []}}}, "entry_nodes.pilogin.node_groups"),
        ({"entry_nodes": {"pilogin": {"business": "web"}}}, "entry_nodes.pilogin.business"),
        ({"entry_nodes": {"pilogin": {"port": 70000}}}, "entry_nodes.pilogin.port"),
        ({"entry_nodes": {"pilogin": {"host": ""}}}, "entry_nodes.pilogin.host"),
        ({"entry_nodes": {"new": {"host": "h", "business": "job"}}}, "entry_nodes.new.node_groups"),
        ({"storage": {"archive": {"kind": "warm"}}}, "storage.archive.kind"),
        ({"storage": {"archive": {"mount": "archive"}}}, "storage.archive.mount"),
        ({"storage": {"lustre": {"visible_from": ["mars"]}}}, "storage.lustre.visible_from"),
        ({"storage": {"union": {"union_of": ["tape"]}}}, "storage.union.union_of"),
        ({"node_groups": {"pi": {"home_pool": "nfs"}}}, "node_groups.pi.home_pool"),
        ({"api": {"timeout_seconds": 0}}, "api.timeout_seconds"),
        ({"certificate": {"twofa_wait_seconds": "600"}}, "certificate.twofa_wait_seconds"),
        ({"transfer": {"rsync_flags": "--archive"}}, "transfer.rsync_flags"),
        ({"slurm": {"cluster_names": {"xx": "c"}}}, "slurm.cluster_names"),
        ({"storgae": {}}, "storgae"),
    ],
)
def test_bad_profile_data_names_the_field(overlay: dict, field: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_site(deep_merge(_document(), overlay))
    assert caught.value.type == "site_invalid" and caught.value.exit_code == 2
    assert caught.value.details["field"] == field
    assert field in caught.value.message


def test_bad_overlay_field_is_site_invalid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "site.json"
    overlay.write_text(json.dumps({"entry_nodes": {"sydata": {"port": "22"}}}))
    monkeypatch.setenv(SITE_FILE_ENV, str(overlay))
    with pytest.raises(BadInput) as caught:
        load_site(SITE_FILE)
    assert caught.value.type == "site_invalid"
    assert "entry_nodes.sydata.port" in caught.value.message


def test_a_minimal_profile_has_the_defaults() -> None:
    site = parse_site({})
    assert site.name == "sjtu" and site.api.timeout_seconds == 30.0
    assert site.contact_methods == ("jwb", "email") and site.partitions == {}
    with pytest.raises(BadInput) as caught:
        _ = site.api_base_url
    assert caught.value.type == "site_invalid" and "api.base_url" in caught.value.message
