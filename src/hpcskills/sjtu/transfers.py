"""Data movement at the site: uploads and downloads between this machine and the cluster,
cold-storage free space, and rsync transfers that run in tmux on a data node.

Remote transfers keep their state in `~/.hpcskills/transfers/` on the data node: `ID.sh`
(the runner), `ID.json` (what was asked), `ID.log` (rsync's progress), `ID.result` (exit
code and verification, written when the runner ends) and `ID.cancelled`. The tmux session
`hpcskills-xfer-ID` keeps rsync alive when the SSH connection drops. This machine remembers
which node each transfer runs on in the workspace state dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.credstore import CredentialStore
from hpcskills.core.errors import BadInput, NotFound, RemoteError
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.storage import (
    check_access,
    check_entry_node,
    choose_cold_target,
    clean_path,
    cold_pools,
    data_node_for,
    data_nodes,
    human_bytes,
    is_data_node,
    locate,
    nodes_for,
    on_pool,
    parse_df,
    transfer_node,
    union_pool,
)
from hpcskills.sjtu.users import resolve_user
from hpcskills.ssh import transfer as xfer
from hpcskills.ssh.base import Endpoint, Remote, command_line
from hpcskills.ssh.connect import open_remote, run_read

Report = Callable[[str], None]
SESSION_PREFIX = "hpcskills-xfer-"
PARTIAL_DIR = ".rsync-partial"  # interrupted files wait here, not under their final name
ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
PLAN_LIST_LIMIT = 20
SECTIONS = ("meta", "result", "cancelled", "alive", "mismatch", "log")
_PROGRESS = re.compile(
    r"([\d,]+)\s+(\d+)%\s+(\S+/s)\s+(\d+:\d\d:\d\d)"
    r"(?:\s+\(xfr#(\d+), (?:ir|to)-chk=(\d+)/(\d+)\))?"
)
RSYNC_EXIT = {
    1: "syntax or usage error",
    3: "errors selecting input/output files or dirs",
    11: "error in file I/O (is the target full?)",
    12: "error in the rsync data stream",
    20: "rsync was stopped by a signal",
    23: "some files could not be transferred",
    24: "some source files vanished during the transfer",
    30: "timeout in data send/receive",
}


def _now_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _progress_reporter(report: Report, label: str, total: int) -> xfer.Progress:
    """A progress callback that reports on stderr at most every 2 seconds."""
    last = [time.monotonic()]

    def tick(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 2:
            last[0] = now
            share = f" ({100 * done // total}%)" if total else ""
            report(f"{label}: {human_bytes(done)} of {human_bytes(total)}{share}")

    return tick


@dataclass(frozen=True)
class Access:
    """What every operation needs: the workspace, the site profile, and how to connect."""

    workspace: Workspace
    site: SiteProfile
    report: Report = lambda _line: None
    backend: str | None = None

    def open(self, node: str) -> Remote:
        """The shared connection to an entry node of the profile, as the remembered user."""
        check_entry_node(self.site, node)
        spec = self.site.data["entry_nodes"][node]
        user = resolve_user(self.workspace, None)
        endpoint = Endpoint(str(spec["host"]), int(spec.get("port", 22)), user, name=node)
        return open_remote(self.workspace, endpoint, backend=self.backend, report=self.report)


# ---------------------------------------------------------------- cold storage


def cold_storage(access: Access, path: str | None) -> dict[str, Any]:
    """Free space of each cold pool measured with df on a data node, the pool to write to,
    and (for `path`) the same directory on it and on the union that reads go through."""
    site = access.site
    targets = cold_pools(site)
    if not targets:
        raise BadInput("the site profile has no cold storage pool", type="no_cold_storage")
    relative = locate(site, path)[1] if path else None
    node, why = data_node_for(site, path or targets[0].mount)
    with access.open(node) as remote:
        result = run_read(remote, ["df", "-P", "-B1", "--", *(p.mount for p in targets)])
    rows = parse_df(result.stdout)
    if len(rows) != len(targets):
        result.check("df")
        raise RemoteError(f"df on {node} did not report every cold pool", type="df_unparsed")
    best, reason = choose_cold_target(
        {p.name: r.available for p, r in zip(targets, rows, strict=True)}
    )
    union = union_pool(site)
    answer: dict[str, Any] = {
        "measured_on": node,
        "node_reason": why,
        "pools": [
            {
                "pool": p.name,
                "mount": p.mount,
                "filesystem": r.filesystem,
                "size_bytes": r.size,
                "used_bytes": r.used,
                "free_bytes": r.available,
                "free": human_bytes(r.available),
            }
            for p, r in zip(targets, rows, strict=True)
        ],
        "write_to": best,
        "reason": reason,
        "write_from": nodes_for(site, next(p for p in targets if p.name == best), write=True),
        "read_from": union.name if union else best,
        "rules": [
            "write to cold storage only from a data node (transfer.py does)",
            "read cold data through the union pool when the user names no pool",
            "never run jobs on cold data: copy it to hot storage first",
        ],
    }
    if relative is not None:
        answer["write_path"] = on_pool(next(p for p in targets if p.name == best), relative)
        answer["read_path"] = on_pool(union, relative) if union else answer["write_path"]
    return answer


# ---------------------------------------------------------------- upload / download


def _journal(workspace: Workspace) -> CredentialStore:
    return CredentialStore(workspace.state_dir / "partial")


def _journal_name(direction: str, node: str, destination: str) -> str:
    digest = hashlib.sha256(f"{direction}\n{node}\n{destination}".encode()).hexdigest()
    return f"{direction}-{digest[:16]}.json"


def _replace_plan(
    plan: xfer.CopyPlan, wanted: xfer.Listing, present: xfer.Listing, target: str
) -> list[dict[str, Any]]:
    return [
        {
            "path": target if name == "." else posixpath.join(target, name),
            "existing_size": present[name].size,
            "existing_mtime": _now_iso(present[name].mtime),
            "new_size": wanted[name].size,
            "new_mtime": _now_iso(wanted[name].mtime),
        }
        for name in plan.replace
    ]


def _confirm_replace(
    workspace: Workspace,
    action: str,
    where: dict[str, Any],
    plan: xfer.CopyPlan,
    wanted: xfer.Listing,
    present: xfer.Listing,
    token: str | None,
) -> None:
    """Two-phase confirmation when the copy would replace existing files that differ."""
    if not plan.replace:
        return
    replaced = _replace_plan(plan, wanted, present, where["target"])
    require_confirmation(
        workspace,
        action,
        {
            **where,
            "impact": f"{len(replaced)} existing file(s) that differ will be overwritten",
            "replace": replaced[:PLAN_LIST_LIMIT],
            "replace_count": len(replaced),
            "new_files": len(plan.send),
            "unchanged_files": len(plan.same),
        },
        token,
        binding={**where, "replace": replaced},
    )


def _check_kinds(source_kind: str, target_kind: str, target: str) -> None:
    if target_kind not in ("none", source_kind):
        raise BadInput(
            f"{target} exists and is a {target_kind}, the source is a {source_kind}",
            type="destination_kind_mismatch",
            hint="choose another destination directory",
        )


def _copy_summary(plan: xfer.CopyPlan, wanted: xfer.Listing) -> dict[str, Any]:
    copied = plan.send + plan.replace
    return {
        "files": len(wanted),
        "copied_files": len(copied),
        "unchanged_files": len(plan.same),
        "replaced_files": len(plan.replace),
        "bytes": sum(s.size for s in wanted.values()),
        "copied_bytes": sum(wanted[n].size for n in copied),
    }


def _mismatch_error(names: list[str]) -> RemoteError:
    return RemoteError(
        f"checksums differ for {len(names)} file(s) after the copy",
        type="checksum_mismatch",
        hint="run the same command again: these files are sent again",
        retryable=True,
        files=names[:PLAN_LIST_LIMIT],
    )


Send = Callable[[list[str], xfer.Progress], dict[str, Any]]
Checksums = Callable[[list[str]], list[str]]


def _copy(
    access: Access,
    where: dict[str, Any],
    kind: str,
    listings: tuple[xfer.Listing, xfer.Listing],
    send: Send,
    checksums: Checksums | None,
    confirm_token: str | None,
) -> dict[str, Any]:
    """Plan, confirm replacements, send, verify. Files being sent are journaled in the
    workspace so a rerun after an interruption or a checksum mismatch sends them again
    without asking."""
    wanted, present = listings
    store = _journal(access.workspace)
    journal = _journal_name(where["direction"], where["node"], where["target"])
    plan = xfer.plan_copy(wanted, present, store.read_json(journal) or [])
    _confirm_replace(
        access.workspace,
        f"{where['direction']}_overwrite",
        where,
        plan,
        wanted,
        present,
        confirm_token,
    )
    names = plan.send + plan.replace
    details: dict[str, Any] = {}
    if names:
        store.write_json(journal, names)
        sizes = [wanted[n].size for n in names]
        as_tar = kind == "dir" and where["direction"] == "upload"  # progress counts the stream
        total = xfer.tar_stream_size(sizes) if as_tar else sum(sizes)
        details = send(names, _progress_reporter(access.report, where["direction"], total))
        store.remove(journal)
    if checksums is not None:
        bad = checksums(sorted(wanted))
        if bad:
            store.write_json(journal, bad)
            raise _mismatch_error(bad)
    summary = _copy_summary(plan, wanted)
    return {**where, "kind": kind, **summary, "verified": checksums is not None, **details}


def upload(
    access: Access,
    local: Path,
    remote_dir: str,
    *,
    verify: bool,
    node: str | None,
    confirm_token: str | None,
) -> dict[str, Any]:
    """Copy a local file or directory into `remote_dir` over the node's shared connection:
    a file resumably, a directory as one tar stream; replacing differing files needs
    confirmation."""
    local = Path(os.path.abspath(local))
    kind, wanted = xfer.local_entries(local)
    if kind not in ("file", "dir"):
        raise BadInput(
            f"{local} is not a file or directory on this machine", type="local_not_found"
        )
    site, remote_dir = access.site, clean_path(remote_dir)
    pool, _ = locate(site, remote_dir)
    node, why = (node, f"chosen with --node {node}") if node else data_node_for(site, remote_dir)
    check_access(site, node, pool, write=True)
    target = posixpath.join(remote_dir, local.name)
    where = {"direction": "upload", "node": node, "source": str(local), "target": target}
    with access.open(node) as remote:
        target_kind, present = xfer.remote_entries(remote, target)
        _check_kinds(kind, target_kind, target)

        def send(names: list[str], tick: xfer.Progress) -> dict[str, Any]:
            if kind == "file":
                return xfer.upload_file(remote, local, target, progress=tick)
            return {"sent_bytes": xfer.upload_tree(remote, local, target, names, progress=tick)}

        def checksums(names: list[str]) -> list[str]:
            if kind == "file":
                bad = xfer.checksum_mismatches(local.parent, remote, remote_dir, [local.name])
                return ["."] if bad else []
            return xfer.checksum_mismatches(local, remote, target, names)

        result = _copy(
            access,
            where,
            kind,
            (wanted, present),
            send,
            checksums if verify else None,
            confirm_token,
        )
    return {**result, "node_reason": why}


def download(
    access: Access,
    remote_path: str,
    local_dir: Path,
    *,
    verify: bool,
    node: str | None,
    confirm_token: str | None,
) -> dict[str, Any]:
    """Copy a remote file or directory into `local_dir`: a file resumably, a directory as
    one tar stream; replacing differing local files needs confirmation."""
    site, remote_path = access.site, clean_path(remote_path)
    pool, _ = locate(site, remote_path)
    node, why = (node, f"chosen with --node {node}") if node else data_node_for(site, remote_path)
    check_access(site, node, pool, write=False)
    local_dir = Path(os.path.abspath(local_dir))
    if local_dir.exists() and not local_dir.is_dir():
        raise BadInput(f"{local_dir} is not a directory", type="local_not_a_directory")
    name = posixpath.basename(remote_path)
    target = local_dir / name
    where = {"direction": "download", "node": node, "source": remote_path, "target": str(target)}
    with access.open(node) as remote:
        kind, wanted = xfer.remote_entries(remote, remote_path)
        xfer.require_kind(kind, remote_path, node)
        target_kind, present = xfer.local_entries(target)
        _check_kinds(kind, target_kind, str(target))

        def send(names: list[str], tick: xfer.Progress) -> dict[str, Any]:
            if kind == "file":
                return xfer.download_file(remote, remote_path, target, wanted["."], progress=tick)
            xfer.download_tree(remote, remote_path, target, names, progress=tick)
            return {}

        def checksums(names: list[str]) -> list[str]:
            if kind == "file":
                parent = posixpath.dirname(remote_path)
                return ["."] if xfer.checksum_mismatches(local_dir, remote, parent, [name]) else []
            return xfer.checksum_mismatches(target, remote, remote_path, names)

        result = _copy(
            access,
            where,
            kind,
            (wanted, present),
            send,
            checksums if verify else None,
            confirm_token,
        )
    return {**result, "node_reason": why}


# ---------------------------------------------------------------- rsync transfers in tmux

# `$1` source, `$2` target → key=value lines: source kind, target existence, tools, load.
PROBE_SCRIPT = r"""
if [ -d "$1" ]; then echo source=dir; elif [ -e "$1" ]; then echo source=file
else echo source=none; fi
if [ -e "$2" ]; then echo target=exists; else echo target=none; fi
command -v rsync >/dev/null && echo rsync=yes
command -v tmux >/dev/null && echo tmux=yes
echo running=$(tmux ls -F '#{session_name}' 2>/dev/null | grep -c '^hpcskills-xfer-')
"""
# `$1` id, `$2` meta JSON, runner on stdin → starts the tmux session.
START_SCRIPT = r"""
set -e
dir="$HOME/.hpcskills/transfers"
mkdir -p "$dir"; chmod 700 "$HOME/.hpcskills" "$dir"
printf '%s\n' "$2" > "$dir/$1.json"
cat > "$dir/$1.sh"
cd "$dir"
tmux new-session -d -s "hpcskills-xfer-$1" "sh ./$1.sh"
"""
# `$1` = an id, or --all → per transfer: meta, result, cancelled, alive, mismatches, log.
STATUS_SCRIPT = r"""
dir="$HOME/.hpcskills/transfers"
show() {
  printf '@@transfer %s\n@@meta\n' "$1"; cat "$dir/$1.json" 2>/dev/null
  printf '@@result\n'; cat "$dir/$1.result" 2>/dev/null
  printf '@@cancelled\n'; cat "$dir/$1.cancelled" 2>/dev/null
  printf '@@alive\n'; tmux has-session -t "hpcskills-xfer-$1" 2>/dev/null && echo yes
  printf '@@mismatch\n'; grep '^.f' "$dir/$1.mismatch" 2>/dev/null | head -n 20
  printf '@@log\n'; tail -c 2000 "$dir/$1.log" 2>/dev/null | tr '\r' '\n' | grep -v '^ *$' \
    | tail -n 8
}
if [ "$1" = --all ]; then
  for f in "$dir"/*.json; do if [ -e "$f" ]; then show "$(basename "$f" .json)"; fi; done
else show "$1"; fi
"""
# `$1` id → "killed" once the session and every process of it ended (marked cancelled),
# "gone" when there was no session to end.
CANCEL_SCRIPT = r"""
dir="$HOME/.hpcskills/transfers"; session="hpcskills-xfer-$1"
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}' 2>/dev/null | head -n 1)
if [ -n "$pid" ] && tmux kill-session -t "$session" 2>/dev/null; then
  date +%s > "$dir/$1.cancelled"
  i=0; while kill -0 -"$pid" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
  echo killed
else echo gone; fi
"""
RUNNER = """#!/bin/sh
# hpc-skills transfer {id}; watch it with: tmux attach -t {session}
base="$HOME/.hpcskills/transfers/{id}"
exec >>"$base.log" 2>&1
echo "@@ copy $(date +%s)"
mkdir -p -- {dest_dir} && {copy}
code=$?
verify=skipped
{verify}printf 'exit=%s\\nverify=%s\\nfinished=%s\\n' "$code" "$verify" "$(date +%s)" \\
  > "$base.result.tmp"
mv -f "$base.result.tmp" "$base.result"
"""
VERIFY_BLOCK = """if [ "$code" = 0 ]; then
  echo "@@ verify $(date +%s)"
  {check} > "$base.mismatch"
  vcode=$?
  if [ "$vcode" != 0 ]; then code=$vcode; verify=error
  elif grep -q '^.f' "$base.mismatch"; then verify=mismatch
  else verify=ok; fi
fi
"""


def new_transfer_id(now: float, token: str) -> str:
    """`YYYYmmdd-HHMMSS-xxxxxx` (UTC): sortable, and safe in file and session names."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-" + token


def check_transfer_id(transfer_id: str) -> str:
    """The id itself, or BadInput: ids reach remote file and session names."""
    if not ID_PATTERN.match(transfer_id):
        raise BadInput(
            f"{transfer_id!r} is not a transfer id",
            type="invalid_transfer_id",
            hint="ids look like 20250101-120000-a1b2c3; transfer.py list shows them",
        )
    return transfer_id


def rsync_commands(
    site: SiteProfile, source: str, dest_dir: str
) -> tuple[list[str], list[str], list[str]]:
    """(copy, checksum check, dry run listing changes) argv: `source` into `dest_dir`."""
    flags = list(site.data.get("transfer", {}).get("rsync_flags", ["--archive", "--partial"]))
    paths = ["--", source, dest_dir.rstrip("/") + "/"]
    copy = ["rsync", *flags, f"--partial-dir={PARTIAL_DIR}", "--info=progress2", *paths]
    check = ["rsync", "--archive", "--checksum", "--dry-run", "--out-format=%i %n", *paths]
    dry_run = ["rsync", "--archive", "--dry-run", "--out-format=%i %n", *paths]
    return copy, check, dry_run


def runner_script(
    transfer_id: str, source: str, dest_dir: str, site: SiteProfile, verify: bool
) -> str:
    """The shell script the tmux session runs: copy, optional checksum pass, result file.
    Every path in it is quoted with shlex.quote."""
    copy, check, _ = rsync_commands(site, source, dest_dir)
    return RUNNER.format(
        id=transfer_id,
        session=SESSION_PREFIX + transfer_id,
        dest_dir=command_line([dest_dir]),
        copy=command_line(copy),
        verify=VERIFY_BLOCK.format(check=command_line(check)) if verify else "",
    )


def replaced_by_rsync(itemized: str) -> list[str]:
    """Files an rsync run would overwrite, from `--out-format='%i %n'` dry-run lines:
    regular files being updated that already exist (attributes not all '+')."""
    names = []
    for line in itemized.splitlines():
        items, _, name = line.partition(" ")
        if len(items) == 11 and items[0] in "<>ch" and items[1] == "f" and set(items[2:]) != {"+"}:
            names.append(name)
    return names


def parse_progress(log_lines: list[str]) -> dict[str, Any] | None:
    """The last `--info=progress2` record of a log: bytes, percent, rate, time, files."""
    for line in reversed(log_lines):
        match = _PROGRESS.search(line)
        if match:
            done, percent, rate, clock, xfr, left, total = match.groups()
            progress: dict[str, Any] = {
                "bytes": int(done.replace(",", "")),
                "percent": int(percent),
                "rate": rate,
                "time": clock,
            }
            if xfr:
                progress.update(
                    files_copied=int(xfr), files_to_check=int(left), files_seen=int(total)
                )
            return progress
    return None


def parse_key_values(text: str) -> dict[str, str]:
    """`key=value` lines → mapping."""
    pairs = (line.partition("=") for line in text.splitlines())
    return {key.strip(): value.strip() for key, sep, value in pairs if sep}


def split_status(text: str) -> dict[str, dict[str, list[str]]]:
    """STATUS_SCRIPT output → {id: {section: lines}}."""
    blocks: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    section: list[str] = []
    for line in text.splitlines():
        if line.startswith("@@transfer "):
            current = blocks.setdefault(line.split(" ", 1)[1], {})
            section = []
        elif line[2:] in SECTIONS and line.startswith("@@"):
            section = current.setdefault(line[2:], [])
        else:
            section.append(line)
    return blocks


def transfer_state(
    result: dict[str, str], cancelled: bool, alive: bool, log_lines: list[str]
) -> str:
    """running, verifying, done, verify_failed, failed, cancelled, or lost (the session
    ended without writing a result: the node rebooted or it was killed from outside)."""
    if cancelled:
        return "cancelled"
    if result:
        if result.get("exit") != "0":
            return "failed"
        return "verify_failed" if result.get("verify") == "mismatch" else "done"
    if alive:
        verifying = any(line.startswith("@@ verify") for line in log_lines)
        return "verifying" if verifying else "running"
    return "lost"


NEXT_STEP = {
    "running": "poll transfer.py status ID every 30-60 s; it keeps running if you disconnect",
    "verifying": "checksums are being compared; poll transfer.py status ID again",
    "done": "the copy is complete",
    "verify_failed": "some files differ after the copy: start the same transfer again, then "
    "verify again before deleting anything",
    "failed": "see reason and log_tail; starting the same transfer again resumes it",
    "cancelled": "files copied so far stay in the target; starting the same transfer again "
    "resumes it",
    "lost": "the transfer ended without a result (node rebooted?); start it again to resume",
}


def describe_transfer(
    transfer_id: str, sections: dict[str, list[str]], now: float, node: str
) -> dict[str, Any]:
    """One transfer's status document from its STATUS_SCRIPT sections."""
    try:
        meta = json.loads("\n".join(sections.get("meta", [])) or "null")
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise NotFound(
            f"no transfer {transfer_id} on {node}",
            type="transfer_not_found",
            hint="transfer.py list shows the transfers of a node",
        )
    log_lines = sections.get("log", [])
    result = parse_key_values("\n".join(sections.get("result", [])))
    state = transfer_state(
        result, bool(sections.get("cancelled")), sections.get("alive") == ["yes"], log_lines
    )
    started = int(meta.get("started", 0))
    ended = result.get("finished", "")
    end = int(ended) if ended.isdigit() else int(now)
    status: dict[str, Any] = {
        "id": transfer_id,
        "node": node,
        "state": state,
        "source": meta.get("source"),
        "target": meta.get("target"),
        "verify": result.get("verify", "pending" if meta.get("verify") else "skipped"),
        "started_at": _now_iso(started) if started else None,
        "finished_at": _now_iso(int(ended)) if ended.isdigit() else None,
        "elapsed_seconds": end - started if started else None,
        "progress": parse_progress(log_lines),
        "next": NEXT_STEP[state].replace("ID", transfer_id),
    }
    if result.get("exit", "0") != "0":
        code = int(result["exit"]) if result["exit"].isdigit() else -1
        status.update(exit_code=code, reason=RSYNC_EXIT.get(code, "rsync failed"))
    if state in ("failed", "lost", "verify_failed"):
        status["log_tail"] = [line for line in log_lines if not _PROGRESS.search(line)]
    if sections.get("mismatch"):
        status["mismatched"] = [line.partition(" ")[2] for line in sections["mismatch"]]
    return status


def _records(workspace: Workspace) -> CredentialStore:
    return CredentialStore(workspace.state_dir / "transfers")


def _node_of(access: Access, transfer_id: str, node: str | None) -> str:
    if node:
        check_entry_node(access.site, node)
        return node
    record = _records(access.workspace).read_json(f"{transfer_id}.json")
    if not isinstance(record, dict):
        raise NotFound(
            f"this workspace started no transfer {transfer_id}",
            type="transfer_not_found",
            hint="pass --node NAME for a transfer started elsewhere",
        )
    return str(record["node"])


def _choose_transfer_node(
    site: SiteProfile, source: str, dest_dir: str, node: str | None
) -> tuple[str, str]:
    if node is None:
        return transfer_node(site, source, dest_dir)
    src_pool, _ = locate(site, source)
    dst_pool, _ = locate(site, dest_dir)
    check_access(site, node, dst_pool, write=True)
    check_access(site, node, src_pool, write=False)
    if not is_data_node(site, node):
        raise BadInput(
            f"transfers run on data nodes, not on {node}",
            type="not_a_data_node",
            hint="heavy I/O on login nodes gets accounts blacklisted; leave out "
            "--node to let the pack choose",
        )
    return node, f"chosen with --node {node}"


def start_transfer(
    access: Access,
    source: str,
    dest_dir: str,
    *,
    verify: bool,
    node: str | None,
    confirm_token: str | None,
) -> dict[str, Any]:
    """Start `rsync SOURCE DEST_DIR/` in a detached tmux session on a data node.
    Overwriting existing files in the target needs confirmation."""
    site, source, dest_dir = access.site, clean_path(source), clean_path(dest_dir)
    node, why = _choose_transfer_node(site, source, dest_dir, node)
    target = posixpath.join(dest_dir, posixpath.basename(source))
    if dest_dir == source or dest_dir.startswith(source.rstrip("/") + "/"):
        raise BadInput(f"cannot copy {source} into itself ({dest_dir})", type="invalid_path")
    with access.open(node) as remote:
        probe = parse_key_values(
            remote.run(["sh", "-c", PROBE_SCRIPT, "sh", source, target]).check("probe").stdout
        )
        _check_probe(probe, source, node, site)
        where = {"node": node, "source": source, "target": target}
        if probe.get("target") == "exists":
            _confirm_rsync_overwrite(access, remote, where, dest_dir, confirm_token)
        transfer_id = new_transfer_id(time.time(), secrets.token_hex(3))
        started = int(time.time())
        meta = {
            **where,
            "id": transfer_id,
            "dest_dir": dest_dir,
            "verify": verify,
            "started": started,
        }
        runner = runner_script(transfer_id, source, dest_dir, site, verify)
        remote.run(
            ["sh", "-c", START_SCRIPT, "sh", transfer_id, json.dumps(meta)], stdin=runner.encode()
        ).check("starting the transfer")
    _records(access.workspace).write_json(f"{transfer_id}.json", meta)
    return {
        **where,
        "id": transfer_id,
        "state": "running",
        "session": SESSION_PREFIX + transfer_id,
        "verify": verify,
        "node_reason": why,
        "started_at": _now_iso(started),
        "next": NEXT_STEP["running"].replace("ID", transfer_id),
    }


def _check_probe(probe: dict[str, str], source: str, node: str, site: SiteProfile) -> None:
    if probe.get("source") == "none":
        raise NotFound(f"{source} does not exist on {node}", type="path_not_found")
    missing = [tool for tool in ("rsync", "tmux") if probe.get(tool) != "yes"]
    if missing:
        raise RemoteError(
            f"{' and '.join(missing)} not found on {node}",
            type="tool_missing",
            hint=f"ask the site whether {node} still has them",
        )
    limit = int(site.data.get("transfer", {}).get("max_parallel_rsync", 10))
    running = int(probe.get("running", "0") or 0)
    if running >= limit:
        raise RemoteError(
            f"{running} transfers already run on {node} (the site allows about {limit})",
            type="too_many_transfers",
            hint="wait until one finishes (transfer.py list), then start this one",
            retryable=True,
        )


def _confirm_rsync_overwrite(
    access: Access,
    remote: Remote,
    where: dict[str, Any],
    dest_dir: str,
    token: str | None,
) -> None:
    """Two-phase confirmation when rsync would overwrite existing files in the target."""
    _, _, dry_run = rsync_commands(access.site, where["source"], dest_dir)
    listing = remote.run(dry_run, timeout=1800).check("rsync --dry-run")
    replaced = [posixpath.join(dest_dir, name) for name in replaced_by_rsync(listing.stdout)]
    if not replaced:
        return
    require_confirmation(
        access.workspace,
        "transfer_overwrite",
        {
            **where,
            "impact": f"{len(replaced)} existing file(s) in the target that differ "
            "will be overwritten",
            "replace": replaced[:PLAN_LIST_LIMIT],
            "replace_count": len(replaced),
        },
        token,
        binding={**where, "replace": replaced},
    )


def _fetch_status(remote: Remote, which: str) -> dict[str, dict[str, list[str]]]:
    result = run_read(remote, ["sh", "-c", STATUS_SCRIPT, "sh", which])
    return split_status(result.check("reading transfer status").stdout)


def transfer_status(access: Access, transfer_id: str, node: str | None) -> dict[str, Any]:
    """Where a transfer stands: state, progress, verification, and what to do next."""
    node = _node_of(access, check_transfer_id(transfer_id), node)
    with access.open(node) as remote:
        blocks = _fetch_status(remote, transfer_id)
    return describe_transfer(transfer_id, blocks.get(transfer_id, {}), time.time(), node)


def list_transfers(access: Access, node: str | None) -> dict[str, Any]:
    """Every transfer on the given node, else on every node this workspace started one on
    (else on the default data node)."""
    site = access.site
    if node:
        check_entry_node(site, node)
        nodes = [node]
    else:
        records = _records(access.workspace)
        known = [records.read_json(p.name) for p in sorted(records.directory.glob("*.json"))]
        nodes = list(dict.fromkeys(str(r["node"]) for r in known if isinstance(r, dict)))
        nodes = nodes or data_nodes(site)[:1]
    rows = []
    for name in nodes:
        with access.open(name) as remote:
            blocks = _fetch_status(remote, "--all")
        for transfer_id, sections in sorted(blocks.items()):
            status = describe_transfer(transfer_id, sections, time.time(), name)
            progress = status["progress"] or {}
            rows.append(
                {
                    key: status[key]
                    for key in ("id", "node", "state", "source", "target", "started_at")
                }
                | {"percent": progress.get("percent")}
            )
    return {"nodes": nodes, "transfers": rows}


def cancel_transfer(
    access: Access, transfer_id: str, node: str | None, confirm_token: str | None
) -> dict[str, Any]:
    """Stop a running transfer after confirmation: end its tmux session, then check."""
    node = _node_of(access, check_transfer_id(transfer_id), node)
    with access.open(node) as remote:
        blocks = _fetch_status(remote, transfer_id)
        status = describe_transfer(transfer_id, blocks.get(transfer_id, {}), time.time(), node)
        if status["state"] not in ("running", "verifying"):
            raise BadInput(
                f"transfer {transfer_id} is {status['state']}, not running",
                type="transfer_not_running",
                state=status["state"],
            )
        binding = {key: status[key] for key in ("id", "node", "state", "source", "target")}
        require_confirmation(
            access.workspace,
            "cancel_transfer",
            {
                **binding,
                "progress": status["progress"],
                "impact": "rsync stops; files copied so far stay in the target (an "
                f"unfinished one in {PARTIAL_DIR}/), and starting the same transfer again "
                "resumes it",
            },
            confirm_token,
            binding=binding,
        )
        answer = remote.run(["sh", "-c", CANCEL_SCRIPT, "sh", transfer_id], timeout=60)
        answer.check("cancelling the transfer")
        blocks = _fetch_status(remote, transfer_id)
    after = describe_transfer(transfer_id, blocks.get(transfer_id, {}), time.time(), node)
    if answer.stdout.strip() != "killed" or after["state"] != "cancelled":
        raise RemoteError(
            f"transfer {transfer_id} was not cancelled: it is {after['state']}",
            type="cancel_failed",
            state=after["state"],
        )
    return {**after, "was": status["state"]}
