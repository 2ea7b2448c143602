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


def open_context(skill_dir: Path, backend: str = "api") -> Context:
    """Load settings and catalog; build the backend (which needs the access key)."""
    if backend not in BACKENDS:
        raise BadInput(f"unknown backend {backend!r}", hint="use api or cli")
    config = load_config()
    catalog = load_catalog(skill_dir)
    chosen: ApiBackend | CliBackend
    if backend == "cli":
        chosen = CliBackend(config, log, hint_for=catalog.hint_for)
    else:
        chosen = ApiBackend(BohriumApi(config, hint_for=catalog.hint_for, report=log), log)
    return Context(config, catalog, chosen)
