"""ClawHub-style static rules over the pack's own files; each rule returns exact findings.

Scanned: Markdown (README.md, SKILL.md, credentials.example/, and every .md under skills/,
src/, scripts/), Python under src/, skills/ and scripts/, and the shell tools in scripts/.
Test code and fixtures are exempt (`tests/`, `fixtures/`, `__tests__/`, `*.test.*`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hpcskills.skillmeta import FrontmatterError, load_skill

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "hpcskills"
EXEMPT_PARTS = {"tests", "fixtures", "__tests__", "__pycache__", ".venv", ".tools"}


@dataclass(frozen=True)
class Finding:
    """One broken rule at one place."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}: {self.message}"


def exempt(path: Path, root: Path) -> bool:
    """Test code and fixtures may hold fake secrets and odd examples."""
    parts = path.relative_to(root).parts
    return bool(EXEMPT_PARTS & set(parts)) or ".test." in path.name


def markdown_files(root: Path = ROOT) -> list[Path]:
    """Every Markdown document an agent or a user reads."""
    found = [root / "README.md", root / "SKILL.md", *root.glob("credentials.example/*.md")]
    for top in ("skills", "src", "scripts"):
        found += (root / top).rglob("*.md")
    return sorted(p for p in set(found) if p.is_file() and not exempt(p, root))


def python_files(root: Path = ROOT) -> list[Path]:
    """Every Python file of the package, the skill folders and the pack tooling."""
    found = [p for top in ("src", "skills", "scripts") for p in (root / top).rglob("*.py")]
    return sorted(p for p in found if not exempt(p, root))


def shell_files(root: Path = ROOT) -> list[Path]:
    """Extension-less tools in scripts/ (bash)."""
    scripts = root / "scripts"
    return sorted(p for p in scripts.iterdir() if p.is_file() and not p.suffix)


def grep(paths: Iterable[Path], pattern: re.Pattern[str], message: str) -> list[Finding]:
    """A finding for every line matching `pattern`."""
    return [
        Finding(path, number, f"{message}: {line.strip()[:120]}")
        for path in paths
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]


SECRET_FLAG = re.compile(
    r"--(?:password|passwd|pass|token|access[-_]?key|api[-_]?key|secret(?:[-_]key)?"
    r"|private[-_]key)[ =]+[^\s-]",
    re.IGNORECASE,
)
SECRET_ENV_PREFIX = re.compile(
    r"\b[A-Z][A-Z0-9_]*(?:KEY|TOKEN|PASSWORD|PASSWD|SECRET)[A-Z0-9_]*=\S+\s+"
    r"(?:\S+/)?(?:python3?|bash|sh|node|uv|\S+\.py)\b"
)
SECRET_OTHER = re.compile(
    r"sshpass\s+-p|\b(?:curl|wget|http)\b.*(?:Authorization:|accessKey=|access_key=|token=)",
    re.IGNORECASE,
)


def secret_on_argv(paths: Iterable[Path]) -> list[Finding]:
    """Markdown examples that put a secret on a command line (argv or inline env)."""
    paths = list(paths)
    return (
        grep(paths, SECRET_FLAG, "secret passed as a command-line flag")
        + grep(paths, SECRET_ENV_PREFIX, "secret set inline before a command")
        + grep(paths, SECRET_OTHER, "secret on a command line")
    )


def insecure_tls(paths: Iterable[Path]) -> list[Finding]:
    return grep(paths, re.compile(r"verify\s*=\s*False"), "TLS verification turned off")


def uses_eval(paths: Iterable[Path]) -> list[Finding]:
    return grep(paths, re.compile(r"(?<![\w.])eval\("), "eval( call")


def pipe_to_shell(paths: Iterable[Path]) -> list[Finding]:
    pattern = re.compile(r"\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b")
    return grep(paths, pattern, "download piped into a shell")


MEMORY_WORDING = re.compile(
    r"\b(?:remember|memori[sz]e)\b[^.\n]{0,30}\b(?:token|password|key|secret|credential)"
    r"|\b(?:save|store|keep|write|put)\b[^.\n]{0,30}\b(?:token|password|key|secret|credential)s?"
    r"\b[^.\n]{0,30}\b(?:memory|memories|MEMORY\.md|notes|chat|conversation)\b",
    re.IGNORECASE,
)


