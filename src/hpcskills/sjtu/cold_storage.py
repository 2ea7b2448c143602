"""Cold storage: free space of the cold pools, measured on the data node, and where to
write (the pool with the most free space) or read (the union pool)."""

from __future__ import annotations

from typing import Any

from hpcskills.core.errors import BadInput, RemoteError
from hpcskills.sjtu.session import SiteAccess
from hpcskills.sjtu.storage import (
    choose_cold_target,
    cold_pools,
    data_node_for,
    human_bytes,
    locate,
    nodes_for,
    on_pool,
    parse_df,
    union_pool,
)
from hpcskills.ssh.connect import run_read


def cold_storage(access: SiteAccess, path: str | None) -> dict[str, Any]:
    """Free space of each cold pool measured with df on a data node, the pool to write to,
    and (for `path`) the same directory on it and on the union that reads go through."""
    site = access.site
    targets = cold_pools(site)
    if not targets:
        raise BadInput("the site profile has no cold storage pool", type="no_cold_storage")
    relative = locate(site, path)[1] if path else None
    node, why = data_node_for(site, path or targets[0].mount)
    with access.open_node(node, why) as session:
        result = run_read(session.remote, ["df", "-P", "-B1", "--", *(p.mount for p in targets)])
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
