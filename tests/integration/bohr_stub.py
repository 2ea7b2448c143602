"""A stand-in for the `bohr` CLI (Go, 1.x) reproducing its documented outputs.

State (jobs, groups, logs, errors to answer) lives in `$BOHR_STUB_DIR/state.json`; every call
is appended to `$BOHR_STUB_DIR/calls.jsonl` with its argv and whether ACCESS_KEY was set.
Documented behaviour reproduced: `--json` output for list/describe, `JobId:  N` text after a
submit, `Error: ...` on stdout with exit status 0, `job download -j ID -o DIR` writing
`DIR/<id>/out.zip`.
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

STUB_DIR = Path(os.environ["BOHR_STUB_DIR"])
STATE = STUB_DIR / "state.json"


def load() -> dict[str, Any]:
    return json.loads(STATE.read_text())


def save(state: dict[str, Any]) -> None:
    STATE.write_text(json.dumps(state))


def option(args: list[str], *names: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(args):
        if arg in names and index + 1 < len(args):
            return args[index + 1]
    return default


def fail(message: str) -> int:
    print(f"Error: {message}")
    return 0  # as bohr does


def job_list(state: dict[str, Any], args: list[str]) -> int:
    jobs = state["jobs"]
    for flag, code in (("-r", 1), ("-f", -1), ("-i", 2), ("-p", 0)):
        if flag in args:
            jobs = [j for j in jobs if j["status"] == code]
    group = option(args, "-j")
    if group:
        jobs = [j for j in jobs if j["jobGroupId"] == int(group)]
    print(json.dumps(jobs[: int(option(args, "-n", default="10") or 10)]))
    return 0


def find(state: dict[str, Any], job_id: str) -> dict[str, Any] | None:
    return next((j for j in state["jobs"] if str(j["id"]) == job_id), None)


def job_command(state: dict[str, Any], verb: str, args: list[str]) -> int:
    if verb == "list":
        return job_list(state, args)
    if verb == "describe":
        job = find(state, option(args, "-j") or "")
        if job is None:
            return fail(f"job {option(args, '-j')} not found")
        print(json.dumps([job]))
        return 0
    if verb == "log":
        job_id = option(args, "-j") or ""
        if find(state, job_id) is None:
            return fail(f"job {job_id} not found")
        text = state["logs"].get(job_id, "")
        out = option(args, "-o")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"{job_id}.log").write_text(text)
            print(f"Log saved to {out}")
        else:
            print(text, end="")
        return 0
    if verb in ("terminate", "kill", "delete"):
        for job_id in [a for a in args if a.isdigit()]:
            if verb in state.get("errors", {}):
                return fail(state["errors"][verb])
            job = find(state, job_id)
            if job is None:
                return fail(f"job {job_id} not found")
            if verb == "delete":
                state["jobs"].remove(job)
            else:
                job["status"] = job["webStatus"] = 2 if verb == "terminate" else -1
            print(f"{verb} job {job_id} success")
        save(state)
        return 0
    if verb == "download":
        job_id, out = option(args, "-j") or "", option(args, "-o") or "."
        if find(state, job_id) is None:
            return fail(f"job {job_id} not found")
        target = Path(out) / job_id
        target.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target / "out.zip", "w") as archive:
            archive.writestr("log", state["logs"].get(job_id, ""))
        print("Download success")
        return 0
    if verb == "submit":
        spec = json.loads(Path(option(args, "-i") or "").read_text())
        folder = Path(option(args, "-p") or ".")
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        job_id = 30000000 + len(state["jobs"])
        state["jobs"].insert(
            0,
            {
                "id": job_id,
                "jobName": spec.get("job_name"),
                "status": 0,
                "webStatus": 0,
                "jobGroupId": 777,
                "submitted": spec,
                "files": files,
            },
        )
        save(state)
        print(f"Submit job succeed.\nJobId:  {job_id}\nJobGroupId:  777")
        return 0
    return fail(f"unknown job command {verb}")


def group_command(state: dict[str, Any], verb: str, args: list[str]) -> int:
    if verb == "list":
        print(json.dumps(state["groups"]))
        return 0
    if verb == "create":
        group_id = 888000 + len(state["groups"])
        state["groups"].insert(
            0,
            {"id": group_id, "name": option(args, "-n"), "projectId": int(option(args, "-p") or 0)},
        )
        save(state)
        print(f"Create job group succeed.\nJobGroupId:  {group_id}")
        return 0
    if verb in ("terminate", "delete"):
        print(f"{verb} job group {args[-1]} success")
        return 0
    return fail(f"unknown job_group command {verb}")


def main(argv: list[str]) -> int:
    with open(STUB_DIR / "calls.jsonl", "a") as calls:
        calls.write(
            json.dumps(
                {
                    "argv": argv,
                    "has_key": bool(os.environ.get("ACCESS_KEY")),
                    "openapi_host": os.environ.get("OPENAPI_HOST"),
                }
            )
            + "\n"
        )
    if argv[:1] == ["version"]:
        print("bohr version v1.0.0 (stub)")
        return 0
    if not os.environ.get("ACCESS_KEY"):
        return fail("AccessKey Invalid")
    state = load()
    if len(argv) >= 2 and argv[0] == "job":
        return job_command(state, argv[1], argv[2:])
    if len(argv) >= 2 and argv[0] == "job_group":
        return group_command(state, argv[1], argv[2:])
    print(f"Error: unknown command {argv[:2]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
