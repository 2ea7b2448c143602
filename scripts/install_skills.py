#!/usr/bin/env python3
"""Install the pack's skills into an OpenClaw workspace (or the shared skills dir).

    python3 scripts/install_skills.py --workspace DIR      # DIR/skills/<name>
    python3 scripts/install_skills.py --global             # ~/.openclaw/skills/<name>

Copies each skill folder (or symlinks it with --link), and the top-level router SKILL.md as
the `hpc-skills` skill; makes sure the `hpc-skills` Python package is importable by the
interpreter the scripts will run with (`python3` on PATH, or --python), installing it from
this checkout with pip unless --no-install; creates the workspace's credentials dir (0700);
and prints the openclaw.json entries still to fill in. It never writes or reads a secret.
Output: one JSON document (exit 0 ok, 2 bad input, 5 the package install failed), or text
with --human.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from hpcskills.skillmeta import FrontmatterError, SkillMeta, load_skill  # noqa: E402

ROUTER_NAME = "hpc-skills"
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")
VERSION_PROBE = "import hpcskills, importlib.metadata as m; print(m.version('hpc-skills'))"


class InstallError(Exception):
    """A failure reported as the JSON error document."""

    def __init__(self, message: str, *, type: str, hint: str, code: int) -> None:
        super().__init__(message)
        self.type, self.hint, self.code = type, hint, code


@dataclass(frozen=True)
class Target:
    """Where skills go, and the workspace whose credentials dir the scripts will use."""

    skills_dir: Path
    workspace: Path
    default_workspace: bool


def resolve_target(args: argparse.Namespace) -> Target:
    """--workspace DIR → DIR/skills; --global → <state dir>/skills with the default workspace."""
    if args.workspace:
        workspace = Path(args.workspace).expanduser().resolve()
        return Target(workspace / "skills", workspace, default_workspace=False)
    state = Path(os.environ.get("OPENCLAW_STATE_DIR") or "~/.openclaw").expanduser().resolve()
    workspace = os.environ.get("OPENCLAW_WORKSPACE") or "~/.openclaw/workspace"
    return Target(state / "skills", Path(workspace).expanduser().resolve(), True)


def pack_skills() -> list[tuple[str, Path]]:
    """(name, source) of every skill folder, then the router (the top-level SKILL.md)."""
    folders = sorted(p for p in (ROOT / "skills").iterdir() if (p / "SKILL.md").is_file())
    return [(p.name, p) for p in folders] + [(ROUTER_NAME, ROOT / "SKILL.md")]


def installed_name(folder: Path) -> str | None:
    """The skill name a folder's SKILL.md declares, or None."""
    try:
        return load_skill(folder).name
    except (OSError, FrontmatterError):
        return None


def clear_destination(dest: Path, name: str) -> None:
    """Remove a previous install of skill `name` at dest; refuse to replace anything else."""
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.is_dir():
        if installed_name(dest) != name:
            raise InstallError(
                f"{dest} exists and is not the {name} skill",
                type="destination_occupied",
                hint="move it away, or install into another workspace",
                code=2,
            )
        shutil.rmtree(dest)


def install_one(name: str, source: Path, skills_dir: Path, link: bool) -> Path:
    """Copy or symlink one skill; the router is always a copy (a folder holding SKILL.md)."""
    dest = skills_dir / name
    clear_destination(dest, name)
    if source.is_file():
        dest.mkdir(parents=True)
        shutil.copy2(source, dest / "SKILL.md")
    elif link:
        dest.symlink_to(source, target_is_directory=True)
    else:
        shutil.copytree(source, dest, ignore=COPY_IGNORE)
    return dest


