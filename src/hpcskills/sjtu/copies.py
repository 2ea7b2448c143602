"""Uploads and downloads between this machine and the cluster, over the shared
connection of the data node that serves the remote path; replacing files that differ is
confirmed first, and a local journal lets a rerun resume our own half-written files."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpcskills.core.confirm import require_confirmation
from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.core.state import StateStore
from hpcskills.core.workspace import Workspace
from hpcskills.sjtu.progress import now_iso, progress_reporter
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.storage import (
    check_access,
    clean_path,
    data_node_for,
    locate,
)
from hpcskills.ssh import transfer as xfer

PLAN_LIST_LIMIT = 20


def _journal(workspace: Workspace) -> StateStore:
    return workspace.state().sub("partial")


def _journal_name(direction: str, node: str, destination: str) -> str:
    digest = hashlib.sha256(f"{direction}\n{node}\n{destination}".encode()).hexdigest()
    return f"{direction}-{digest[:16]}.json"


def transfer_key(where: dict[str, Any], wanted: xfer.Listing) -> str:
    """What a journal is bound to (pure): direction, node, source, target and every source
    file's size and mtime. Another source, or the same one changed, is another transfer."""
    files = sorted((name, state.size, state.mtime) for name, state in wanted.items())
    fields = [where["direction"], where["node"], where["source"], where["target"], files]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def journaled_files(entry: Any, key: str) -> list[str]:
    """The files a journal entry lets this transfer resend without asking: those of the
    very transfer that wrote it (0.1.0's bare lists fit none) (pure)."""
    if isinstance(entry, dict) and entry.get("transfer") == key:
        return [name for name in entry.get("files", []) if isinstance(name, str)]
    return []


def _replace_plan(
    plan: xfer.CopyPlan, wanted: xfer.Listing, present: xfer.Listing, target: str
) -> list[dict[str, Any]]:
    return [
        {
            "path": target if name == "." else posixpath.join(target, name),
            "existing_size": present[name].size,
            "existing_mtime": now_iso(present[name].mtime),
            "new_size": wanted[name].size,
            "new_mtime": now_iso(wanted[name].mtime),
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
    access: SiteAccess,
    where: dict[str, Any],
    kind: str,
    listings: tuple[xfer.Listing, xfer.Listing],
    send: Send,
    checksums: Checksums | None,
    confirm_token: str | None,
) -> dict[str, Any]:
    """Plan, confirm replacements, send, verify. Files being sent are journaled in the
    workspace, bound to this exact transfer, so its rerun after an interruption or a
    checksum mismatch sends them again without asking; any other transfer asks."""
    wanted, present = listings
    store = _journal(access.workspace)
    journal = _journal_name(where["direction"], where["node"], where["target"])
    key = transfer_key(where, wanted)
    plan = xfer.plan_copy(wanted, present, journaled_files(store.read(journal), key))
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
        store.write(journal, {"transfer": key, "files": names})
        sizes = [wanted[n].size for n in names]
        as_tar = kind == "dir" and where["direction"] == "upload"  # progress counts the stream
        total = xfer.tar_stream_size(sizes) if as_tar else sum(sizes)
        details = send(names, progress_reporter(access.report, where["direction"], total))
        store.remove(journal)
    if checksums is not None:
        bad = checksums(sorted(wanted))
        if bad:
            store.write(journal, {"transfer": key, "files": bad})
            raise _mismatch_error(bad)
    summary = _copy_summary(plan, wanted)
    return {**where, "kind": kind, **summary, "verified": checksums is not None, **details}


def upload(
    access: SiteAccess,
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
    with access.open_node(node, why) as session:
        remote = session.remote
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
    access: SiteAccess,
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
    with access.open_node(node, why) as session:
        remote = session.remote
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
