"""Repeated tool calls: 20 consecutive `list_jobs.py` runs against 20 fresh OpenSSH logins
running `squeue` on the same sshd (the minicluster's login node). Prints the wall-time ratio
and the logins each made (counted in sshd's log), and records them in bench/RESULTS.md.

Run as root: `.venv/bin/python bench/repeated_calls.py [--runs 20]`.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from hpcskills.slurm.commands import squeue_argv
from hpcskills.ssh.base import command_line

from _results import machine, write_section
from _site import local_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    with local_site() as site:
        login = site.doc["login"]
        before = site.login_count("login")
        started = time.perf_counter()
        for _ in range(runs):
            site.script("list_jobs.py")
        ours = time.perf_counter() - started
        our_logins = site.login_count("login") - before

        query = command_line(squeue_argv(user=site.doc["user"]))
        ssh = ["ssh", *site.ssh_options(), "-o", "ControlMaster=no", "-o", "ControlPath=none",
               "-p", str(login["port"]), "-l", site.doc["user"], login["host"], query]
        before = site.login_count("login")
        started = time.perf_counter()
        for _ in range(runs):
            subprocess.run(ssh, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        reference = time.perf_counter() - started
        reference_logins = site.login_count("login") - before

    ratio = reference / ours
    lines = [
        f"`bench/repeated_calls.py`, {machine()}.",
        "",
        "| | wall time | SSH logins |",
        "|---|---|---|",
        f"| {runs} × `list_jobs.py` (full script runs, shared OpenSSH master) | {ours:.2f} s "
        f"| {our_logins} |",
        f"| {runs} × fresh `ssh host squeue` (OpenSSH, same sshd, same query) "
        f"| {reference:.2f} s | {reference_logins} |",
        "",
        f"Speed-up {ratio:.1f}× (goal ≥ 3×, exactly 1 login). Each script run includes "
        "starting Python, loading the package and the site profile.",
    ]
    print("\n".join(lines))
    write_section("Repeated calls (SJTU)", "\n".join(lines))


if __name__ == "__main__":
    main()
