"""JobSpec checks, spec_from_mapping and the rendered batch script."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcskills.core.errors import BadInput
from hpcskills.slurm.script import JobSpec, render_sbatch, spec_from_mapping


def sbatch_arguments(line: str) -> list[str]:
    """The arguments sbatch reads from one `#SBATCH` line (src/sbatch/opt.c, _get_argument):
    whitespace separates, '...' and "..." group, a backslash takes the next character
    literally (inside quotes too), an unquoted `#` starts a comment."""
    assert line.startswith("#SBATCH")
    text, args, i = line[len("#SBATCH") :], [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\v\f":
            i += 1
        if i >= len(text):
            return args
        arg, quote, escaped = "", None, False
        while i < len(text) and (quote or text[i] not in " \t\r\v\f"):
            char = text[i]
            i += 1
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
                continue
            elif quote:
                if char == quote:
                    quote = None
                    continue
            elif char in "'\"":
                quote = char
                continue
            elif char == "#":
                return [*args, arg] if arg else args
            arg += char
        assert quote is None, f"unmatched quote in {line!r}"
        args.append(arg)


def directives(script: str) -> list[list[str]]:
    lines = script.split("\n")  # sbatch ends lines at \n only
    return [sbatch_arguments(line) for line in lines if line.startswith("#SBATCH")]


FULL = JobSpec(
    partition="a100",
    command='python train.py --epochs 10 "$CONFIG"\necho done',
    nodes=2,
    ntasks_per_node=1,
    cpus_per_task=16,
    gpus=2,
    mem="64G",
    time="1-0",
    name="train \"big\" # 1; rm -rf ~ 'x'",
    output="logs/%x-%j.out",
    error="logs/err %j.txt",
    workdir="/dssg/home/acct-hpc/hpcuser/run 1",
    account="acct-hpc",
    qos="normal",
    comment="hpcskills:0f3a",
    modules=["cuda/12.1", "miniconda3"],
    env={"CONFIG": "conf/a b.yaml", "OMP_NUM_THREADS": "16", "QUOTE": "it's $HOME"},
    extra_flags=["--exclusive", "--constraint=a100&ib", "--mail-type=END"],
)
FULL_SCRIPT = """\
#!/bin/bash
#SBATCH --job-name="train \\"big\\" # 1; rm -rf ~ 'x'"
#SBATCH --partition=a100
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=16
#SBATCH --gres=gpu:2
#SBATCH --mem=64G
#SBATCH --time=1-00:00:00
#SBATCH --output=logs/%x-%j.out
#SBATCH --error="logs/err %j.txt"
#SBATCH --chdir="/dssg/home/acct-hpc/hpcuser/run 1"
#SBATCH --account=acct-hpc
#SBATCH --qos=normal
#SBATCH --comment=hpcskills:0f3a
#SBATCH --exclusive
#SBATCH --constraint="a100&ib"
#SBATCH --mail-type=END

