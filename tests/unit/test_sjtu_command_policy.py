"""remote_exec's allow-list: read-only commands run at once, everything else is confirmed.

Every bypass of the security audit (2026-12-04, section 1) is a case here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hpcskills.sjtu.command_policy import (
    INTERPRETER,
    READ_ONLY,
    RUNNERS,
    SPECIAL,
    SUBCOMMANDS,
    CopyCheck,
    Risk,
    judge,
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "skills" / "sjtu-slurm" / "references" / "remote_exec.md"

D = "/lustre/home/acct-x/u/d"

AUDIT_BYPASSES = [
    # measured on the local site: each deleted or truncated a file with exit 0
    ["command", "rm", "-f", f"{D}/f1"],
    ["exec", "rm", "-f", f"{D}/f2"],
    ["eval", f"rm -f {D}/f3"],
    ["perl5.36.0", "-e", f"unlink '{D}/f4'"],
    ["rbash", "-c", f"rm -f {D}/f5"],
    ["node", "-e", f"require('fs').rmSync('{D}/f6')"],
    ["sort", "-o", f"{D}/f7", "/dev/null"],
    # found by reading the old check
    ["builtin", "eval", "rm -f f"],
    [".", "x.sh"],
    ["source", "x.sh"],
    ["tclsh8.6"],
    ["script", "-qc", "rm -f f"],
    ["tmux", "new-session", "-d", "rm -f f"],
    ["tar", "-zxf", "a.tgz"],
    ["tar", "zxf", "a.tgz"],
    ["tar", "-vxf", "a.tar"],
    ["git", "-C", "repo", "clean", "-fdx"],
    ["git", "--work-tree=.", "reset", "--hard"],
    ["curl", "-o", "f", "https://example.org"],
    ["wget", "-O", "f", "https://example.org"],
    ["find", ".", "-fprint", "f"],
    ["gdb", "-ex", "shell rm -f f"],
    ["vi", "-c", ":!rm -f f"],
    ["socat", "EXEC:rm -f f", "-"],
    ["openssl", "rand", "-out", "f", "8"],
    ["pdb3", "x.py"],
    ["run-parts", "dir"],
]

MORE_BYPASSES = [
    # an assignment prefix: shlex.quote leaves `A=/bin/ls` bare, so the shell runs `rm`
    ["A=/bin/ls", "rm", "-f", "f"],
    ["PATH=/tmp", "ls"],
    # a program outside the system directories is not the system's program
    ["./ls"],
    ["/tmp/bin/cat", "f"],
    ["/usr/bin/../../tmp/ls"],
    # wrappers and interpreters of any version
    ["env", "rm", "-f", "f"],
    ["nice", "rm", "f"],
    ["ionice", "rm", "f"],
    ["nohup", "rm", "f"],
    ["timeout", "5", "rm", "f"],
    ["stdbuf", "-o0", "rm", "f"],
    ["sudo", "rm", "f"],
    ["xargs", "rm"],
    ["srun", "rm", "f"],
    ["time", "rm", "f"],
    ["screen", "-dm", "rm", "f"],
    ["python3.11", "-c", "1"],
    ["pypy3", "-c", "1"],
    ["ruby3.2", "-e", "1"],
    ["lua5.4", "-e", "1"],
    ["zsh", "-c", "rm f"],
    ["ssh", "host", "rm f"],
    ["awk", 'BEGIN{system("rm f")}'],
    ["sed", "-n", "1e rm f", "x"],
    ["coproc", "rm", "f"],
    ["if"],
    # options of read-only programs that write or run programs
    ["sort", "-ro", "f", "in"],
    ["sort", "--output=f", "in"],
    ["sort", "--out=f", "in"],
    ["sort", "--compress-program=sh", "in"],
    ["tree", "-o", "f"],
    ["file", "-C", "-m", "magic"],
    ["date", "-s", "2020-01-01"],
    ["date", "0101010120"],
    ["hostname", "evil"],
    ["tee", "f"],
    ["find", ".", "-exec", "rm", "{}", ";"],
    ["find", ".", "-execdir", "rm", "{}", "+"],
    ["find", ".", "-ok", "rm", "{}", ";"],
    ["find", ".", "-okdir", "rm", "{}", ";"],
    ["find", ".", "-delete"],
    ["find", ".", "-fprint0", "f"],
    ["find", ".", "-fprintf", "f", "%p"],
    ["find", ".", "-fls", "f"],
    ["tar", "-tf", "a.tar", "--to-command=sh"],
    ["tar", "-t", "-I", "sh -c x", "-f", "a.tar"],
    ["tar", "-tf", "host:a.tar"],
    ["tar", "-cf", "a.tar", "dir"],
    ["tar", "--extract", "-f", "a.tar"],
    ["tar", "-tf", "a.tar", "--checkpoint-action=exec=sh"],
    ["git", "push"],
    ["git", "-c", "core.pager=sh", "log"],
    ["git", "diff", "--output=f"],
    ["git", "log", "--ext-diff"],
    ["git", "checkout", "."],
    ["git", "restore", "."],
    ["git", "stash"],
    ["git", "st"],
    ["scontrol", "update", "JobId=1", "Partition=x"],
    ["scontrol", "-M", "show", "update", "JobId=1"],
    ["scontrol", "requeue", "1"],
    ["scontrol", "hold", "1"],
    ["module", "load", "gcc"],
    ["module", "purge"],
    ["lfs", "setstripe", "-c", "4", "f"],
    ["cp", "-t", "dir", "a"],
    ["cp", "-rt", "dir", "a"],
    ["cp", "--target-directory=dir", "a"],
    ["cp", "-S", ".bak", "a", "b"],
    ["rsync", "-e", "sh -c x", "a", "b"],
    ["rsync", "-a", "--delete", "a/", "b/"],
    ["rsync", "-a", "--remove-source-files", "a", "b"],
    ["rsync", "-a", "--log-file=f", "a", "b"],
    ["rsync", "-a", "--excl", "x", "a", "b"],
    ["rsync", "-a", "a", "host:b"],
    ["scp", "a", "b"],
    ["install", "--strip-program=sh", "-s", "a", "b"],
]

DESTRUCTIVE = [
    ["rm", "-rf", "x"],
    ["scancel", "1"],
    ["mv", "a", "b"],
    ["bash", "-c", "ls"],
    ["python3", "x.py"],
    ["find", ".", "-delete"],
    ["sed", "-i", "s/a/b/", "f"],
    ["dd", "if=/dev/zero", "of=f"],
    ["git", "clean", "-fdx"],
    ["tee", "f"],
    ["rsync", "-a", "--delete", "a/", "b/"],
    ["truncate", "-s0", "f"],
    ["/bin/rm", "f"],
    ["touch", "f"],
    ["mkdir", "d"],
]

READ_ONLY_COMMANDS = [
    ["ls", "-la"],
    ["/usr/bin/ls", "-la"],
    ["squeue"],
    ["squeue", "-u", "me", "--format=%i %T"],
    ["cat", "f"],
    ["head", "-n", "5", "f"],
    ["tail", "-n5", "f"],
    ["df", "-h"],
    ["du", "-sh", "."],
    ["stat", "f"],
    ["wc", "-l", "f"],
    ["grep", "-rn", "x", "."],
    ["quota", "-s"],
    ["tee", "-a", "f"],
    ["tee", "--append", "f"],
    ["find", ".", "-name", "x"],
    ["find", "-L", ".", "-type", "f", "-newer", "x", "-print"],
    ["sort", "-rn", "f"],
    ["sort", "-k2", "f"],
    ["tar", "-tzf", "a.tgz"],
    ["tar", "tvf", "a.tar"],
    ["tar", "--list", "--file=a.tar"],
    ["git", "status"],
    ["git", "-C", "repo", "log", "--oneline", "-5"],
    ["git", "--no-pager", "diff", "HEAD~1"],
    ["git", "show", "HEAD:README.md"],
    ["sinfo", "-s"],
    ["sacct", "-j", "1"],
    ["seff", "1"],
    ["scontrol", "show", "job", "1"],
    ["scontrol", "-o", "show", "partition"],
    ["module", "avail"],
    ["module", "-t", "list"],
    ["module", "spider", "gcc"],
    ["lfs", "quota", "-u", "me", "/lustre"],
    ["lfs", "df", "-h"],
    ["pwd"],
    ["whoami"],
    ["id"],
    ["hostname"],
    ["hostname", "-f"],
    ["date"],
    ["date", "+%s"],
    ["date", "-d", "tomorrow", "+%F"],
    ["echo", "a; rm -rf /", "$(id)"],
    ["file", "f"],
    ["sha256sum", "f"],
    ["md5sum", "-c", "sums"],
    ["diff", "a", "b"],
    ["tree", "-L", "2"],
]


@pytest.mark.parametrize("argv", AUDIT_BYPASSES + MORE_BYPASSES, ids=" ".join)
def test_every_audit_bypass_needs_confirmation(argv: list[str]) -> None:
    verdict = judge(argv)
    assert isinstance(verdict, Risk), verdict
    assert verdict.rule and verdict.why


@pytest.mark.parametrize("argv", DESTRUCTIVE, ids=" ".join)
def test_destructive_commands_are_risky(argv: list[str]) -> None:
    assert isinstance(judge(argv), Risk)


@pytest.mark.parametrize("argv", READ_ONLY_COMMANDS, ids=" ".join)
def test_reading_commands_are_not(argv: list[str]) -> None:
    assert judge(argv) is None


def test_copies_ask_to_check_their_destination() -> None:
    assert judge(["cp", "a", "b"]) == CopyCheck("b")
    assert judge(["cp", "-r", "a", "b", "dir/"]) == CopyCheck("dir/")
    assert judge(["cp", "a", "b", "--", "-c"]) == CopyCheck("-c")
    assert judge(["rsync", "-a", "src/", "dst/"]) == CopyCheck("dst/")
    assert judge(["rsync", "-av", "--exclude=*.o", "src/", "dst/"]) == CopyCheck("dst/")
    assert judge(["rsync", "-a", "src", "old", "--exclude", "x"]) == CopyCheck("old")
    assert judge(["ln", "-s", "target", "link"]) == CopyCheck("link")
    assert judge(["ln", "-sf", "/x/target"]) == CopyCheck("target")  # ln DIR/F makes ./F


@pytest.mark.parametrize(
    ("argv", "rule", "words"),
    [
        (["command", "rm", "f"], "runs-commands", "command"),
        (["perl5.36.0", "-e", "1"], "runs-commands", "perl5.36.0"),
        (["rm", "f"], "not-read-only", "deletes files"),
        (["touch", "f"], "not-read-only", "not on the list"),
        (["sort", "-o", "f"], "option", "-o"),
        (["git", "push"], "subcommand", "git push"),
        (["A=1", "ls"], "command-name", "assignment"),
        (["./ls"], "program-path", "./ls"),
        (["hostname", "evil"], "operand", "evil"),
    ],
)
def test_the_plan_says_which_rule(argv: list[str], rule: str, words: str) -> None:
    verdict = judge(argv)
    assert isinstance(verdict, Risk)
    assert verdict.rule == rule
    assert words in verdict.why


def test_no_allowed_program_is_also_a_runner() -> None:
    allowed = {*READ_ONLY, *SUBCOMMANDS, *SPECIAL}
    assert not {p for p in allowed if p in RUNNERS or INTERPRETER.fullmatch(p)}


def test_the_reference_names_every_allowed_program() -> None:
    text = REFERENCE.read_text()
    for program in (*READ_ONLY, *SUBCOMMANDS, *SPECIAL, "find"):
        assert re.search(rf"(?<![\w-]){re.escape(program)}(?![\w-])", text), program
