"""`clawhub skill publish --dry-run` against a local stub registry: every folder would
publish, and the files it would upload (listed by clawhub's own code, checked against the
fingerprint the dry run reports) hold no tests, caches or secrets. Each folder is published
from a copy with a bytecode cache and a test file planted in it, so the folder's
`.clawhubignore` is what keeps them out."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from realtools import (
    ROUTER,
    SKILLS,
    SYSTEM_PATH,
    run_tool,
    skill_folders,
    stage_router,
    tools,
)

FOLDERS = [*skill_folders(), None]  # None: the router
IDS = [p.name for p in FOLDERS[:-1]] + [ROUTER]

FORBIDDEN_PATH = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|tests?|fixtures|credentials)(/|$)|\.pyc$|(^|/)test_"
    r"|\.(sqlite3?|db|pem|key|log)$|(^|/)(hpc_token|id_ed25519|id_rsa|\.env)$"
)
SECRET_TEXT = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bBearer [A-Za-z0-9._-]{20,}")

# clawhub's own file selection and fingerprint, the functions `skill publish` calls.
LIST_FILES_JS = """
const [publish, skills] = await Promise.all([
  import(process.env.CLAWHUB_PKG + "/dist/cli/commands/publish.js"),
  import(process.env.CLAWHUB_PKG + "/dist/skills.js"),
]);
const files = await publish.prepareSkillFilesForPublish(process.argv[1]);
const hashed = skills.hashSkillFiles(files);
console.log(JSON.stringify({files: files.map((f) => f.relPath).sort(),
                            fingerprint: hashed.fingerprint}));
"""


class StubRegistry(BaseHTTPRequestHandler):
    """Answers the one call a dry run makes: GET /api/v1/resolve (nothing published yet)."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(f"GET {self.path}")
        if self.path.startswith("/api/v1/resolve?"):
            self._reply(200, {"match": None, "latestVersion": None})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        self.requests.append(f"POST {self.path}")
        self._reply(404, {"error": "a dry run must not upload"})

    def _reply(self, status: int, document: dict) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def plant_clutter(folder: Path) -> None:
    """What a working folder accumulates: bytecode caches and tests."""
    cache = folder / "scripts" / "__pycache__"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "_pack.cpython-311.pyc").write_bytes(b"\0")
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "test_it.py").write_text("def test_it():\n    pass\n")


def files_to_publish(folder: Path, paths: dict[str, str], env: dict[str, str]) -> dict:
    proc = run_tool(
        [paths["node"], "--input-type=module", "-e", LIST_FILES_JS, str(folder)],
        {**env, "CLAWHUB_PKG": paths["clawhub_package"]},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("folder", FOLDERS, ids=IDS)
def test_publish_dry_run(folder: Path | None, registry: str, tmp_path: Path) -> None:
    paths = tools()
    source = folder if folder is not None else stage_router(tmp_path / "router")
    folder = tmp_path / "copy" / source.name
    shutil.copytree(source, folder)
    if source.parent == SKILLS:  # the staged router is a lone SKILL.md
        plant_clutter(folder)
    env = {"HOME": str(tmp_path / "home"), "PATH": SYSTEM_PATH, "NO_COLOR": "1"}
    StubRegistry.requests.clear()
    proc = run_tool(
        [
            paths["clawhub"],
            "--no-input",
            "--registry",
            registry,
            "skill",
            "publish",
            str(folder),
            "--dry-run",
            "--json",
        ],
        env,
    )
    assert proc.returncode == 0, f"clawhub publish --dry-run {folder}:\n{proc.stdout}{proc.stderr}"
    result = json.loads(proc.stdout)
    assert result["status"] == "would-publish" and result["slug"] == folder.name
    assert [r.split("?")[0] for r in StubRegistry.requests] == ["GET /api/v1/resolve"]

    listed = files_to_publish(folder, paths, env)
    assert listed["fingerprint"] == result["fingerprint"], "file list differs from the dry run's"
    assert len(listed["files"]) == result["fileCount"]
    assert "SKILL.md" in listed["files"]
    bad = [name for name in listed["files"] if FORBIDDEN_PATH.search(name)]
    assert not bad, f"{folder.name}: tests, caches or secrets would be published: {bad}"
    leaking = [
        name
        for name in listed["files"]
        if SECRET_TEXT.search((folder / name).read_text(errors="replace"))
    ]
    assert not leaking, f"{folder.name}: files that look like they hold secrets: {leaking}"