module load cuda/12.1
module load miniconda3
export CONFIG='conf/a b.yaml'
export OMP_NUM_THREADS=16
export QUOTE='it'"'"'s $HOME'
cd '/dssg/home/acct-hpc/hpcuser/run 1' || exit 1
python train.py --epochs 10 "$CONFIG"
echo done
"""


def test_render_full_spec_golden():
    assert render_sbatch(FULL) == FULL_SCRIPT


def test_render_minimal_spec_golden():
    spec = JobSpec(partition="cpu", command="hostname")
    assert (
        render_sbatch(spec)
        == "#!/bin/bash\n#SBATCH --partition=cpu\n#SBATCH --nodes=1\n\nhostname\n"
    )


def test_sbatch_reads_back_every_value():
    args = directives(FULL_SCRIPT)
    assert all(len(a) == 1 for a in args), args
    parsed = dict(a[0].removeprefix("--").partition("=")[::2] for a in args)
    assert parsed["job-name"] == FULL.name
    assert parsed["error"] == FULL.error
    assert parsed["chdir"] == FULL.workdir
    assert parsed["constraint"] == "a100&ib"
    assert parsed["exclusive"] == ""


def test_shell_part_is_valid_bash():
    proc = subprocess.run(["bash", "-n"], input=FULL_SCRIPT, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def test_exports_round_trip_through_the_shell():
    lines = [line for line in FULL_SCRIPT.splitlines() if line.startswith("export ")]
    for line, (key, value) in zip(lines, FULL.env.items(), strict=True):
        assert shlex.split(line.removeprefix("export ")) == [f"{key}={value}"]


SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)


@given(SAFE_TEXT)
def test_any_name_is_refused_or_read_back_exactly(name):
    try:
        spec = JobSpec(partition="cpu", command="true", name=name, output=name, comment=name)
    except BadInput as error:
        assert error.details["field"] in ("name", "output", "comment")
        assert any(c < " " or c == "\x7f" for c in name) or "jobhet" in "job" + name.lower()
        return
    args = directives(render_sbatch(spec))
    assert [a[0] for a in args[:1]] == ["--job-name=" + name]
    assert ["--output=" + name] in args
    assert ["--comment=" + name] in args


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "two\nlines"}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": "my hetjob"}, "name"),
        ({"comment": "PackJob 2"}, "comment"),
        ({"name": ""}, "name"),
        ({"output": "a\rb"}, "output"),
        ({"workdir": "relative/dir"}, "workdir"),
        ({"workdir": "~/run"}, "workdir"),
        ({"partition": "cpu;ls"}, "partition"),
        ({"partition": ""}, "partition"),
        ({"account": "a b"}, "account"),
        ({"qos": "-x"}, "qos"),
        ({"command": "  \n"}, "command"),
        ({"command": "echo\x00"}, "command"),
        ({"command": "echo hi\n#SBATCH --partition=other"}, "command"),
        ({"command": "#PBS -l walltime=1:00:00\necho"}, "command"),
        ({"nodes": 0}, "nodes"),
        ({"nodes": True}, "nodes"),
        ({"nodes": "2"}, "nodes"),
        ({"gpus": -1}, "gpus"),
        ({"cpus_per_task": 1.5}, "cpus_per_task"),
        ({"mem": "4 GB"}, "mem"),
        ({"mem": "lots"}, "mem"),
        ({"time": "UNLIMITED"}, "time"),
        ({"time": "0"}, "time"),
        ({"time": "1 hour"}, "time"),
        ({"modules": ["gcc; rm -rf /"]}, "modules"),
        ({"modules": "gcc"}, "modules"),
        ({"env": {"1X": "a"}}, "env"),
        ({"env": {"A-B": "a"}}, "env"),
        ({"env": {"A": "x\x00"}}, "env"),
        ({"env": {"A": 1}}, "env"),
        ({"extra_flags": ["-N 2"]}, "extra_flags"),
        ({"extra_flags": ["--partition=debug"]}, "extra_flags"),
        ({"extra_flags": ["--gres=gpu:8"]}, "extra_flags"),
        ({"extra_flags": ["--constraint=a\nb"]}, "extra_flags"),
        ({"extra_flags": ["--dependency=afterok:1 --wrap=x"]}, None),
    ],
)
def test_invalid_specs_are_refused(changes, field):
    values = {"partition": "cpu", "command": "true", **changes}
    if field is None:  # accepted: the value stays one quoted argument
        spec = JobSpec(**values)
        assert directives(render_sbatch(spec))[-1] == ["--dependency=afterok:1 --wrap=x"]
        return
    with pytest.raises(BadInput) as info:
        JobSpec(**values)
    assert info.value.details["field"] == field
    assert info.value.exit_code == 2


def test_time_forms_are_normalized():
    assert JobSpec(partition="cpu", command="x", time="30").time == "00:30:00"
    assert JobSpec(partition="cpu", command="x", time="2:00:00").time == "02:00:00"
    assert JobSpec(partition="cpu", command="x", time="7-0").time == "7-00:00:00"


def test_spec_from_mapping():
    spec = spec_from_mapping(
        {
            "partition": "cpu",
            "command": "srun ./a.out",
            "nodes": 2,
            "modules": ["gcc/11"],
            "env": {"N": 4, "X": 0.5, "S": "s"},
            "extra_flags": ["--exclusive"],
            "qos": None,
        }
    )
    assert spec.env == {"N": "4", "X": "0.5", "S": "s"}
    assert spec.modules == ("gcc/11",)
    assert spec.extra_flags == ("--exclusive",)
    assert spec.qos is None


def test_spec_from_mapping_names_unknown_keys_and_the_allowed_ones():
    with pytest.raises(BadInput) as info:
        spec_from_mapping({"partition": "cpu", "command": "x", "cpus": 4, "walltime": "1:00"})
    error = info.value
    assert "cpus" in error.message and "walltime" in error.message
    assert "cpus → cpus_per_task" in error.hint
    assert "cpus_per_task" in error.details["allowed"]
    assert "allowed keys:" in error.hint


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"command": "x"}, "partition"),
        ({"partition": "cpu"}, "command"),
        ({"partition": 5, "command": "x"}, "partition"),
        ({"partition": "cpu", "command": ["a"]}, "command"),
        ({"partition": "cpu", "command": "x", "env": ["A=1"]}, "env"),
        ({"partition": "cpu", "command": "x", "env": {"A": True}}, "env"),
        ({"partition": "cpu", "command": "x", "modules": [1]}, "modules"),
    ],
)
def test_spec_from_mapping_type_errors(data, field):
    with pytest.raises(BadInput) as info:
        spec_from_mapping(data)
    assert info.value.details["field"] == field


def test_spec_from_mapping_needs_a_mapping():
    with pytest.raises(BadInput):
        spec_from_mapping(["partition", "cpu"])  # type: ignore[arg-type]
