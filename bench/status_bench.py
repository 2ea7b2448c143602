"""Job status of 500 jobs on one host (the minicluster's login node): the pack's one-call
refresh (one `squeue --jobs=a,b,...`, plus one sacct for jobs that left the queue) against
one `squeue -j ID` per job, the pattern DPDispatcher's Slurm.check_status uses. Both go
through the same open OpenSSH connection, so the difference is the per-job round trips and
controller queries alone. Also times `jobs.py` end to end over the same 500 ledger jobs.

Run as root: `.venv/bin/python bench/status_bench.py [--jobs 500]`. Results go to the
`## Job status` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hpcskills.core.workspace import Workspace
from hpcskills.jobs.slurm_status import query_host
from hpcskills.ledger.store import open_ledger
from hpcskills.slurm.client import SlurmClient
from hpcskills.ssh.base import Endpoint
from hpcskills.ssh.connect import open_remote

from _results import machine, write_section
from _site import local_site

JOBS_SCRIPT = Path(__file__).resolve().parents[1] / "skills" / "hpc-jobs" / "scripts" / "jobs.py"
SUBMIT_HELD = (
    'for i in $(seq "$1"); do sbatch --parsable --hold --partition=cpu --mem=10M '
    '--job-name=bench-status --output=/dev/null --wrap=true || exit 1; done'
)


def per_job_squeue(remote, job_id: str) -> str:
    """DPDispatcher's query for one job: `squeue -o "%.18i %.2t" -j ID`."""
    return remote.run(["squeue", "-o", "%.18i %.2t", "-j", job_id]).stdout


def record(workspace: Path, endpoint: Endpoint, ids: list[str]) -> None:
    with open_ledger(Workspace(workspace)) as ledger:
        for job_id in ids:
            fields = {"site": "sjtu", "entry_node": endpoint.name, "host": endpoint.host,
                      "port": endpoint.port, "remote_user": endpoint.user}
            claim = ledger.claim("slurm", f"bench-{job_id}", fields, now=0.0)
            ledger.mark_submitted(claim.submission.id, job_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with local_site() as site:
        login = site.doc["login"]
        endpoint = Endpoint(login["host"], login["port"], site.doc["user"], "pilogin")
        remote = open_remote(Workspace(site.workspace), endpoint)
        submitted = remote.run(["sh", "-c", SUBMIT_HELD, "sh", str(args.jobs)])
        ids = [line.split(";")[0] for line in submitted.check("sbatch").stdout.split()]
        try:
            ours = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                status = query_host(SlurmClient(lambda argv: remote.run(argv)), ids)
                ours.append(time.perf_counter() - started)
            assert len(status.jobs) == len(ids) and status.commands == ["squeue"]
            started = time.perf_counter()
            for job_id in ids:
                assert job_id in per_job_squeue(remote, job_id)
            reference = time.perf_counter() - started

            record(site.workspace, endpoint, ids)
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, str(JOBS_SCRIPT), "--workspace", str(site.workspace)],
                env={**os.environ, **site.env}, capture_output=True, text=True, check=True,
                stdin=subprocess.DEVNULL,
            )
            script = time.perf_counter() - started
            listed = json.loads(proc.stdout)["data"]
            assert listed["count"] == len(ids)
            assert [p["commands"] for p in listed["refreshed"]] == [["squeue"]]
        finally:
            remote.run(["scancel", *ids])
            remote.close()

    best = statistics.median(ours)
    lines = [
        f"`bench/status_bench.py`, {machine()}.",
        "",
        f"Status of {len(ids)} (held) jobs on one login node, over one open OpenSSH connection:",
        "",
        "| | wall time | Slurm commands |",
        "|---|---|---|",
        f"| one-call refresh (`squeue --jobs=<{len(ids)} ids>`, median of {args.repeats}) "
        f"| {best:.3f} s | 1 |",
        f"| one `squeue -j ID` per job (DPDispatcher's check_status pattern) "
        f"| {reference:.2f} s | {len(ids)} |",
        f"| `jobs.py` end to end ({len(ids)} ledger jobs, refresh included) "
        f"| {script:.2f} s | 1 |",
        "",
        f"Speed-up {reference / best:.0f}× (goal ≥ 20×). The reference is generous to the "
        "per-job pattern: it reuses one connection; DPDispatcher adds an SFTP stat per job.",
    ]
    print("\n".join(lines))
    write_section("Job status", "\n".join(lines))


if __name__ == "__main__":
    main()
