"""Which OpenAPI version each operation speaks, and the source that verified it (one place).

v4 where the platform's own 2026 skill verified it (job_group/add, job/create, job/add,
job/kill) or other 2026 clients use it (job/list, job/detail/{bohrId}); v1/v2 where only they
are documented (facts/bohrium.md, facts/bohrium-clients.md). Every v4 operation falls back to
its older version when the host answers HTTP 404 (the route is not there). A user can pick
versions with `BOHRIUM_API_VERSIONS="job_list=v1,job_detail=v1"` (environment or the skill's
openclaw.json env).
"""

from __future__ import annotations

from dataclasses import dataclass

from hpcskills.core.errors import BadInput


@dataclass(frozen=True)
class Operation:
    """One OpenAPI operation: a path per version, the default and its fallback."""

    paths: dict[str, str]
    default: str
    source: str

    @property
    def fallback(self) -> str | None:
        """The version used when the default answers HTTP 404 (None: no other version)."""
        older = [version for version in self.paths if version != self.default]
        return older[0] if older else None


OPERATIONS: dict[str, Operation] = {
    "job_group_add": Operation(
        {"v4": "/v4/job_group/add", "v1": "/v1/job_group/add"}, "v4", "official skill (verified)"
    ),
    "job_create": Operation(
        {"v4": "/v4/job/create", "v1": "/v1/job/create"}, "v4", "official skill (verified)"
    ),
    "job_add": Operation(
        {"v4": "/v4/job/add", "v2": "/v2/job/add"}, "v4", "official skill (verified)"
    ),
    "job_kill": Operation(
        {"v4": "/v4/job/kill/{job_id}", "v1": "/v1/job/kill/{job_id}"},
        "v4",
        "official skill (verified)",
    ),
    "job_list": Operation(
        {"v4": "/v4/job/list", "v1": "/v1/job/list"}, "v4", "2026 public clients"
    ),
    "job_detail": Operation(
        {"v4": "/v4/job/detail/{bohr_id}", "v1": "/v1/job/{job_id}"},
        "v4",
        "2026 public clients (v4 is addressed by bohrId)",
    ),
    "job_log": Operation({"v1": "/v1/job/{job_id}/log"}, "v1", "bohrium-sdk, bohrium-open-sdk"),
    "job_terminate": Operation(
        {"v1": "/v1/job/terminate/{job_id}"}, "v1", "bohrium-sdk, bohrium-open-sdk"
    ),
    "job_delete": Operation({"v1": "/v1/job/del/{job_id}"}, "v1", "bohrium-sdk, bohrium-open-sdk"),
    "job_rename": Operation({"v1": "/v1/job/{job_id}/modify"}, "v1", "seed only"),
    "job_view_conf": Operation({"v1": "/v1/job/view/conf/{job_id}"}, "v1", "seed only"),
    "job_snapshot": Operation({"v1": "/v1/job/{job_id}/snapshot"}, "v1", "seed only"),
    "whoami": Operation({"v1": "/v1/ak/get"}, "v1", "bohriumsdk 0.2"),
    "group_list": Operation({"v1": "/v1/job/groups"}, "v1", "lbg (on /brm/)"),
    "group_terminate": Operation(
        {"v1": "/v1/job/terminate/group/{group_id}"}, "v1", "lbg (on /brm/)"
    ),
    "group_delete": Operation({"v1": "/v1/job/group/del/{group_id}"}, "v1", "lbg (on /brm/)"),
    "group_rename": Operation({"v1": "/v1/job_group/{group_id}/modify"}, "v1", "seed only"),
}


def parse_versions(text: str | None) -> dict[str, str]:
    """`op=version,...` → {op: version}, checked against `OPERATIONS` (pure)."""
    chosen: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        op, _, version = item.partition("=")
        op, version = op.strip(), version.strip()
        if op not in OPERATIONS or version not in OPERATIONS[op].paths:
            known = ", ".join(f"{o}={'|'.join(OPERATIONS[o].paths)}" for o in OPERATIONS)
            raise BadInput(
                f"API versions: {item.strip()!r} is not an operation=version pair",
                type="config_invalid",
                hint=f"known: {known}",
            )
        chosen[op] = version
    return chosen


def path_of(op: str, version: str, **ids: int) -> str:
    """The path of `op` in `version` with its ids filled in."""
    return OPERATIONS[op].paths[version].format(**ids)


def table() -> list[dict[str, str]]:
    """The version table as check_setup.py and the references show it."""
    return [
        {"operation": op, "default": o.default, "fallback": o.fallback or "", "source": o.source}
        for op, o in OPERATIONS.items()
    ]
