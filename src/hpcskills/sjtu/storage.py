"""Storage rules of the site profile (pure): pools, the same directory on every pool, which
entry nodes read or write a pool, and where cold data goes (df parsing, target choice)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.sjtu.entry import select_entry_node
from hpcskills.sjtu.site import Pool, SiteProfile

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DF_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(.+)$")
NOTES = {
    "hot": "hot storage: run jobs on data here",
    "scratch": "fast scratch, purged every 3 months: keep nothing here you cannot recompute",
    "cold": "cold storage: never run jobs on it; copy data to hot storage first",
}


@dataclass(frozen=True)
class DfRow:
    """One line of `df -P -B1`: sizes in bytes."""

    filesystem: str
    size: int
    used: int
    available: int
    mounted_on: str


def clean_path(path: str) -> str:
    """An absolute, normalized remote path; BadInput for relative paths or control chars."""
    if _CONTROL.search(path):
        raise BadInput(f"path {path!r} contains control characters", type="invalid_path")
    if not path.startswith("/"):
        raise BadInput(
            f"remote path {path!r} is not absolute",
            type="invalid_path",
            hint="give the full path, e.g. /lustre/home/ACCOUNT/USER/..., as user_info.py shows",
        )
    normalized = posixpath.normpath(path)
    return normalized[1:] if normalized.startswith("//") else normalized  # POSIX keeps "//"


def locate(site: SiteProfile, path: str) -> tuple[Pool, str]:
    """The pool holding `path` and the part of the path below the pool's mount."""
    path = clean_path(path)
    pool = site.pool_of(path)
    return pool, posixpath.relpath(path, pool.mount)


def on_pool(pool: Pool, relative: str) -> str:
    """The path `relative` would have under `pool`'s mount."""
    return pool.mount if relative == "." else posixpath.join(pool.mount, relative)


def nodes_for(site: SiteProfile, pool: Pool, *, write: bool) -> list[str]:
    """Entry nodes that can read (or write) the pool."""
    allowed = pool.writable_from if write else pool.visible_from
    return [node.name for node in site.entry_nodes.values() if node.listed_in(allowed)]


def check_access(site: SiteProfile, node: str, pool: Pool, *, write: bool) -> None:
    """BadInput unless `node` may read (or write) `pool`; cold writes only from data nodes."""
    if site.entry_node(node).listed_in(pool.writable_from if write else pool.visible_from):
        return
    allowed = ", ".join(nodes_for(site, pool, write=write)) or "no entry node"
    if write and pool.kind == "cold":
        raise BadInput(
            f"cold storage {pool.mount} is written only from data nodes, not from {node}",
            type="cold_storage_write_refused",
            hint=f"use a data node ({allowed}); leave out --node to let the pack choose",
        )
    verb = "write" if write else "read"
    raise BadInput(
        f"{node} cannot {verb} {pool.mount}",
        type="pool_not_reachable",
        hint=f"{pool.mount} can be {verb} from: {allowed}",
    )


def path_views(site: SiteProfile, path: str) -> dict[str, Any]:
    """The same directory on every pool, and from where each copy is readable and writable."""
    home, relative = locate(site, path)
    views = [
        {
            "pool": pool.name,
            "path": on_pool(pool, relative),
            "kind": pool.kind,
            "title": pool.title,
            "readable_from": list(pool.visible_from),
            "writable_from": list(pool.writable_from),
            "read_via": nodes_for(site, pool, write=False),
            "write_via": nodes_for(site, pool, write=True),
            "note": NOTES.get(pool.kind, ""),
            **({"union_of": list(pool.union_of)} if pool.union_of else {}),
        }
        for pool in site.storage.values()
    ]
    return {
        "path": on_pool(home, relative),
        "pool": home.name,
        "relative": relative,
        "pools": views,
    }


def data_node_for(site: SiteProfile, path: str) -> tuple[str, str]:
    """The data node serving the pool of `path`, and why."""
    choice = select_entry_node(site, storage=clean_path(path), business="data")
    return choice.name, choice.reason


def transfer_node(site: SiteProfile, source: str, target_dir: str) -> tuple[str, str]:
    """A data node that reads the source's pool and writes the target's, and why: the data
    node of the source's pool first, then the target's, then any other."""
    src_pool, _ = locate(site, source)
    dst_pool, _ = locate(site, target_dir)
    preferred = [data_node_for(site, source)[0], data_node_for(site, target_dir)[0]]
    for name in dict.fromkeys([*preferred, *(node.name for node in site.data_nodes())]):
        node = site.entry_nodes[name]
        if node.listed_in(src_pool.visible_from) and node.listed_in(dst_pool.writable_from):
            return name, (
                f"{name} is a data node that reads {src_pool.mount} and writes {dst_pool.mount}"
            )
    raise BadInput(
        f"no data node both reads {src_pool.mount} and writes {dst_pool.mount}",
        type="no_transfer_node",
        hint="copy in two steps through a pool both sides can reach",
    )


def parse_df(text: str) -> list[DfRow]:
    """Rows of `df -P -B1` output (header and unparsable lines skipped), in order."""
    rows = []
    for line in text.split("\n"):
        match = _DF_ROW.match(line.rstrip("\r"))
        if match:
            fs, size, used, avail, _capacity, mount = match.groups()
            rows.append(DfRow(fs, int(size), int(used), int(avail), mount))
    return rows


def human_bytes(count: float) -> str:
    """1536 → '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def choose_cold_target(free: dict[str, int]) -> tuple[str, str]:
    """The pool with the most free bytes (first listed on a tie), and why."""
    if not free:
        raise BadInput("no cold storage pool in the site profile", type="no_cold_storage")
    best = max(free, key=lambda name: free[name])
    others = ", ".join(f"{human_bytes(v)} on {n}" for n, v in free.items() if n != best)
    why = f"{best} has the most free space ({human_bytes(free[best])} free"
    return best, why + (f" vs {others})" if others else ")")


def cold_pools(site: SiteProfile) -> list[Pool]:
    """The cold pools a write can target (not the union of them)."""
    return [p for p in site.pools_of_kind("cold") if not p.union_of]


def union_pool(site: SiteProfile) -> Pool | None:
    """The pool that shows every cold pool at once (reads of cold data go there)."""
    return next((p for p in site.storage.values() if p.union_of), None)
