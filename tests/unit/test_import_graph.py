"""The subpackages of hpcskills import each other without a cycle (read from the source)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "hpcskills"


def imported_modules(tree: ast.AST) -> list[str]:
    """Absolute module names a module imports (relative imports stay inside a package)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def subpackage_graph(root: Path) -> dict[str, set[str]]:
    """subpackage → the other subpackages its modules import."""
    subpackages = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            continue
        for name in imported_modules(ast.parse(path.read_text(), str(path))):
            words = name.split(".")
            inside = words[0] == "hpcskills" and len(words) > 1 and words[1] in subpackages
            if inside and words[1] != parts[0]:
                graph[parts[0]].add(words[1])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_is_read_from_imports(tmp_path: Path) -> None:
    for name, text in {
        "jobs": "from hpcskills.dpdispatcher.transfer import x\n",
        "dpdispatcher": "import hpcskills.jobs.poll\nfrom hpcskills import core\n",
        "core": "",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "m.py").write_text(text)
    graph = subpackage_graph(tmp_path)
    assert graph == {"jobs": {"dpdispatcher"}, "dpdispatcher": {"jobs", "core"}}
    assert find_cycle(graph) == ["dpdispatcher", "jobs", "dpdispatcher"]


def test_no_import_cycle_between_subpackages() -> None:
    graph = subpackage_graph(PACKAGE)
    assert graph["jobs"], "the graph came out empty: the walk is broken"
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"
