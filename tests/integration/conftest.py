"""Fixtures for tests on the real local site: minicluster + SJTU simulator + a workspace
holding a real certificate that the minicluster's sshd trusts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcskills.core.workspace import Workspace
from hpcskills.sim.sjtu import SjtuSimulator

from sitefix import (
    Cluster,
    exit_masters,
    issue_certificate,
    minicluster_up,
    require_minicluster,
    trust_ca,
)


@pytest.fixture(scope="session")
def sjtu_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SjtuSimulator]:
    """The SJTU API simulator, 2FA approved at once, its CA kept for the session."""
    sim = SjtuSimulator(approve_after=0, state_dir=tmp_path_factory.mktemp("sjtu-sim"), log=None)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def cluster(sjtu_sim: SjtuSimulator, tmp_path: Path) -> Iterator[Cluster]:
    """The real local site, reachable with a fresh workspace's certificate."""
    require_minicluster()
    site = minicluster_up()
    trust_ca(sjtu_sim.ca_public_key_path)
    root = tmp_path / "ws"
    workspace = Workspace(root)
    issue_certificate(workspace, sjtu_sim)
    env = {
        "HPCSKILLS_SJTU_API_URL": sjtu_sim.base_url,
        "HPCSKILLS_SITE_FILE": site["site_override"],
    }
    yield Cluster(root, env, site, site["user"])
    exit_masters(root, site)
