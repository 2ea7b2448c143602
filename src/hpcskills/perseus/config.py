"""Where and as what to report: the PERSEUS URL, project, cluster ids and token.

Settings come from flags, else the environment (PERSEUS_URL, PERSEUS_PROJECT_OID,
PERSEUS_COMPUTE_PROJECT_ID, PERSEUS_CLUSTER_ID). The token comes from PERSEUS_TOKEN or
`credentials/perseus_token` in the workspace — never from the command line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hpcskills.core.errors import AuthRequired, BadInput
from hpcskills.core.redact import register_secret
from hpcskills.core.urls import check_base_url
from hpcskills.core.workspace import Workspace
from hpcskills.perseus.records import Scope

URL_ENV = "PERSEUS_URL"
TOKEN_ENV = "PERSEUS_TOKEN"
PROJECT_ENV = "PERSEUS_PROJECT_OID"
COMPUTE_PROJECT_ENV = "PERSEUS_COMPUTE_PROJECT_ID"
CLUSTER_ENV = "PERSEUS_CLUSTER_ID"
TOKEN_FILE = "perseus_token"
MAX_ID_LEN = 128
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
_IDENTIFIER = re.compile(rf"[\x21-\x7e]{{1,{MAX_ID_LEN}}}")


def check_object_id(value: str, field: str) -> str:
    """A PERSEUS ObjectId: 24 hex digits (seed 002: `project_oid` is a MongoDB ObjectId)."""
    if not _OBJECT_ID.fullmatch(value):
        raise BadInput(
            f"{field} {value[:40]!r} is not a PERSEUS ObjectId",
            hint="24 hexadecimal digits, e.g. 65f0c0ffee0000000000abcd (the project's id in "
            "PERSEUS)",
        )
    return value


def check_identifier(value: str, field: str) -> str:
    """A PERSEUS identifier (compute project, cluster): printable ASCII without spaces."""
    if not _IDENTIFIER.fullmatch(value):
        raise BadInput(
            f"{field} {value[:40]!r} is not an identifier",
            hint=f"1-{MAX_ID_LEN} printable ASCII characters without spaces, as PERSEUS shows it",
        )
    return value


@dataclass(frozen=True)
class Settings:
    """The portal and the ids every record carries."""

    url: str | None
    project_oid: str
    compute_project_id: str
    default_cluster_id: str | None
    cluster_ids: dict[str, str] = field(default_factory=dict)

    def scope(self, site: str) -> Scope:
        """The scope of a site's jobs (BadInput when the site has no cluster id)."""
        cluster = self.cluster_ids.get(site) or self.default_cluster_id
        if not cluster:
            raise BadInput(
                f"no PERSEUS cluster id for site {site!r}",
                type="perseus_cluster_missing",
                hint=f"pass --cluster-id {site}=ID (or set {CLUSTER_ENV} for all sites)",
            )
        return Scope(self.project_oid, self.compute_project_id, cluster)


def parse_cluster_ids(values: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """`ID` (all sites) and `SITE=ID` words → (default, per site)."""
    default, per_site = None, {}
    for value in values:
        site, sep, cluster = value.partition("=")
        if not sep:
            default = value.strip()
        elif site.strip() and cluster.strip():
            per_site[site.strip()] = cluster.strip()
        else:
            raise BadInput(f"--cluster-id {value!r} is neither ID nor SITE=ID")
    return default, per_site


def load_settings(
    *,
    url: str | None = None,
    project_oid: str | None = None,
    compute_project_id: str | None = None,
    cluster_ids: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    need_url: bool = True,
) -> Settings:
    """Flags over environment; BadInput naming what is missing."""
    env = os.environ if env is None else env
    url = url or env.get(URL_ENV) or None
    project = project_oid or env.get(PROJECT_ENV)
    compute = compute_project_id or env.get(COMPUTE_PROJECT_ENV)
    missing = [
        name
        for name, value in (
            (URL_ENV, url if need_url else "-"),
            (PROJECT_ENV, project),
            (COMPUTE_PROJECT_ENV, compute),
        )
        if not value
    ]
    if missing:
        raise BadInput(
            f"PERSEUS settings missing: {', '.join(missing)}",
            type="perseus_settings_missing",
            hint="set them in the environment or pass --url/--project-oid/--compute-project-id",
        )
    default, per_site = parse_cluster_ids(cluster_ids)
    default = default or env.get(CLUSTER_ENV) or None
    for cluster in ([default] if default else []) + list(per_site.values()):
        check_identifier(cluster, "cluster_id")
    return Settings(
        check_base_url(url) if url else None,
        check_object_id(str(project), "project_oid"),
        check_identifier(str(compute), "compute_project_id"),
        default,
        per_site,
    )


def load_token(workspace: Workspace, env: Mapping[str, str] | None = None) -> str:
    """The API token: PERSEUS_TOKEN, else credentials/perseus_token (AuthRequired if none)."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV, "").strip() or workspace.credentials().read_text(TOKEN_FILE)
    if not token:
        raise AuthRequired(
            "no PERSEUS token",
            type="perseus_token_missing",
            hint=f"put the token into {workspace.credentials_dir / TOKEN_FILE} (0600) or set "
            f"{TOKEN_ENV}; never pass it on the command line",
        )
    register_secret(token)
    return token
