"""Run a command no script covers; commands that delete or overwrite data are confirmed."""

from __future__ import annotations

import posixpath
from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.session import ClusterSession

MAX_OUTPUT = 100_000
ALWAYS_RISKY = {
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
    "salloc": "allocates nodes",
    "sbatch": "submits jobs (use submit_job.py)",
}
SHELLS = {
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "csh",
    "tcsh",
    "fish",
    "python",
    "python3",
    "perl",
    "ruby",
    "env",
    "xargs",
    "nohup",
    "srun",
    "timeout",
    "nice",
    "ionice",
    "stdbuf",
    "setsid",
    "time",
    "flock",
    "taskset",
    "numactl",
    "mpirun",
    "mpiexec",
    "sudo",
    "apptainer",
    "singularity",
    "ssh",
    "make",
    "awk",
    "gawk",
    "watch",
}
OVERWRITERS = {"cp", "ln", "install", "rsync", "scp"}


def risk(argv: list[str]) -> str | None:
    """Why this command may destroy data, or None; `?dest` asks to check the destination."""
    program = posixpath.basename(argv[0])
    args = argv[1:]
    if program in ALWAYS_RISKY:
        return ALWAYS_RISKY[program]
    if program in SHELLS or program.startswith("python"):
        return f"{program} runs further commands that cannot be checked beforehand"
    if program == "scontrol" and args and args[0] not in {"show", "ping", "version"}:
        return f"scontrol {args[0]} changes jobs or the cluster"
    if program == "tar" and any(a in {"-x", "--extract", "--get"} or (
        not a.startswith("--") and a.lstrip("-").startswith("x")) for a in args):
        return "tar -x may overwrite files"
    if program == "dd" and any(a.startswith("of=") for a in args):
        return "dd writes over its output file"
    if program == "find" and {"-delete", "-exec", "-execdir", "-ok", "-okdir"} & set(args):
        return "find deletes or runs commands on what it finds"
    if program == "sed" and any(a == "-i" or a.startswith(("-i", "--in-place")) for a in args):
        return "sed -i rewrites files in place"
    if program == "tee" and not {"-a", "--append"} & set(args):
        return "tee overwrites its files"
    if program == "git" and args and args[0] in {"clean", "reset", "checkout", "restore", "rm"}:
        return f"git {args[0]} can discard files or changes"
    if program == "rsync" and any(a.startswith(("--delete", "--remove-source")) for a in args):
        return "rsync deletes files"
    if program in OVERWRITERS:
        return "?dest"
    return None


def _destination_exists(session: ClusterSession, argv: list[str]) -> bool:
    target = next((a.split("=", 1)[1] for a in argv[1:] if a.startswith("--target-directory=")),
                  None)
    if target is not None or "-t" in argv[1:]:
        return True  # the destination is an option: treat it as one that exists
    operands = [a for a in argv[1:] if not a.startswith("-")]
    if len(operands) < 2:
        return False
    return session.remote.run(["test", "-e", operands[-1]], timeout=30).ok


def _clip(text: str) -> tuple[str, bool]:
    return (text[-MAX_OUTPUT:], True) if len(text) > MAX_OUTPUT else (text, False)


def remote_exec(
    workspace: Workspace,
    session: ClusterSession,
    argv: list[str],
    confirm: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Run argv (each word quoted) on the entry node; risky commands need confirmation."""
    if not argv or not argv[0]:
        raise BadInput("no command given", hint="remote_exec.py -- COMMAND ARGS...")
    why = risk(argv)
    if why == "?dest":
        why = (
            f"{argv[0]} would overwrite the existing {argv[-1]}"
            if _destination_exists(session, argv)
            else None
        )
    if why:
        plan = {
            **session.describe(),
            "command": argv,
            "why_confirm": why,
            "impact": "data or jobs may be changed irreversibly",
        }
        require_confirmation(
            workspace,
            "sjtu.remote_exec",
            plan,
            confirm,
            binding={"entry_node": session.choice.name, "argv": argv},
        )
    result = session.remote.run(argv, timeout=timeout)
    stdout, cut_out = _clip(result.stdout)
    stderr, cut_err = _clip(result.stderr)
    return {
        **session.describe(),
        "command": argv,
        "exit_status": result.returncode,
        "stdout": stdout,
        "stderr": stderr,
        "truncated": cut_out or cut_err,
    }
