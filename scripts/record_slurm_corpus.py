"""Record the Slurm corpus: real outputs of the Slurm client's commands on the local site.

Run through `scripts/record-slurm-corpus` (as root, with the local site up). It submits a
handful of jobs as the site's test user (done, failed, timed out, cancelled, held, waiting
for a start time, an array with a throttle, a name with spaces and unicode), then calls each
SlurmClient method for a case and writes every remote exec it made (argv, exit status,
stdout, stderr) to tests/fixtures/slurm/<case>.json. Error cases
use copies of the site's slurm.conf: one without accounting, one whose controller and
database ports are closed. Finally it regenerates the expected parses
(<case>.expected.json) with tests/unit/test_slurm_corpus.py; review them with `git diff`.

Commands run as the test user directly (runuser), not over SSH: the output is the same and
no certificate is needed. This machine's host name is replaced by `login-host`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpcskills.core.errors import HpcError
from hpcskills.slurm.client import SlurmClient
from hpcskills.ssh.base import CommandResult

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "slurm"
DEFAULT_SITE = Path("/tmp/hpcskills-minicluster/site.json")  # noqa: S108 - the local site
NO_SUCH_JOB = "99999999"
UNICODE_NAME = "résumé run ✓ 2"
HOST_ALIAS = "login-host"


class Recorder:
    """A Slurm client runner that runs argv as the test user and keeps every exec."""

    def __init__(self, user: str, slurm_conf: Path, workdir: Path) -> None:
        self.user, self.slurm_conf, self.workdir = user, slurm_conf, workdir
        self.execs: list[CommandResult] = []
        names = {socket.gethostname(), socket.getfqdn()} - {"localhost", ""}
        self.host = re.compile(
            "|".join(rf"(?<![\w.-]){re.escape(n)}(?![\w-])" for n in sorted(names)) or "(?!)"
        )

    def __call__(self, argv: list[str]) -> CommandResult:
        proc = subprocess.run(
            ["runuser", "-u", self.user, "--", "env", f"SLURM_CONF={self.slurm_conf}", *argv],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = CommandResult(
            tuple(argv),
            proc.returncode,
            self.host.sub(HOST_ALIAS, proc.stdout),
            self.host.sub(HOST_ALIAS, proc.stderr),
        )
        self.execs.append(result)
        return result


class Corpus:
    """Writes one fixture per case; remembers what each case returned."""

    def __init__(self, site: dict[str, Any], workdir: Path, version: str) -> None:
        self.site, self.workdir, self.version = site, workdir, version
        self.confs = {"site": Path(site["slurm_conf"])}
        self.written: list[str] = []

    def record(
        self, case: str, description: str, method: str, conf: str = "site", **kwargs: Any
    ) -> Any:
        """Call `SlurmClient.<method>(**kwargs)`; keep its execs in CORPUS/<case>.json."""
        recorder = Recorder(self.site["user"], self.confs[conf], self.workdir)
        try:
            value: Any = getattr(SlurmClient(recorder, recorder), method)(**kwargs)
        except HpcError as exc:
            value = exc
        document = {
            "description": description,
            "slurm_version": self.version,
            "slurm_conf": conf,
            "call": {"method": method, "kwargs": kwargs},
            "execs": [asdict(result) | {"argv": list(result.argv)} for result in recorder.execs],
        }
        path = CORPUS / f"{case}.json"
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        self.written.append(case)
        print(f"recorded {case}: {len(recorder.execs)} exec(s)", file=sys.stderr)
        return value


def slurm_conf_variant(source: Path, target: Path, changes: dict[str, str]) -> Path:
    """A copy of slurm.conf with some `Key=value` lines replaced."""
    lines = []
    for line in source.read_text().splitlines():
        key = line.partition("=")[0]
        lines.append(f"{key}={changes[key]}" if key in changes else line)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "slurm.conf"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def write_script(workdir: Path, name: str, body: str, owner: str) -> str:
    path = workdir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    shutil.chown(path, owner, owner)
    return str(path)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE, help="the local site's JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (commands run as the site's test user via runuser)")
    site = json.loads(args.site.read_text())
    user = site["user"]
    home = Path(os.path.expanduser(f"~{user}"))
    workdir = home / "slurm-corpus"
    workdir.mkdir(exist_ok=True)
    shutil.chown(workdir, user, user)
    version = subprocess.run(
        ["sinfo", "--version"],
        env={**os.environ, "SLURM_CONF": site["slurm_conf"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.json"):
        old.unlink()
    corpus = Corpus(site, workdir, version)
    scratch = Path(site["run_dir"]) / "corpus-conf"
    corpus.confs["no_accounting"] = slurm_conf_variant(
        corpus.confs["site"],
        scratch / "no-accounting",
        {"AccountingStorageType": "accounting_storage/none"},
    )
    corpus.confs["unreachable"] = slurm_conf_variant(
        corpus.confs["site"],
        scratch / "unreachable",
        {"SlurmctldPort": "6999", "AccountingStoragePort": "6998"},
    )
    record_all(corpus, workdir, user)
    shutil.rmtree(scratch)
    update = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/test_slurm_corpus.py",
        ],
        cwd=ROOT,
        env={**os.environ, "HPCSKILLS_UPDATE_CORPUS": "1"},
    )
    print(f"{len(corpus.written)} cases in {CORPUS}; review them with git diff", file=sys.stderr)
    return update.returncode


TEST_ONLY = (
    "sbatch --test-only (one exec) for a request that fits, an unknown partition and a time "
    "above the partition's limit: a start estimate and two refusals",
    "estimate_starts",
)
TEST_ONLY_REQUESTS = {
    "cpu": ["--partition=cpu", "--nodes=1", "--cpus-per-task=2", "--time=00:10:00"],
    "nosuch": ["--partition=nosuch", "--nodes=1"],
    "debug": ["--partition=debug", "--nodes=1", "--time=01:00:00"],
}


def record_all(corpus: Corpus, workdir: Path, user: str) -> None:
    """Submit the jobs, record every case, clean up."""
    started = time.strftime("%Y-%m-%dT%H:%M:%S")  # sacct reads the cluster's local time
    script = {
        name: write_script(workdir, f"{name}.sh", body, user)
        for name, body in {
            "done": "echo done",
            "failed": "echo failing >&2; exit 3",
            "sleeper": "sleep 300",
            "short": "sleep 20",
            "overrun": "sleep 300",
        }.items()
    }
    common = ["--partition=cpu", "--mem=100M", "--output=/dev/null"]
    submit = corpus.record
    done = submit(
        "sbatch_ok",
        "sbatch --parsable of a job that completes",
        "submit",
        script_path=script["done"],
        options=[*common, "--job-name=corpus-done"],
        workdir=str(workdir),
    )
    failed = submit(
        "sbatch_failing_job",
        "sbatch of a job that exits 3",
        "submit",
        script_path=script["failed"],
        options=[*common, "--job-name=corpus-failed"],
        workdir=str(workdir),
    )
    running = submit(
        "sbatch_unicode_name",
        "sbatch of a long job whose name has spaces and non-ASCII letters",
        "submit",
        script_path=script["sleeper"],
        options=[*common, f"--job-name={UNICODE_NAME}"],
        workdir=str(workdir),
    )
    array = submit(
        "sbatch_array",
        "sbatch of an array of 4 tasks, at most 2 at a time",
        "submit",
        script_path=script["short"],
        options=[*common, "--job-name=corpus-array", "--array=1-4%2"],
        workdir=str(workdir),
    )
    held = submit(
        "sbatch_held",
        "sbatch --hold: the job pends with reason JobHeldUser",
        "submit",
        script_path=script["done"],
        options=[*common, "--job-name=corpus-held", "--hold"],
        workdir=str(workdir),
    )
    later = submit(
        "sbatch_begin_later",
        "sbatch --begin=now+1hour: the job pends with reason BeginTime",
        "submit",
        script_path=script["done"],
        options=[*common, "--job-name=corpus-later", "--begin=now+1hour"],
        workdir=str(workdir),
    )
    overrun = submit(
        "sbatch_time_limit_seconds",
        "sbatch of a job with a 5 second limit that sleeps longer (ends TIMEOUT)",
        "submit",
        script_path=script["overrun"],
        options=[*common, "--job-name=corpus-timeout", "--time=0:05"],
        workdir=str(workdir),
    )
    doomed = submit(
        "sbatch_to_cancel",
        "sbatch of a job the recorder cancels",
        "submit",
        script_path=script["sleeper"],
        options=[*common, "--job-name=corpus-cancelled"],
        workdir=str(workdir),
    )
    submit(
        "sbatch_invalid_partition",
        "sbatch refused: the partition does not exist",
        "submit",
        script_path=script["done"],
        options=["--partition=nosuch", "--job-name=corpus-refused"],
        workdir=str(workdir),
    )
    submit(
        "sbatch_over_partition_limit",
        "sbatch refused: the time asked exceeds the partition's limit (EnforcePartLimits)",
        "submit",
        script_path=script["done"],
        options=["--partition=debug", "--time=01:00:00", "--job-name=corpus-too-long"],
        workdir=str(workdir),
    )
    runner = Recorder(user, corpus.confs["site"], workdir)
    client = SlurmClient(runner, runner)
    wait_for(
        "the long job and two array tasks to run",
        lambda: sum(j.state == "RUNNING" for j in client.queue(job_ids=[running, array])) >= 3,
        60,
    )
    submit(
        "scancel",
        "scancel of a running job",
        "cancel",
        job_ids=[doomed],
    )
    wait_for(
        "the short jobs to end and reach accounting",
        lambda: (
            {
                r.job_id
                for r in client.accounting(job_ids=[done, failed, doomed]).records
                if r.state in ("COMPLETED", "FAILED", "CANCELLED")
            }
            == {done, failed, doomed}
        ),
        60,
    )
    submit("sinfo", "sinfo: every partition", "partitions")
    submit("sbatch_test_only", *TEST_ONLY, requests=TEST_ONLY_REQUESTS)
    submit(
        "squeue_jobs",
        "squeue for the recorder's jobs: running, pending (held, begin time), array tasks",
        "queue",
        job_ids=[running, array, held, later],
    )
    submit(
        "squeue_pending_only",
        "squeue narrowed to PENDING jobs",
        "queue",
        job_ids=[running, array, held, later],
        states=["PENDING"],
    )
    submit(
        "squeue_by_name",
        "squeue of the user's jobs with one exact (unicode) name",
        "queue",
        user=user,
        names=[UNICODE_NAME],
    )
    submit(
        "squeue_invalid_id",
        "squeue for one id it does not know: exits 1, Invalid job id specified",
        "queue",
        job_ids=[NO_SUCH_JOB],
    )
    submit(
        "squeue_controller_unreachable",
        "squeue when the controller does not answer (closed port)",
        "queue",
        conf="unreachable",
        job_ids=[running],
    )
    submit(
        "sacct_finished",
        "sacct for finished jobs: completed, failed (exit 3), cancelled",
        "accounting",
        job_ids=[done, failed, doomed],
    )
    submit(
        "sacct_unknown_id",
        "sacct for an id it never saw: exits 0, prints nothing",
        "accounting",
        job_ids=[NO_SUCH_JOB],
    )
    submit(
        "sacct_no_accounting",
        "sacct on a cluster without accounting storage",
        "accounting",
        conf="no_accounting",
        job_ids=[done],
    )
    submit(
        "sacct_database_unreachable",
        "sacct when slurmdbd does not answer (closed port)",
        "accounting",
        conf="unreachable",
        job_ids=[done],
    )
    submit(
        "details_running",
        "sacct + scontrol show job for a running job (one exec)",
        "details",
        job_ids=[running],
    )
    submit(
        "details_array_and_held",
        "sacct + scontrol show job for an array job (one record per task) and a held job",
        "details",
        job_ids=[array, held],
    )
    submit(
        "details_unknown",
        "sacct + scontrol show job for an unknown id and a finished one",
        "details",
        job_ids=[NO_SUCH_JOB, done],
    )
    submit(
        "details_no_accounting",
        "sacct + scontrol show job without accounting: scontrol alone answers",
        "details",
        conf="no_accounting",
        job_ids=[running],
    )
    submit("seff_completed", "seff of a completed job", "efficiency", job_id=done)
    submit("seff_failed", "seff of a job that exited 3", "efficiency", job_id=failed)
    submit("seff_running", "seff of a running job", "efficiency", job_id=running)
    submit("seff_unknown", "seff of an unknown id", "efficiency", job_id=NO_SUCH_JOB)
    submit(
        "seff_no_accounting",
        "seff on a cluster without accounting storage",
        "efficiency",
        conf="no_accounting",
        job_id=done,
    )
    submit(
        "job_states_mixed",
        "squeue for every id, then sacct for those squeue no longer knows (one exec)",
        "job_states",
        job_ids=[running, array, held, done, failed, NO_SUCH_JOB],
    )
    submit(
        "job_states_all_queued",
        "every id still in squeue: the sacct step is skipped",
        "job_states",
        job_ids=[running, held],
    )
    submit(
        "job_states_no_accounting",
        "the batched query without accounting: sacct refuses, a note says so",
        "job_states",
        conf="no_accounting",
        job_ids=[running, NO_SUCH_JOB],
    )
    wait_for(
        "the 5 second job to time out",
        lambda: any(r.state == "TIMEOUT" for r in client.accounting(job_ids=[overrun]).records),
        150,
    )
    submit(
        "sacct_timeout_and_array",
        "sacct for a job that hit its time limit and for an array's tasks",
        "accounting",
        job_ids=[overrun, array],
    )
    submit(
        "queue_and_history",
        "the user's named jobs in the queue and in accounting since a time (one exec)",
        "queue_and_history",
        user=user,
        since=started,
        names=["corpus-done", "corpus-failed", UNICODE_NAME],
    )
    client.cancel([running, array, held, later, overrun])


if __name__ == "__main__":
    sys.exit(main())
