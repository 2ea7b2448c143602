"""Which remote commands run without confirmation: an allow-list of read-only programs.

The command reaches the login shell as its words, each quoted with shlex.quote, so the shell
runs exactly argv[0] with argv[1:] as literal arguments, with two exceptions this module
judges: a bare `NAME=value` first word is an assignment prefix, and a reserved word (`time`,
`if`, `coproc`) keeps its meaning. A command runs at once only when its program is on the
allow-list and none of its options, operands or subcommands writes or runs anything;
everything else needs a plan and the user's confirmation.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Risk:
    """Why a command needs confirmation: the rule that decided, in words for the plan."""

    rule: str
    why: str


@dataclass(frozen=True)
class CopyCheck:
    """A copy that is confirmed only if `destination` already exists (it would be replaced)."""

    destination: str


Verdict = Risk | CopyCheck | None
SYSTEM_DIRS = frozenset({"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"})
_PROGRAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=.*", re.S)
INTERPRETER = re.compile(
    r"(?:[a-z]*sh|python|pypy|perl|ruby|irb|node|nodejs|deno|bun|php|lua|luajit|tclsh|wish|"
    r"expect|r|rscript|julia|java|jshell|guile|racket|ocaml|gdb|lldb|pdb|awk|gawk|mawk|nawk|"
    r"sed|busybox|vim?|nvim|ex|ed|emacs|make|octave|matlab|sqlite)[\d._-]*",
    re.I,
)
RUNNERS = frozenset({
    # shell builtins and reserved words that run their arguments
    ".", "source", "eval", "exec", "command", "builtin", "time", "coproc", "trap",
    # programs that run another command or a script
    "env", "nice", "ionice", "nohup", "timeout", "stdbuf", "setsid", "flock", "taskset",
    "numactl", "chrt", "chroot", "unshare", "nsenter", "sudo", "su", "doas", "pkexec",
    "xargs", "parallel", "watch", "script", "tmux", "screen", "run-parts",
    "srun", "salloc", "sbatch", "mpirun", "mpiexec", "apptainer", "singularity", "strace",
    "ltrace", "valgrind", "perf", "socat", "scp", "sftp", "rsh",
})
KNOWN_EFFECTS = {
    "rm": "deletes files",
    "rmdir": "deletes directories",
    "unlink": "deletes a file",
    "shred": "destroys file contents",
    "truncate": "cuts files short",
    "scancel": "cancels jobs",
    "kill": "stops processes",
    "pkill": "stops processes",
    "killall": "stops processes",
    "mv": "moves data away from where it was (and may overwrite the destination)",
    "crontab": "changes scheduled tasks",
    "chmod": "changes permissions",
    "chown": "changes ownership",
    "chgrp": "changes ownership",
    "setfacl": "changes permissions",
    "passwd": "changes the account",
    "sacctmgr": "changes Slurm accounts",
    "unzip": "may overwrite files",
    "gzip": "replaces the original file",
    "gunzip": "replaces the original file",
    "bzip2": "replaces the original file",
    "xz": "replaces the original file",
    "dd": "writes over its output file",
    "curl": "can write files and send data",
    "wget": "writes files",
    "install": "copies over files and may run a strip program",
}


@dataclass(frozen=True)
class Options:
    """The options of a read-only program that write files or run other programs."""

    short: str = ""
    long: tuple[str, ...] = ()
    with_value: frozenset[str] = frozenset()  # options whose value may be the next word


PLAIN = Options()
READ_ONLY: dict[str, Options] = {
    **{name: PLAIN for name in (
        "ls", "cat", "head", "tail", "stat", "du", "df", "quota", "wc", "grep", "egrep",
        "fgrep", "pwd", "whoami", "id", "groups", "uname", "uptime", "nproc", "free",
        "lscpu", "which", "echo", "basename", "dirname", "realpath", "readlink", "getfacl",
        "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum", "b2sum",
        "cksum", "cmp", "diff", "sinfo", "squeue", "sacct", "sshare", "sprio", "sstat",
        "sreport", "sdiag", "seff",
    )},
    "sort": Options("o", ("output", "compress-program")),
    "tree": Options("o"),
    "file": Options("C", ("compile",)),
}
SUBCOMMANDS: dict[str, tuple[frozenset[str], Options]] = {
    # program: (read-only subcommands, options allowed before the subcommand)
    "scontrol": (
        frozenset({"show", "ping", "version"}),
        Options("adoQv", ("details", "oneliner", "quiet", "verbose", "local", "sibling")),
    ),
    "module": (
        frozenset({"avail", "list", "show", "display", "spider", "whatis", "help", "keyword",
                   "is-loaded", "is-avail", "savelist"}),
        Options("tldq", ("terse", "long", "default", "quiet")),
    ),
    "lfs": (frozenset({"quota", "df"}), Options()),
    "git": (
        frozenset({"status", "log", "diff", "show", "ls-files", "blame"}),
        Options("CP", ("no-pager", "git-dir", "work-tree", "no-optional-locks"),
                frozenset({"C", "git-dir", "work-tree"})),
    ),
}
GIT_WRITERS = ("output", "ext-diff", "exec", "open-files-in-pager")
FIND_ACTIONS = ("-delete", "-exec", "-ok", "-fprint", "-fls")
TAR_LISTING = Options("tvfzjJ", ("list", "file", "verbose", "gzip", "gunzip", "bzip2", "xz",
                                 "zstd"), frozenset({"f", "file"}))
RSYNC_SAFE = Options("avrlptgoDhPzcnuiWxRq", ("archive", "verbose", "recursive", "progress",
                     "partial", "human-readable", "dry-run", "checksum", "update", "stats",
                     "compress", "times", "perms", "links", "hard-links", "itemize-changes",
                     "quiet", "exclude", "include", "whole-file", "relative"),
                     frozenset({"exclude", "include"}))


@dataclass(frozen=True)
class Word:
    """One option (`-x`, `--name`) or operand, as GNU getopt reads it."""

    text: str
    option: str | None = None  # the short letter or long name; None for an operand
    value: str | None = None


def parse(args: list[str], with_value: frozenset[str] = frozenset()) -> list[Word]:
    """Options and operands, the way GNU getopt reads them (options may follow operands;
    `--` ends them; a short cluster `-abc` is three options; a value may be the next word)."""
    words: list[Word] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            words.extend(Word(a) for a in rest)
        elif arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if not eq and name in with_value:
                words.append(Word(arg, name, next(rest, "")))
            else:
                words.append(Word(arg, name, value if eq else None))
        elif arg.startswith("-") and arg != "-":
            for i, letter in enumerate(arg[1:], start=1):
                if letter in with_value:
                    attached = arg[i + 1:]
                    words.append(Word(arg, letter, attached or next(rest, "")))
                    break
                words.append(Word(arg, letter))
        else:
            words.append(Word(arg))
    return words


def _long_match(name: str, names: tuple[str, ...]) -> bool:
    """GNU accepts any unambiguous prefix of a long option: `--out` is `--output`."""
    return bool(name) and any(full.startswith(name) for full in names)


def _is_short(word: Word) -> bool:
    return not word.text.startswith("--")


def _option_risk(program: str, words: list[Word], spec: Options) -> Risk | None:
    """Risk if any option is one of `spec`'s (a deny-list of the options that write)."""
    for word in words:
        if word.option is None:
            continue
        if _is_short(word):
            writes = word.option in spec.short
        else:
            writes = _long_match(word.option, spec.long)
        if writes:
            return Risk("option", f"{program} {word.text} writes files or runs a program")
    return None