def package_version(python: str) -> str | None:
    """The hpc-skills version importable by `python`, or None."""
    proc = subprocess.run(
        [python, "-c", VERSION_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def ensure_package(python: str, install: bool, editable: bool) -> dict[str, Any]:
    """Check the package for `python`; pip-install this checkout when missing and allowed."""
    command = [python, "-m", "pip", "install", "--quiet", *(["-e"] if editable else []), str(ROOT)]
    version = package_version(python)
    if version:
        return {"python": python, "package": "present", "version": version}
    if not install:
        return {"python": python, "package": "missing", "install_command": command}
    print(f"installing hpc-skills for {python}: {' '.join(command)}", file=sys.stderr)
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    version = package_version(python)
    if proc.returncode != 0 or not version:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
        raise InstallError(
            f"pip could not install hpc-skills for {python}: {' / '.join(tail)}",
            type="package_install_failed",
            code=5,
            hint="use a virtual environment (python3 -m venv ~/.venvs/hpc-skills) and rerun "
            "with --python ~/.venvs/hpc-skills/bin/python3 (put that python3 first on the "
            "agent's PATH), or install the package yourself and pass --no-install",
        )
    return {"python": python, "package": "installed", "version": version}


def ensure_credentials_dir(workspace: Path) -> Path:
    """`workspace/credentials`, created or tightened to 0700; its files are never opened."""
    path = workspace / "credentials"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def read_skill(folder: Path) -> SkillMeta:
    """The installed skill's frontmatter, or exit 2 when the pack's reader cannot parse it."""
    try:
        return load_skill(folder)
    except FrontmatterError as exc:
        raise InstallError(
            f"{folder / 'SKILL.md'}: {exc}",
            type="skill_invalid",
            hint="frontmatter fields must be one-line 'key: value'; metadata one-line JSON",
            code=2,
        ) from None


def placeholder(meta: SkillMeta, var: str) -> str:
    """`<your ...>` text for an env var, from its envVars description when there is one."""
    described = {v["name"]: v.get("description") for v in meta.openclaw.get("envVars", [])}
    text = (described.get(var) or var).split(" (")[0]
    return f"<your {text}>"


def openclaw_entries(metas: list[SkillMeta], target: Target, link: bool) -> dict[str, Any]:
    """The openclaw.json fragment the user still has to fill (placeholders, never values)."""
    entries: dict[str, Any] = {}
    for meta in metas:
        entry: dict[str, Any] = {}
        if meta.primary_env:
            entry["apiKey"] = placeholder(meta, meta.primary_env)
        env = {v: placeholder(meta, v) for v in meta.required_env if v != meta.primary_env}
        if not target.default_workspace and "OPENCLAW_WORKSPACE" in meta.declared_env:
            env["OPENCLAW_WORKSPACE"] = str(target.workspace)
        if env:
            entry["env"] = env
        if entry:
            entries[meta.name] = entry
    skills: dict[str, Any] = {"entries": entries}
    if link and not target.default_workspace:
        skills["load"] = {"allowSymlinkTargets": [str(ROOT / "skills")]}
    return {"skills": skills}


def notes(metas: list[SkillMeta], credentials: Path) -> list[str]:
    """What the user should know about where each secret lives."""
    lines = [
        "Merge the openclaw_json fragment into ~/.openclaw/openclaw.json (or "
        "$OPENCLAW_CONFIG_PATH) yourself and replace each <your ...> placeholder; "
        'apiKey may instead be a SecretRef {"source": "env", "provider": "default", '
        '"id": "VAR"} so the key stays in your environment.',
        f"SJTU HPC tokens and SSH certificates are written by the scripts into {credentials} "
        "(0700, files 0600); the SJTU password never goes into openclaw.json: give it to "
        "req_token.py as a file (--textfile) or on stdin, never in the chat.",
    ]
    optional = sorted({v for meta in metas for v in meta.optional_env})
    if optional:
        lines.append("Optional settings (env or skills.entries.<name>.env): " + ", ".join(optional))
    return lines


def install(args: argparse.Namespace) -> dict[str, Any]:
    """Do the whole installation; the `data` of the output document."""
    target = resolve_target(args)
    python = shutil.which(args.python or "python3")
    if not python:
        raise InstallError(
            f"no interpreter {args.python or 'python3'} found",
            type="no_python",
            hint="pass --python PATH (an executable Python 3.10+)",
            code=2,
        )
    target.skills_dir.mkdir(parents=True, exist_ok=True)
    installed = [
        (name, install_one(name, source, target.skills_dir, args.link))
        for name, source in pack_skills()
    ]
    metas = [read_skill(path) for _, path in installed]
    credentials = ensure_credentials_dir(target.workspace)
    return {
        "skills_dir": str(target.skills_dir),
        "mode": "link" if args.link else "copy",
        "skills": [{"name": name, "path": str(path)} for name, path in installed],
        "skipped": [p.name for p in (ROOT / "skills").iterdir() if not (p / "SKILL.md").is_file()],
        "package": ensure_package(python, not args.no_install, editable=args.link),
        "credentials_dir": str(credentials),
        "openclaw_json": openclaw_entries(metas, target, args.link),
        "notes": notes(metas, credentials),
    }


def render_human(data: dict[str, Any]) -> str:
    """The result as text for a person at a shell."""
    package = data["package"]
    status = package["package"] + (f" {package['version']}" if package.get("version") else "")
    lines = [f"installed ({data['mode']}) into {data['skills_dir']}:"]
    lines += [f"  {skill['name']:<14} {skill['path']}" for skill in data["skills"]]
    if data["skipped"]:
        lines.append("skipped (no SKILL.md): " + ", ".join(data["skipped"]))
    lines.append(f"hpc-skills package for {package['python']}: {status}")
    if package.get("install_command"):
        lines.append("  install it: " + " ".join(package["install_command"]))
    lines.append(f"credentials dir: {data['credentials_dir']} (0700)")
    lines.append("openclaw.json entries to fill in:")
    lines.append(json.dumps(data["openclaw_json"], indent=2, ensure_ascii=False))
    return "\n".join(lines + [f"- {note}" for note in data["notes"]])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", metavar="DIR", help="install into DIR/skills")
    where.add_argument(
        "--global",
        dest="global_",
        action="store_true",
        help="install into ~/.openclaw/skills ($OPENCLAW_STATE_DIR/skills)",
    )
    parser.add_argument(
        "--link",
        action="store_true",
        help="symlink the folders to this checkout (and pip install -e)",
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter the scripts run with (default: python3 on PATH)",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="only check the hpc-skills package, never pip install it",
    )
    parser.add_argument("--human", action="store_true", help="print text instead of JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = install(args)
    except InstallError as exc:
        error = {"type": exc.type, "message": str(exc), "hint": exc.hint, "retryable": False}
        print(json.dumps({"ok": False, "error": error}))
        return exc.code
    print(render_human(data) if args.human else json.dumps({"ok": True, "data": data}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
