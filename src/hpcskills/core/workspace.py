"""Where the pack keeps secrets (credentials/) and its own state (.hpcskills/)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hpcskills.core.credstore import CredentialStore, ensure_private_dir
from hpcskills.core.state import StateStore

WORKSPACE_ENV = "OPENCLAW_WORKSPACE"
DEFAULT_WORKSPACE = Path("~/.openclaw/workspace")


def resolve_workspace_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--workspace`, else `$OPENCLAW_WORKSPACE`, else `~/.openclaw/workspace`."""
    chosen = explicit or os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class Workspace:
    """An OpenClaw workspace as the pack sees it."""

    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> Workspace:
        return cls(resolve_workspace_path(explicit))

    @property
    def credentials_dir(self) -> Path:
        return self.root / "credentials"

    @property
    def state_dir(self) -> Path:
        return self.root / ".hpcskills"

    def credentials(self) -> CredentialStore:
        """The 0700 credentials store (created on first use)."""
        return CredentialStore(self.credentials_dir)

    def state(self) -> StateStore:
        """The pack's versioned state records (confirm secret, profile, journals, ...)."""
        return StateStore(self.state_dir)

    def ensure_state_dir(self) -> Path:
        ensure_private_dir(self.state_dir)
        return self.state_dir