def _only_options(program: str, words: list[Word], spec: Options) -> Risk | None:
    """Risk unless every option is one of `spec`'s (an allow-list of options)."""
    for word in words:
        if word.option is None:
            continue
        known = word.option in (spec.short if _is_short(word) else spec.long)
        if not known:
            return Risk("option", f"{program} {word.text} is not known to be read-only")
    return None


def _operands(words: list[Word]) -> list[str]:
    return [w.text for w in words if w.option is None]


def _subcommand(program: str, args: list[str]) -> Verdict:
    allowed, before = SUBCOMMANDS[program]
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if risk := _only_options(program, parse([args[index]], before.with_value), before):
            return risk
        index += 2 if args[index].lstrip("-") in before.with_value else 1
    sub = args[index] if index < len(args) else ""
    if sub not in allowed:
        return Risk("subcommand", f"{program} {sub or '(no subcommand)'} is not one of the "
                    f"read-only subcommands ({', '.join(sorted(allowed))})")
    if program == "git":
        return _option_risk("git", parse(args[index + 1:]), Options(long=GIT_WRITERS))
    return None


def _find(args: list[str]) -> Verdict:
    for arg in args:
        if arg.startswith(FIND_ACTIONS):
            return Risk("option", f"find {arg} deletes, writes or runs commands on what it finds")
    return None


