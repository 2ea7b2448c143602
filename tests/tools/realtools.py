"""The real OpenClaw tools (installed by scripts/skilltools) and throwaway homes to run them in.

`scripts/test` runs `scripts/skilltools` and exports its JSON as HPCSKILLS_TOOLS; without it
the tests fall back to `.tools/tools.json`. Missing tools skip the tests at a desk and fail
them in CI (CI or HPCSKILLS_REQUIRE_TOOLS set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKILLS = ROOT / "skills"
ROUTER = "hpc-skills"
TOOLS_FILE = ROOT / ".tools" / "tools.json"
TOOL_KEYS = ("node", "openclaw", "skills_ref", "clawhub", "quick_validate", "clawhub_package")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def tools() -> dict[str, str]:
    """Paths of the installed tools; skip, or fail in CI, when they are missing."""
    text = os.environ.get("HPCSKILLS_TOOLS") or (
        TOOLS_FILE.read_text() if TOOLS_FILE.is_file() else ""
    )
    problem = "run scripts/skilltools (scripts/test does) to install node 24 and the tools"
    found: dict[str, str] = {}
    if text:
        found = json.loads(text)
        missing = [k for k in TOOL_KEYS if not (found.get(k) and Path(found[k]).exists())]
        problem = f"tools missing: {missing}; {problem}" if missing else ""
    if problem:
        if os.environ.get("CI") or os.environ.get("HPCSKILLS_REQUIRE_TOOLS"):
            pytest.fail(problem + " (required: CI or HPCSKILLS_REQUIRE_TOOLS is set)")
        pytest.skip(problem)
    return found


def skill_folders() -> list[Path]:
    """Every folder under skills/ holding a non-hidden file (what a clone of the repository has)."""
    return sorted(
        p
        for p in SKILLS.iterdir()
        if p.is_dir() and any(f.is_file() and not f.name.startswith(".") for f in p.rglob("*"))
    )


def stage_router(parent: Path) -> Path:
    """The top-level router SKILL.md as a skill folder of its own, `parent/hpc-skills`."""
    folder = parent / ROUTER
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "SKILL.md", folder / "SKILL.md")
    return folder


def run_tool(
    argv: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run a tool with exactly `env` (nothing inherited), no stdin, text output."""
    return subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class OpenClawHome:
    """A throwaway OpenClaw: HOME, state dir, config file and an empty bundled-skills dir."""

    base: Path
    bin_dir: str

    def __post_init__(self) -> None:
        for name in ("home", "state", "no-bundled-skills"):
            (self.base / name).mkdir(parents=True, exist_ok=True)

    @property
    def config_path(self) -> Path:
        return self.base / "openclaw.json"

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.base / "home"),
            "OPENCLAW_STATE_DIR": str(self.base / "state"),
            "OPENCLAW_CONFIG_PATH": str(self.config_path),
            "OPENCLAW_BUNDLED_SKILLS_DIR": str(self.base / "no-bundled-skills"),
            "PATH": f"{self.bin_dir}:{SYSTEM_PATH}",
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
        }

    def configure(self, skills: dict[str, Any], **extra: Any) -> None:
        """Write openclaw.json: plugins off (no plugin skills), then `skills` and extras."""
        document = {"plugins": {"enabled": False}, "skills": skills, **extra}
        self.config_path.write_text(json.dumps(document, indent=2))

    def openclaw(self, *args: str) -> subprocess.CompletedProcess:
        return run_tool([str(Path(self.bin_dir) / "openclaw"), *args], self.env())

    def openclaw_json(self, *args: str) -> Any:
        """Run `openclaw ... --json`; the parsed stdout. Asserts exit 0 and that no skill was
        skipped ("Skipping invalid skill", "Skipping escaped skill path", ...)."""
        proc = self.openclaw(*args, "--json")
        assert proc.returncode == 0, f"openclaw {args}: rc={proc.returncode}\n{proc.stderr}"
        assert "Skipping" not in proc.stderr + proc.stdout, proc.stderr
        return json.loads(proc.stdout)
