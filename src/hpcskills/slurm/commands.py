"""argv builders for the Slurm commands the pack runs, and classifiers of their stderr.

Every builder returns a list of strings; the remote layer quotes it. Query commands run
under `env` so a user's environment cannot change what they print: the variables that set
formats, filters or sorting are unset and `SLURM_TIME_FORMAT=standard` keeps timestamps in
ISO form. Output formats are explicit, separated by FIELD_SEP (ASCII unit separator, which
job names, paths and comments do not contain in practice) with the free-text job name last,
so even a name that does contain it cannot shift the other fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from hpcskills.core.errors import BadInput

FIELD_SEP = "\x1f"

# (field name, squeue -o code); `name` must stay last.
SQUEUE_FIELDS: tuple[tuple[str, str], ...] = (
    ("job_id", "%i"),
    ("state_code", "%t"),
    ("raw_state", "%T"),
    ("reason", "%r"),
    ("partition", "%P"),
    ("user", "%u"),
    ("account", "%a"),
    ("elapsed", "%M"),
    ("time_limit", "%l"),
    ("nodes", "%D"),
    ("cpus", "%C"),
    ("tres_per_node", "%b"),
    ("submit_time", "%V"),
    ("start_time", "%S"),
    ("end_time", "%e"),
    ("work_dir", "%Z"),
    ("node_list", "%N"),
    ("comment", "%k"),
    ("name", "%j"),
)
# sacct --format fields; JobName must stay last.
SACCT_FIELDS: tuple[str, ...] = (
    "JobID",
    "JobIDRaw",
    "State",
    "ExitCode",
    "Partition",
    "Account",
    "User",
    "Submit",
    "Start",
    "End",
    "Elapsed",
    "Timelimit",
    "NNodes",
    "NCPUS",
    "AllocTRES",
    "ReqMem",
    "NodeList",
    "WorkDir",
    "Reason",
    "Comment",
    "JobName",
)
# (field name, sinfo -o code); the node list is last.
SINFO_FIELDS: tuple[tuple[str, str], ...] = (
    ("partition", "%P"),
    ("available", "%a"),
    ("time_limit", "%l"),
    ("nodes", "%F"),
    ("cpus_per_node", "%c"),
    ("memory_mb", "%m"),
    ("gres", "%G"),
    ("node_list", "%N"),
)

_SQUEUE_ENV = (
    "SQUEUE_ACCOUNT",
    "SQUEUE_FORMAT",
    "SQUEUE_FORMAT2",
    "SQUEUE_NAMES",
    "SQUEUE_PARTITION",
    "SQUEUE_QOS",
    "SQUEUE_SORT",
    "SQUEUE_STATES",
    "SQUEUE_USERS",
)
_SACCT_ENV = ("SACCT_FORMAT", "SACCT_FEDERATION", "SACCT_LOCAL")
_SINFO_ENV = ("SINFO_FORMAT", "SINFO_PARTITION", "SINFO_SORT")

_JOB_ID = re.compile(r"^\d+(?:_\d+)?$", re.ASCII)
MAX_JOB_ID = 2**32 - 1  # job ids are 32-bit
MAX_ARRAY_INDEX = 4_000_000  # MaxArraySize is at most 4000001, so indices stay below it
_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$", re.ASCII)
_STATE = re.compile(r"^[A-Za-z_]+$", re.ASCII)
_TIME_SPEC = re.compile(r"^[0-9A-Za-z][0-9A-Za-z:+/T-]*$", re.ASCII)

_INVALID_JOB_ID = "invalid job id specified"
_TRANSIENT = (
    "socket timed out on send/recv",
    "unable to contact slurm controller",
    "slurm_receive_msg",
    "connection refused",
    "connection timed out",
    "slurmctld is not responding",
    "resource temporarily unavailable",
    "zero bytes were transmitted or received",
    "problem talking to the database",
)
_NO_ACCOUNTING = "accounting storage is disabled"


def _clean_env(unset: Sequence[str]) -> list[str]:
    argv = ["env"]
    for name in unset:
        argv += ["-u", name]
    return [*argv, "SLURM_TIME_FORMAT=standard"]


def _is_job_id(text: str) -> bool:
    """`123` or `123_4` within Slurm's bounds: a 32-bit job id, an index below MaxArraySize."""
    if not _JOB_ID.match(text) or len(text) > 20:
        return False
    job, _, index = text.partition("_")
    return 0 < int(job) <= MAX_JOB_ID and (not index or int(index) <= MAX_ARRAY_INDEX)


def check_job_ids(job_ids: Sequence[str]) -> list[str]:
    """The ids as strings (`123` or array task `123_4`); BadInput for anything else."""
    ids = [str(j).strip() for j in job_ids]
    bad = [j for j in ids if not _is_job_id(j)]
    if bad:
        raise BadInput(
            f"not a Slurm job id: {', '.join(repr(b[:24]) for b in bad[:5])}",
            hint=f"job ids are numbers up to {MAX_JOB_ID}, or NUMBER_INDEX (index up to "
            f"{MAX_ARRAY_INDEX}) for one task of an array",
        )
    if not ids:
        raise BadInput("no job id given")
    return ids


def _words(values: Sequence[str], what: str, pattern: re.Pattern[str] = _WORD) -> str:
    bad = [v for v in values if not pattern.match(v)]
    if bad or not values:
        raise BadInput(f"invalid {what}: {', '.join(repr(b) for b in bad[:5]) or 'none'}")
    return ",".join(values)


def _names(names: Sequence[str]) -> str:
    bad = [n for n in names if not n or "," in n or not n.isprintable()]
    if bad or not names:
        raise BadInput(
            f"invalid job name filter: {', '.join(repr(b) for b in bad[:5]) or 'none'}",
            hint="a name filter cannot be empty or hold commas or control characters",
        )
    return ",".join(names)