def _tar(args: list[str]) -> Verdict:
    if args and not args[0].startswith("-"):
        args = ["-" + args[0], *args[1:]]  # old style: `tar tvf a.tar`
    words = parse(args, TAR_LISTING.with_value)
    if risk := _only_options("tar", words, TAR_LISTING):
        return Risk(risk.rule, risk.why + " (only listing, -t/--list, runs at once)")
    if not any(w.option in {"t", "list"} for w in words):
        return Risk("option", "tar without -t/--list creates or extracts archives")
    archive = next((w.value for w in words if w.option in {"f", "file"}), None) or ""
    if ":" in archive:
        return Risk("operand", f"tar -f {archive} opens an archive on another host")
    return None


def _tee(args: list[str]) -> Verdict:
    words = parse(args)
    appends = _option_risk("tee", words, Options("a", ("append",))) is not None
    if _operands(words) and not appends:
        return Risk("option", "tee without -a overwrites its files")
    return None


def _date(args: list[str]) -> Verdict:
    words = parse(args, frozenset({"d", "f", "r", "date", "file", "reference"}))
    if risk := _option_risk("date", words, Options("s", ("set",))):
        return risk
    setting = [o for o in _operands(words) if not o.startswith("+")]
    return Risk("operand", f"date {setting[0]} sets the clock") if setting else None


def _hostname(args: list[str]) -> Verdict:
    words = parse(args)
    if risk := _option_risk("hostname", words, Options("Fb", ("file", "boot"))):
        return risk
    names = _operands(words)
    return Risk("operand", f"hostname {names[0]} sets the host name") if names else None


def _copy(program: str, args: list[str], spec: Options, allow_only: bool) -> Verdict:
    words = parse(args, spec.with_value)
    check = _only_options if allow_only else _option_risk
    if risk := check(program, words, spec):
        return risk
    operands = _operands(words)
    if not operands:
        return None
    if any(":" in o for o in operands) and program == "rsync":
        return Risk("operand", "rsync to or from another host")
    destination = operands[-1] if len(operands) > 1 else posixpath.basename(operands[0])
    return CopyCheck(destination)


SPECIAL: dict[str, Callable[[list[str]], Verdict]] = {
    "tar": _tar,
    "tee": _tee,
    "date": _date,
    "hostname": _hostname,
    "cp": lambda a: _copy("cp", a, Options("St", ("suffix", "target-directory")), False),
    "ln": lambda a: _copy("ln", a, Options("St", ("suffix", "target-directory")), False),
    "rsync": lambda a: _copy("rsync", a, RSYNC_SAFE, True),
}


def _program(first: str) -> str | Risk:
    """The program the shell runs for the first word, or why it cannot be judged."""
    if _ASSIGNMENT.fullmatch(first):
        return Risk("command-name", f"{first!r} is a variable assignment in front of the "
                    "command (the shell would run the next word)")
    if "/" in first:
        directory, name = posixpath.split(first)
        if posixpath.normpath(directory or ".") not in SYSTEM_DIRS:
            return Risk("program-path", f"{first} is not a program of the system directories "
                        f"({', '.join(sorted(SYSTEM_DIRS))})")
        first = name
    if first in RUNNERS:
        return first
    if not _PROGRAM_NAME.fullmatch(first):
        return Risk("command-name", f"{first!r} is not a plain program name")
    return first


def judge(argv: list[str]) -> Verdict:
    """None when argv only reads; a CopyCheck when it copies; else the Risk that asks."""
    program = _program(argv[0])
    if isinstance(program, Risk):
        return program
    args = argv[1:]
    if program == "find":
        return _find(args)
    if program in RUNNERS or INTERPRETER.fullmatch(program):
        return Risk("runs-commands", f"{program} runs further commands or code that cannot "
                    "be checked beforehand")
    if program in SUBCOMMANDS:
        return _subcommand(program, args)
    if program in SPECIAL:
        return SPECIAL[program](args)
    if program in READ_ONLY:
        return _option_risk(program, parse(args), READ_ONLY[program])
    effect = KNOWN_EFFECTS.get(program, "is not on the list of read-only programs")
    return Risk("not-read-only", f"{program} {effect}")
