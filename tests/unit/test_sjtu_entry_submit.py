"""Entry-node selection and submission checks (pure, on the shipped site profile)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.entry import named_entry_node, select_entry_node
from hpcskills.sjtu.job_rules import cold_paths
from hpcskills.sjtu.jobs import sacct_since
from hpcskills.sjtu.site import load_site
from hpcskills.sjtu.submit import (
    parse_env_pairs,
    prepare,
    prepare_script,
    read_env_file,
    script_file_name,
)

SITE = load_site(Path(__file__).resolve().parents[2] / "skills" / "sjtu-slurm" / "site.json")


@pytest.mark.parametrize(
    ("partition", "node", "group"),
    [
        ("cpu", "pilogin", "pi"),
        ("a100", "sylogin", "sy"),
        ("debug100", "sylogin", "sy"),
        ("arm128c256g", "armlogin", "kp"),
        ("64c512g", "sylogin", "sy"),
    ],
)
def test_partition_routes_to_its_groups_login_node(partition: str, node: str, group: str) -> None:
    choice = select_entry_node(SITE, partition=partition)
    assert (choice.name, choice.node_group, choice.business) == (node, group, "job")
    assert choice.host.endswith(".hpc.sjtu.edu.cn")


def test_debug100_is_accepted_as_debuga100() -> None:
    assert SITE.partition("debug100").name == "debuga100"
    assert "debuga100" in select_entry_node(SITE, partition="debug100").reason


def test_unknown_partition_names_the_closest() -> None:
    with pytest.raises(BadInput) as raised:
        select_entry_node(SITE, partition="a10O")
    assert raised.value.type == "unknown_partition"
    assert "a100" in raised.value.details["suggestions"]


@pytest.mark.parametrize(
    ("path", "business", "node"),
    [
        ("/dssg/home/acct-x/u/run", "data", "sydata"),
        ("/lustre/home/acct-x/u", "data", "data"),
        ("/lustre/home/acct-x/u", "job", "pilogin"),
        ("/dssg/home/a/b", "job", "sylogin"),
    ],
)
def test_storage_routes_to_a_node_that_sees_it(path: str, business: str, node: str) -> None:
    assert select_entry_node(SITE, storage=path, business=business).name == node


def test_storage_outside_every_pool_is_bad_input() -> None:
    with pytest.raises(BadInput):
        SITE.pool_of("/etc/passwd")
    assert SITE.pool_of("/archive/home/a/b").name == "archive"
    with pytest.raises(BadInput):
        SITE.pool_of("/archiver/x")  # a prefix of the name is not the mount


def test_an_entry_node_by_name() -> None:
    choice = named_entry_node(SITE, "sydata", "chosen with --node sydata")
    assert (choice.name, choice.business, choice.node_group) == ("sydata", "data", "sy")
    assert choice.reason == "chosen with --node sydata"
    with pytest.raises(BadInput) as raised:
        named_entry_node(SITE, "nosuchnode", "")
    assert raised.value.type == "unknown_entry_node"


def test_exactly_one_selector() -> None:
    with pytest.raises(BadInput):
        select_entry_node(SITE, partition="cpu", node_group="pi")
    with pytest.raises(BadInput):
        select_entry_node(SITE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", "now-2hours"),
        ("3d", "now-3days"),
        ("1w", "now-1weeks"),
        ("30m", "now-30minutes"),
        ("2026-11-01", "2026-11-01"),
    ],
)
def test_sacct_since(text: str, expected: str) -> None:
    assert sacct_since(text) == expected


def test_own_script_needs_a_partition_and_a_shebang() -> None:
    with pytest.raises(BadInput, match="#!"):
        prepare_script(SITE, "echo hi\n", "cpu")
    with pytest.raises(BadInput) as raised:
        prepare_script(SITE, "#!/bin/bash\necho hi\n", None)
    assert raised.value.type == "partition_required"


def test_own_script_partition_from_sbatch_line_and_flag_added() -> None:
    from_line = prepare_script(SITE, "#!/bin/bash\n#SBATCH -p a100\nnvidia-smi\n", None)
    assert (from_line.partition, from_line.node_group) == ("a100", "sy")
    added = prepare_script(SITE, "#!/bin/bash\necho hi\n", "debug100")
    assert "#SBATCH --partition=debuga100" in added.script.splitlines()[1]
    with pytest.raises(BadInput, match="contradicts"):
        prepare_script(SITE, "#!/bin/bash\n#SBATCH --partition=cpu\n", "a100")


def test_scripts_on_cold_storage_are_refused() -> None:
    assert cold_paths(SITE, texts=["cp /archive/home/a/x.dat . && run /union/y"]) == [
        "/archive/home/a/x.dat",
        "/union/y",
    ]
    assert cold_paths(SITE, texts=["run /lustre/home/a/x"]) == []
    with pytest.raises(BadInput) as raised:
        prepare_script(SITE, "#!/bin/bash\n#SBATCH -p cpu\ncat /vault/home/a/data\n", None)
    assert raised.value.type == "cold_storage"  # the same rule and error as for a spec
    assert raised.value.details["paths"] == ["/vault/home/a/data"]
    assert "/lustre" in (raised.value.hint or "")


def test_scripts_mentioning_cold_mount_names_inside_other_paths_pass() -> None:
    """The script check once used a looser pattern that refused these."""
    text = "#!/bin/bash\n#SBATCH -p cpu\nls ~/archive /archived /lustre/home/u/vault/x\n"
    assert prepare_script(SITE, text, None).partition == "cpu"


def test_spec_from_flags_over_spec_file(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text('{"partition": "cpu", "command": "hostname", "time": "1:00:00"}')
    prepared = prepare(
        SITE,
        script_file=None,
        spec_file=spec_file,
        fields={"partition": "a100", "gpus": 1, "name": "x"},
    )
    assert prepared.partition == "a100" and prepared.node_group == "sy"
    assert "--gres=gpu:1" in prepared.script


def test_script_and_spec_do_not_mix(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH -p cpu\nhostname\n")
    with pytest.raises(BadInput, match="cannot be combined"):
        prepare(SITE, script_file=script, spec_file=None, fields={"gpus": 1})


def test_env_pairs_and_file_names() -> None:
    assert parse_env_pairs(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(BadInput):
        parse_env_pairs(["NOVALUE"])
    name = script_file_name("it's; a $(test)", now=0)
    assert name.startswith("it_s__a___test_-19700101-000000-") and name.endswith(".sbatch")


SECRET = "s3cr3t 'value' $(id)"


def test_env_file_values_reach_the_script_quoted_and_never_its_shown_form(tmp_path: Path) -> None:
    env_file = tmp_path / "job.env"
    env_file.write_text(f"# tokens for the job\n\nAPI_TOKEN={SECRET}\r\nEMPTY=\n")
    secret_env = read_env_file(env_file)
    assert secret_env == {"API_TOKEN": SECRET, "EMPTY": ""}
    prepared = prepare(
        SITE,
        script_file=None,
        spec_file=None,
        fields={"partition": "cpu", "command": "run", "env": {"PLAIN": "1"}},
        secret_env=secret_env,
    )
    assert f"export API_TOKEN={shlex.quote(SECRET)}\n" in prepared.script
    assert "export PLAIN=1\n" in prepared.script
    assert SECRET not in prepared.visible_script
    assert "export API_TOKEN='<from --env-file>'" in prepared.visible_script
    assert "export PLAIN=1\n" in prepared.visible_script


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"not-a-name={SECRET}\n", ["line 1", "not a variable name"]),
        (f"s3cr3t pass={SECRET}\n", ["line 1", "not a variable name"]),
        (f"{SECRET}\n", ["line 1", "KEY=VALUE"]),
        (f"A=1\nA={SECRET}\n", ["line 2", "'A'", "twice"]),
        (f"A=x\0{SECRET}\n", ["line 1", "NUL"]),
    ],
)
def test_a_bad_env_file_names_the_line_never_the_value(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    env_file = tmp_path / "job.env"
    env_file.write_text(text)
    with pytest.raises(BadInput) as raised:
        read_env_file(env_file)
    shown = json.dumps(raised.value.to_dict())
    assert "s3cr3t" not in shown
    for word in words:
        assert word in shown


def test_env_file_does_not_mix_with_a_script_or_repeat_an_env_key(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH -p cpu\nhostname\n")
    with pytest.raises(BadInput, match="--env-file"):
        prepare(SITE, script_file=script, spec_file=None, fields={}, secret_env={"A": "x"})
    with pytest.raises(BadInput, match="'A'") as raised:
        prepare(
            SITE,
            script_file=None,
            spec_file=None,
            fields={"partition": "cpu", "command": "run", "env": {"A": "1"}},
            secret_env={"A": SECRET},
        )
    assert "s3cr3t" not in json.dumps(raised.value.to_dict())
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"A=\xff\xfe\n")
    with pytest.raises(BadInput, match="UTF-8"):
        read_env_file(binary)
