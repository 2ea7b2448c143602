"""What every bohrium-job script starts from: settings, catalog and the chosen backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hpcskills.bohrium.api import BohriumApi
from hpcskills.bohrium.backend import ApiBackend
from hpcskills.bohrium.bohr_cli import CliBackend
from hpcskills.bohrium.catalog import Catalog, load_catalog
from hpcskills.bohrium.config import BohriumConfig, load_config
from hpcskills.core.cli import log
from hpcskills.core.errors import BadInput
from hpcskills.core.workspace import Workspace
from hpcskills.ledger.store import LEDGER_FILE, open_ledger

BACKENDS = ("api", "cli")


@dataclass(frozen=True)
class Context:
    """Settings, the skill's catalog, and a backend for job operations."""

    config: BohriumConfig
    catalog: Catalog
    backend: ApiBackend | CliBackend

    def api_backend(self, what: str) -> ApiBackend:
        """The backend when it is the API one; BadInput for operations bohr lacks."""
        if not isinstance(self.backend, ApiBackend):
            raise BadInput(
                f"bohr has no command for {what}",
                type="not_in_bohr",
                hint="run it without --backend cli (the API backend is the default)",
            )
        return self.backend


def known_bohr_ids(workspace: Workspace) -> dict[int, int]:
    """job id → bohrId of the workspace's submitted Bohrium jobs (v4 detail is addressed by
    bohrId; the ledger keeps it beside the job id). Reads nothing when there is no ledger."""
    if not (workspace.state_dir / LEDGER_FILE).is_file():
        return {}
    with open_ledger(workspace) as ledger:
        records = ledger.select(platforms=("bohrium",))
    return {
        int(record.job_id): record.details["bohr_id"]
        for record in records
        if str(record.job_id or "").isdigit() and isinstance(record.details.get("bohr_id"), int)
    }


def open_context(
    skill_dir: Path, backend: str = "api", workspace: Workspace | None = None
) -> Context:
    """Load settings and catalog; build the backend (which needs the access key); with a
    workspace, the API knows the bohrIds its ledger holds."""
    if backend not in BACKENDS:
        raise BadInput(f"unknown backend {backend!r}", hint="use api or cli")
    config = load_config()
    catalog = load_catalog(skill_dir)
    chosen: ApiBackend | CliBackend
    if backend == "cli":
        chosen = CliBackend(config, log, hint_for=catalog.hint_for)
    else:
        api = BohriumApi(config, hint_for=catalog.hint_for, report=log)
        if workspace is not None:
            api.bohr_ids.update(known_bohr_ids(workspace))
        chosen = ApiBackend(api, log)
    return Context(config, catalog, chosen)
