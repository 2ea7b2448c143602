"""Job-spec lint: each rule, automatic WAF wrapping, and the shipped templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcskills.bohrium.catalog import load_catalog
from hpcskills.bohrium.lint import lint, wrapper_script
from hpcskills.bohrium.packing import scan_input
from hpcskills.bohrium.spec import JobSpec, build_spec
from hpcskills.core.errors import BadInput

SKILL_DIR = Path(__file__).resolve().parents[2] / "skills" / "bohrium-job"
CATALOG = load_catalog(SKILL_DIR)
GOOD = JobSpec(
    job_name="x",
    command="python train.py",
    project_id=154,
    image_address="registry.dp.tech/dptech/ubuntu:20.04-py3.10",
    machine_type="c2_m4_cpu",
    backward_files=["out"],
)


@pytest.fixture
def inventory(tmp_path: Path):
    (tmp_path / "train.py").write_text("print(1)\n")
    return scan_input(tmp_path)


def codes(result) -> dict[str, str]:
    return {f.code: f.level for f in result.findings}


def test_a_good_spec_is_clean(inventory) -> None:
    assert lint(GOOD, inventory, CATALOG).findings == []


@pytest.mark.parametrize(
    ("changes", "code", "level"),
    [
        ({"image_address": "deepmd-kit:2.1.5"}, "image_not_full_address", "error"),
        ({"image_address": "registry.dp.tech/dptech/lammps"}, "image_without_tag", "warning"),
        ({"machine_type": "c4_m15_T4"}, "machine_type_invalid", "error"),
        ({"machine_type": "c64_m256_cpu"}, "machine_type_uncommon", "warning"),
        ({"job_type": "vm"}, "job_type_not_container", "error"),
        ({"result_path": "/root/out"}, "result_path_outside", "error"),
        ({"result_path": "/personaldata"}, "result_path_outside", "error"),
        ({"command": "cd /root/input && python train.py"}, "absolute_input_path", "error"),
        ({"log_file": "/root/input/log"}, "absolute_input_path", "error"),
        ({"log_file": "/var/log/x"}, "log_file_absolute", "warning"),
        ({"backward_files": []}, "no_backward_files", "warning"),
        ({"backward_files": ["/abs/out"]}, "backward_file_absolute", "warning"),
        ({"backward_files": ["../../etc/passwd"]}, "backward_file_outside", "error"),
        ({"backward_files": ["out/../../x"]}, "backward_file_outside", "error"),
        ({"backward_files": [".."]}, "backward_file_outside", "error"),
        ({"dataset_path": ["/data/x"]}, "dataset_path_unusual", "warning"),
        ({"nnode": 0}, "nnode_invalid", "error"),
        ({"command": None}, "missing_command", "error"),
        ({"project_id": None}, "missing_project_id", "error"),
    ],
)
def test_rules(inventory, changes: dict, code: str, level: str) -> None:
    result = lint(GOOD.with_changes(**changes), inventory, CATALOG)
    assert codes(result).get(code) == level, result.to_list()
    assert all(f.fix or f.code == "nnode_invalid" for f in result.findings)


def test_image_fix_suggests_the_catalog_address(inventory) -> None:
    result = lint(GOOD.with_changes(image_address="lammps"), inventory, CATALOG)
    assert result.errors[0].fix == "use 'registry.dp.tech/dptech/lammps:29Sep2021'"
    result = lint(GOOD.with_changes(machine_type="c16_m32cpu"), inventory, CATALOG)
    assert "c16_m32_cpu" in (result.errors[0].fix or "")


@pytest.mark.parametrize(
    "command",
    [
        "for i in 1 2; do echo $i; done",
        "python a.py; python b.py",
        "cat x | grep y",
        "echo `date`",
        "echo $(date)",
        "wget http://x/y",
        "bash -c 'run'",
        "python -c 'print(1)'",
        "cat /etc/passwd",
        "rm -rf out && run",
        "a\nb",
    ],
)
def test_waf_prone_commands_are_wrapped(inventory, command: str) -> None:
    result = lint(GOOD.with_changes(command=command), inventory, CATALOG)
    assert codes(result) == {"waf_wrapped": "fixed"}
    assert result.spec.command == "bash run.sh"
    assert result.extra_files == {"run.sh": wrapper_script(command)}
    assert result.extra_files["run.sh"].decode().endswith(command + "\n")
    unwrapped = lint(GOOD.with_changes(command=command), inventory, CATALOG, wrap=False)
    assert codes(unwrapped) == {"waf_prone_command": "warning"}
    assert unwrapped.spec.command == command and unwrapped.extra_files == {}


@pytest.mark.parametrize(
    "command",
    [
        "mpirun -n 32 lmp_mpi -i in.shear > log",
        "cd se_e2_a && dp train input.json > tmp 2>&1",
        "OMP_NUM_THREADS=1 mpirun -np 8 abacus > log",
        "bash rungmx.sh > log",
        "python train.py --epochs 10 --lr 1e-3",
    ],
)
def test_ordinary_commands_are_left_alone(inventory, command: str) -> None:
    assert "waf_wrapped" not in codes(lint(GOOD.with_changes(command=command), inventory, CATALOG))


def test_wrapper_does_not_clash_with_input_files(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("mine\n")
    result = lint(GOOD.with_changes(command="a; b"), scan_input(tmp_path), CATALOG)
    assert list(result.extra_files) == ["run_bohrium.sh"]
    (tmp_path / "run_bohrium.sh").write_bytes(wrapper_script("a; b"))  # from an earlier run
    again = lint(GOOD.with_changes(command="a; b"), scan_input(tmp_path), CATALOG)
    assert list(again.extra_files) == ["run_bohrium.sh"]


def test_input_size_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "pack").write_bytes(b"\0" * (11 * 1024 * 1024))
    (tmp_path / "a").write_text("x")
    result = lint(GOOD, scan_input(tmp_path), CATALOG)
    assert codes(result) == {"large_hidden_files": "warning"}
    assert ".git/pack" in result.findings[0].message
    empty = tmp_path / "empty"
    empty.mkdir()
    assert codes(lint(GOOD, scan_input(empty), CATALOG)) == {"input_empty": "warning"}


@pytest.mark.parametrize("name", ["deepmd", "lammps", "abacus", "gromacs", "cp2k"])
def test_shipped_templates_lint_without_errors(inventory, name: str) -> None:
    spec = build_spec(template=CATALOG.template(name), default_project=154)
    result = lint(spec, inventory, CATALOG)
    assert result.errors == []
    assert set(codes(result)) <= {"no_backward_files"}
    assert CATALOG.machine_type_known(spec.machine_type or "")


def test_backward_files_inside_the_work_dir_are_fine(inventory) -> None:
    spec = GOOD.with_changes(backward_files=["log", "out/../results/", "./a/b"])
    assert "backward_file_outside" not in codes(lint(spec, inventory, CATALOG))


@pytest.mark.parametrize("name", ["a\nb", "a\x1b[31mred", "tab\there", "x" * 129, " "])
def test_job_names_must_be_printable_and_short(name: str) -> None:
    with pytest.raises(BadInput) as caught:
        build_spec(overrides={"job_name": name})
    assert "job_name" in caught.value.message


def test_a_128_character_unicode_name_is_fine() -> None:
    assert build_spec(overrides={"job_name": "模拟 run-1 " + "x" * 118}).job_name
