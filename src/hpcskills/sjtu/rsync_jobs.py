"""rsync transfers that run in tmux on a data node, surviving a dropped connection.

Remote transfers keep their state in `~/.hpcskills/transfers/` on the data node: `ID.sh`
(the runner), `ID.json` (what was asked), `ID.log` (rsync's progress), `ID.result` (exit
code and verification, written when the runner ends) and `ID.cancelled`. The tmux session
`hpcskills-xfer-ID` keeps rsync alive when the SSH connection drops. This machine remembers
which node each transfer runs on in the workspace state dir.
"""

from __future__ import annotations

import json
import posixpath
import re
import secrets
import time
from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import BadInput, NotFound, RemoteError
from hpcskills.core.guidance import FollowUp, Guided
from hpcskills.core.state import StateStore
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.copies import PLAN_LIST_LIMIT
from hpcskills.sjtu.progress import now_iso
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.site import SiteProfile
from hpcskills.sjtu.storage import check_access, clean_path, locate, transfer_node
from hpcskills.ssh.base import Remote, command_line
from hpcskills.ssh.connect import run_read

SESSION_PREFIX = "hpcskills-xfer-"
PARTIAL_DIR = ".rsync-partial"  # interrupted files wait here, not under their final name
ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
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
    flags = list(site.transfer.rsync_flags)
    deleting = [f for f in flags if f.startswith(("--delete", "--remove-source", "--del"))]
    if deleting:  # the confirmation plan only lists overwrites, never deletions
        raise BadInput(
            f"the site profile's rsync_flags delete data ({', '.join(deleting)}); refused",
            hint="remove them from transfer.rsync_flags in site.json or HPCSKILLS_SITE_FILE",
        )
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
        "started_at": now_iso(started) if started else None,
        "finished_at": now_iso(int(ended)) if ended.isdigit() else None,
        "elapsed_seconds": end - started if started else None,
        "progress": parse_progress(log_lines),
    }
    if result.get("exit", "0") != "0":
        code = int(result["exit"]) if result["exit"].isdigit() else -1
        status.update(exit_code=code, reason=RSYNC_EXIT.get(code, "rsync failed"))
    if state in ("failed", "lost", "verify_failed"):
        status["log_tail"] = [line for line in log_lines if not _PROGRESS.search(line)]
    if sections.get("mismatch"):
        status["mismatched"] = [line.partition(" ")[2] for line in sections["mismatch"]]
    return status


def _records(workspace: Workspace) -> StateStore:
    return workspace.state().sub("transfers")


def _node_of(access: SiteAccess, transfer_id: str, node: str | None) -> str:
    if node:
        return access.site.entry_node(node).name
    record = _records(access.workspace).read(f"{transfer_id}.json")
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
    if not site.entry_node(node).is_data_node:
        raise BadInput(
            f"transfers run on data nodes, not on {node}",
            type="not_a_data_node",
            hint="heavy I/O on login nodes gets accounts blacklisted; leave out "
            "--node to let the pack choose",
        )
    return node, f"chosen with --node {node}"


def start_transfer(
    access: SiteAccess,
    source: str,
    dest_dir: str,
    *,
    verify: bool,
    node: str | None,
    confirm_token: str | None,
) -> Guided:
    """Start `rsync SOURCE DEST_DIR/` in a detached tmux session on a data node.
    Overwriting existing files in the target needs confirmation."""
    site, source, dest_dir = access.site, clean_path(source), clean_path(dest_dir)
    node, why = _choose_transfer_node(site, source, dest_dir, node)
    target = posixpath.join(dest_dir, posixpath.basename(source))
    if dest_dir == source or dest_dir.startswith(source.rstrip("/") + "/"):
        raise BadInput(f"cannot copy {source} into itself ({dest_dir})", type="invalid_path")
    with access.open_node(node, why) as session:
        remote = session.remote
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
    _records(access.workspace).write(f"{transfer_id}.json", meta)
    started_data = {
        **where,
        "id": transfer_id,
        "state": "running",
        "session": SESSION_PREFIX + transfer_id,
        "verify": verify,
        "node_reason": why,
        "started_at": now_iso(started),
    }
    return _guided(started_data, "running")


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
    limit = site.transfer.max_parallel_rsync
    running = int(probe.get("running", "0") or 0)
    if running >= limit:
        raise RemoteError(
            f"{running} transfers already run on {node} (the site allows about {limit})",
            type="too_many_transfers",
            hint="wait until one finishes (transfer.py list), then start this one",
            retryable=True,
        )


def _confirm_rsync_overwrite(
    access: SiteAccess,
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


def _guided(status: dict[str, Any], state: str) -> Guided:
    """A transfer's data with what to do next (poll while it is still going)."""
    transfer_id = str(status["id"])
    advice = NEXT_STEP[state].replace("ID", transfer_id)
    polling = state in ("running", "verifying")
    return Guided(
        status,
        summary=f"Transfer {transfer_id} is {state}: {advice}.",
        next=(FollowUp("transfer.py", ("status", transfer_id)),) if polling else (),
    )


def transfer_status(access: SiteAccess, transfer_id: str, node: str | None) -> Guided:
    """Where a transfer stands: state, progress, verification, and what to do next."""
    node = _node_of(access, check_transfer_id(transfer_id), node)
    with access.open_node(node, f"transfer {transfer_id} runs there") as session:
        blocks = _fetch_status(session.remote, transfer_id)
    status = describe_transfer(transfer_id, blocks.get(transfer_id, {}), time.time(), node)
    return _guided(status, str(status["state"]))


def list_transfers(access: SiteAccess, node: str | None) -> dict[str, Any]:
    """Every transfer on the given node, else on every node this workspace started one on
    (else on the default data node)."""
    if node:
        nodes = [access.site.entry_node(node).name]
    else:
        records = _records(access.workspace)
        known = [records.read(name) for name in records.names(".json")]
        nodes = list(dict.fromkeys(str(r["node"]) for r in known if isinstance(r, dict)))
        nodes = nodes or [data.name for data in access.site.data_nodes()[:1]]
    rows = []
    for name in nodes:
        with access.open_node(name, "listing its transfers") as session:
            blocks = _fetch_status(session.remote, "--all")
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
    access: SiteAccess, transfer_id: str, node: str | None, confirm_token: str | None
) -> dict[str, Any]:
    """Stop a running transfer after confirmation: end its tmux session, then check."""
    node = _node_of(access, check_transfer_id(transfer_id), node)
    with access.open_node(node, f"transfer {transfer_id} runs there") as session:
        remote = session.remote
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