def memory_wording(paths: Iterable[Path]) -> list[Finding]:
    return grep(paths, MEMORY_WORDING, "tells the agent to remember a secret")


RM_CONFIG = re.compile(
    r"\brm\s+-\w*[rR]\w*\b.*(?:\.openclaw|\.config|\.ssh|credentials|\$HOME|~(?:/|\s|$))"
)


def rm_config_dirs(paths: Iterable[Path]) -> list[Finding]:
    """`rm -rf` on a config dir, unless a line just before asks the user to confirm."""
    findings = []
    for path in paths:
        lines = path.read_text(errors="replace").splitlines()
        for index, line in enumerate(lines):
            before = " ".join(lines[max(0, index - 2) : index]).lower()
            if RM_CONFIG.search(line) and "confirm" not in before:
                findings.append(Finding(path, index + 1, f"rm -r on a config dir: {line.strip()}"))
    return findings


B64_ENCODE = re.compile(r"b64encode|base64\.encode|encodebytes|urlsafe_b64encode")
FILE_READ = re.compile(r"read_bytes\(|\.read\(|\bopen\(")
HTTP_POST = re.compile(r"\.post\(|[\"']POST[\"']")


def base64_then_post(paths: Iterable[Path]) -> list[Finding]:
    """A file that reads a file, base64-encodes and POSTs (the exfiltration pattern)."""
    findings = []
    for path in paths:
        text = path.read_text(errors="replace")
        if FILE_READ.search(text) and HTTP_POST.search(text):
            findings += grep([path], B64_ENCODE, "base64 of a file read and POSTed in one file")
    return findings


# ------------------------------------------------------------------ env vars read in code

ENV_CALLS = {"get", "getenv", "setdefault", "pop"}
ENV_NAME_SUFFIXES = ("_ENV", "_VAR", "_VARS", "_ENVS")
AUTO_CONFIRM = re.compile(r"CONFIRM|(?:^|_)YES$|SKIP|FORCE|NO_?PROMPT", re.IGNORECASE)


@dataclass(frozen=True)
class EnvRead:
    """An env var name read at path:line."""

    name: str
    path: Path
    line: int