def squeue_argv(
    user: str | None = None,
    job_ids: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
    partitions: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> list[str]:
    """One squeue call for all matching jobs, every state included unless `states` narrows.

    With a single job id, squeue exits 1 "Invalid job id specified" once the job has left
    the queue (see is_invalid_job_id_error); with two or more it exits 0 and prints the
    ones it still knows.
    """
    fmt = FIELD_SEP.join(code for _, code in SQUEUE_FIELDS)
    argv = [*_clean_env(_SQUEUE_ENV), "squeue", "--noheader", "--format=" + fmt]
    argv.append("--states=" + (_words(states, "state", _STATE) if states else "all"))
    if user is not None:
        argv.append("--user=" + _words([user], "user name"))
    if job_ids is not None:
        argv.append("--jobs=" + ",".join(check_job_ids(job_ids)))
    if partitions:
        argv.append("--partition=" + _words(partitions, "partition"))
    if names:
        argv.append("--name=" + _names(names))
    return argv


def sacct_argv(
    job_ids: Sequence[str] | None = None,
    user: str | None = None,
    since: str | datetime | None = None,
    states: Sequence[str] | None = None,
) -> list[str]:
    """sacct for allocations only (`-X`, no steps), one record per line.

    `since` is a datetime or any sacct time (`2024-05-01T00:00:00`, `now-7days`). With
    `job_ids` sacct searches from the epoch; without them it starts at midnight today
    unless `since` is given. `states` requires `since`: sacct matches states within a
    time window, which otherwise collapses to "now".
    """
    fmt = ",".join(SACCT_FIELDS)
    argv = [
        *_clean_env(_SACCT_ENV),
        "sacct",
        "--noheader",
        "--allocations",
        "--parsable2",
        "--delimiter=" + FIELD_SEP,
        "--format=" + fmt,
    ]
    if job_ids is not None:
        argv.append("--jobs=" + ",".join(check_job_ids(job_ids)))
    if user is not None:
        argv.append("--user=" + _words([user], "user name"))
    if since is not None:
        text = since.isoformat(timespec="seconds") if isinstance(since, datetime) else since
        if not _TIME_SPEC.match(text):
            raise BadInput(
                f"invalid start time for sacct: {text!r}",
                hint="use YYYY-MM-DDTHH:MM:SS or a form like now-7days",
            )
        argv.append("--starttime=" + text)
    if states:
        if since is None:
            raise BadInput("filtering sacct by state needs a start time (since)")
        argv.append("--state=" + _words(states, "state", _STATE))
    return argv


def sinfo_argv() -> list[str]:
    """sinfo with one line per partition (and node configuration) in a fixed format."""
    fmt = FIELD_SEP.join(code for _, code in SINFO_FIELDS)
    return [*_clean_env(_SINFO_ENV), "sinfo", "--noheader", "--format=" + fmt]


def scontrol_show_job_argv(job_id: str) -> list[str]:
    """`scontrol -o show job ID`: one `Key=Value ...` line per job (one per array task)."""
    (job,) = check_job_ids([job_id])
    return [*_clean_env(()), "scontrol", "--oneliner", "show", "job", job]


def scontrol_release_argv(job_ids: Sequence[str]) -> list[str]:
    """`scontrol release` for held jobs (at least one; an array job id releases its tasks)."""
    return ["scontrol", "release", ",".join(check_job_ids(job_ids))]


def scancel_argv(job_ids: Sequence[str]) -> list[str]:
    """scancel for the given jobs (at least one)."""
    return ["scancel", *check_job_ids(job_ids)]


def sbatch_argv(script_path: str, options: Sequence[str] = ()) -> list[str]:
    """sbatch --parsable for a script already on the remote side; `options` are long
    options (`--job-name=x`) that override the script's own #SBATCH lines."""
    if not script_path or script_path.startswith("-") or not script_path.isprintable():
        raise BadInput(
            f"invalid batch script path: {script_path!r}", hint="give the script's absolute path"
        )
    bad = [o for o in options if not o.startswith("--") or "\n" in o]
    if bad:
        raise BadInput(f"invalid sbatch option: {bad[0]!r}")
    return ["sbatch", "--parsable", *options, script_path]


def sbatch_test_only_argv(options: Sequence[str]) -> list[str]:
    """`sbatch --test-only` for a resource request (long options): Slurm checks it and
    prints (on stderr) when such a job would start; nothing is submitted."""
    bad = [o for o in options if not o.startswith("--") or not o.isprintable()]
    if bad:
        raise BadInput(f"invalid sbatch option: {bad[0]!r}")
    return [*_clean_env(()), "sbatch", "--test-only", *options, "--wrap=true"]


def seff_argv(job_id: str) -> list[str]:
    """seff's efficiency report for one job (needs accounting)."""
    (job,) = check_job_ids([job_id])
    return ["seff", job]


def is_invalid_job_id_error(stderr: str) -> bool:
    """True when squeue/scontrol refused an id it does not know (left the queue, purged)."""
    return _INVALID_JOB_ID in stderr.lower()


def is_transient_error(stderr: str) -> bool:
    """True when stderr says the controller was unreachable or slow: a later retry may
    work. For sbatch this means the outcome is unknown, not that nothing was submitted."""
    text = stderr.lower()
    return any(marker in text for marker in _TRANSIENT)


def is_no_accounting_error(stderr: str) -> bool:
    """True when sacct failed because the cluster keeps no accounting (no slurmdbd): fall
    back to squeue/scontrol. An unreachable database is transient, not this."""
    return _NO_ACCOUNTING in stderr.lower()