def _constants(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Module-level names bound to a string or a tuple/list of strings."""
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            strings = _strings(value, {})
            if strings:
                found[target.id] = strings
    return found


def _strings(node: ast.AST, constants: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.Name):
        return constants.get(node.id, ())
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(s for element in node.elts for s in _strings(element, constants))
    return ()


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def env_reads(path: Path) -> list[EnvRead]:
    """Env var names a Python file reads: environ.get/[]/in, getenv, click envvar=, and the
    `*_ENV`/`*_VAR(S)` constants of a module that hands os.environ to its own functions."""
    tree = ast.parse(path.read_text(), str(path))
    constants = _constants(tree)
    reads: list[EnvRead] = []
    touches_environ = False

    def add(node: ast.AST, at: ast.AST) -> None:
        reads.extend(EnvRead(n, path, at.lineno) for n in _strings(node, constants))

    for node in ast.walk(tree):
        if _is_environ(node):
            touches_environ = True
        if isinstance(node, ast.Call):
            func = node.func
            is_getenv = isinstance(func, ast.Attribute) and func.attr == "getenv"
            is_environ_call = (
                isinstance(func, ast.Attribute)
                and func.attr in ENV_CALLS
                and _is_environ(func.value)
            )
            if (is_getenv or is_environ_call) and node.args:
                add(node.args[0], node)
            for keyword in node.keywords:
                if keyword.arg == "envvar":
                    add(keyword.value, node)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            add(node.slice, node)
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            add(node.left, node)
    if touches_environ:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
                if name.endswith(ENV_NAME_SUFFIXES) and name in constants:
                    reads.extend(EnvRead(v, path, stmt.lineno) for v in constants[name])
    return reads


def module_path(module: str, package_dir: Path = PACKAGE) -> Path | None:
    """The file of `hpcskills.a.b` (module or package), if it exists."""
    base = package_dir.parent.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, package: str = "hpcskills") -> set[str]:
    """The package's modules a file imports anywhere (with their parent packages)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    modules = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == package:
            modules |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return modules


# Which skills run each subpackage's code (the real layout of src/hpcskills). A skill must
# declare the env reads of the modules its scripts reach by imports, where the walk follows
# only modules of subpackages the skill uses here, or modules a script imports directly.
# So an import chain through another platform's code (e.g. jobs → bohrium) does not demand
# that platform's settings from an unrelated skill.
ALL = "*"
SUBPACKAGE_USERS: dict[str, tuple[str, ...]] = {
    "": (ALL,),  # hpcskills/__init__.py and top-level modules
    "core": (ALL,),
    "ledger": (ALL,),
    "sjtu": ("sjtu-slurm", "hpc-jobs"),
    "ssh": ("sjtu-slurm", "hpc-jobs"),
    "slurm": ("sjtu-slurm", "hpc-jobs"),
    "bohrium": ("bohrium-job", "hpc-jobs"),
    "jobs": ("hpc-jobs",),
    "dpdispatcher": ("hpc-jobs",),
    "perseus": ("hpc-jobs",),
    "sim": (),  # local simulators: demo and tests only
}


def subpackage(path: Path, package_dir: Path = PACKAGE) -> str | None:
    """'core' for src/hpcskills/core/x.py, '' for a top-level module, None outside."""
    if not path.is_relative_to(package_dir):
        return None
    parts = path.relative_to(package_dir).parts
    return parts[0] if len(parts) > 1 else ""


def code_of_skill(skill_dir: Path, package_dir: Path = PACKAGE) -> dict[Path, str]:
    """The files whose env reads a skill must declare, each with the script that first
    reaches it: the skill's scripts, the package modules they import, and what those import
    in turn, following only modules this skill uses (SUBPACKAGE_USERS) or imports directly
    from a script."""

    def used(path: Path, direct: bool) -> bool:
        part = subpackage(path, package_dir)
        users = SUBPACKAGE_USERS.get(part, (ALL,)) if part else (ALL,)
        return direct or ALL in users or skill_dir.name in users

    reached: dict[Path, str] = {}
    queue: list[tuple[Path, str]] = [
        (script, script.name) for script in sorted((skill_dir / "scripts").glob("*.py"))
    ]
    while queue:
        path, via = queue.pop(0)
        if path in reached:
            continue
        reached[path] = via
        from_script = subpackage(path, package_dir) is None
        for module in sorted(imported_modules(path)):
            found = module_path(module, package_dir)
            if found and found not in reached and used(found, from_script):
                queue.append((found, via))
    return reached


def unmapped_subpackages(package_dir: Path = PACKAGE) -> list[str]:
    """Subpackages of src/hpcskills missing from SUBPACKAGE_USERS."""
    found = {p.parent.name for p in package_dir.glob("*/__init__.py")}
    return sorted(found - set(SUBPACKAGE_USERS))


def undeclared_env(skill_dir: Path, package_dir: Path = PACKAGE) -> list[Finding]:
    """Env vars read by a skill's code that its SKILL.md frontmatter does not declare
    (requires.env, envVars or primaryEnv)."""
    skill_md = skill_dir / "SKILL.md"
    try:
        declared = load_skill(skill_dir).declared_env
    except (OSError, FrontmatterError) as exc:
        return [Finding(skill_md, 1, f"cannot read the frontmatter: {exc}")]
    findings = {
        Finding(
            read.path,
            read.line,
            f"{read.name} is read here (reached from {skill_dir.name}/scripts/{via}) but not "
            f"declared in {skill_dir.name}/SKILL.md",
        )
        for path, via in code_of_skill(skill_dir, package_dir).items()
        for read in env_reads(path)
        if read.name not in declared
    }
    return sorted(findings, key=str)


def skill_folders(root: Path = ROOT) -> list[Path]:
    """Folders under skills/ holding a non-hidden file (what a clone of the repository has)."""
    return sorted(
        p
        for p in (root / "skills").iterdir()
        if p.is_dir() and any(f.is_file() and not f.name.startswith(".") for f in p.rglob("*"))
    )


def auto_confirm_env(paths: Iterable[Path]) -> list[Finding]:
    """Env vars that would let the environment skip a confirmation."""
    return [
        Finding(read.path, read.line, f"{read.name} looks like an auto-confirm switch")
        for path in paths
        for read in env_reads(path)
        if AUTO_CONFIRM.search(read.name)
    ]
