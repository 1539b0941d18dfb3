"""The engine's modules import each other without cycles, read from the source (ast), so a
module can be understood, tested and loaded after the ones it uses.

A module's imports are the ones that run when it is loaded: statements in its body, in a
top-level ``if`` or ``try`` too, but not under ``if TYPE_CHECKING:`` (never run). An import
inside a function is allowed to defer a heavy module, never to dodge a cycle: among the JSON
checkers (`engine.jsoncheck`, `engine.filechecks` and the owners of the formats) a deferred
import counts as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# The strict-JSON checker, the module that says which file has which format, the owners of
# those formats, and the modules that read files through them.
JSON_CHECKS = frozenset(
    {
        "engine.jsoncheck",
        "engine.filechecks",
        "engine.scripts",
        "engine.workflows",
        "engine.scenario",
        "engine.agent.pricing",
        "engine.changes.checks",
    }
)


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package at ``package`` by its dotted name (a package by its own)."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runs_on_load(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported, except TYPE_CHECKING blocks."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(reversed(node.orelse))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
            for handler in getattr(node, "handlers", []):
                inner.extend(handler.body)
            stack.extend(reversed(inner))
        else:
            yield node


def _targets(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool, known: set[str]
) -> Iterator[str]:
    """The modules of ``known`` that one import statement in module ``name`` loads.

    ``from a import b`` loads ``a.b`` when that is a module, else ``a``. The parent packages
    Python runs first are left out: the ``__init__`` that re-exports its children
    (`engine.tools`, `engine.ops`) would make every child a cycle with it.
    """
    if isinstance(node, ast.Import):
        for alias in node.names:
            dotted = alias.name
            while dotted and dotted not in known:
                dotted = dotted.rpartition(".")[0]
            if dotted:
                yield dotted
        return
    base = node.module or ""
    if node.level:
        here = name.split(".") if is_package else name.split(".")[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = ".".join([*here, *([node.module] if node.module else [])])
    for alias in node.names:
        child = f"{base}.{alias.name}"
        if child in known:
            yield child
        elif base in known:
            yield base


def import_graph(package: Path, *, deferred: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Module -> the package's modules it imports on load; for the modules in ``deferred``, the
    imports inside their functions too."""
    found = modules(package)
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        statements = ast.walk(tree) if name in deferred else _runs_on_load(tree)
        graph[name] = {
            target
            for node in statements
            if isinstance(node, ast.Import | ast.ImportFrom)
            for target in _targets(node, name, path.name == "__init__.py", known)
            if target != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other (strongly connected, more than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is ~100 modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_engine_has_no_import_cycle() -> None:
    graph = import_graph(REPO / "engine")
    assert set(graph) >= JSON_CHECKS  # the walk saw the modules this file is about
    assert cycles(graph) == []


def test_the_json_checks_do_not_dodge_a_cycle_with_a_deferred_import() -> None:
    graph = import_graph(REPO / "engine", deferred=JSON_CHECKS)
    assert [group for group in cycles(graph) if JSON_CHECKS & set(group)] == []


def test_the_strict_json_checker_imports_no_owner_of_a_format() -> None:
    """`engine.jsoncheck` is the bottom of the JSON checks: it imports no engine module at all,
    even inside a function."""
    graph = import_graph(REPO / "engine", deferred=JSON_CHECKS)
    assert graph["engine.jsoncheck"] == set()


def test_the_probe_finds_cycles_and_skips_what_does_not_run(tmp_path: Path) -> None:
    """The same walk over a made-up package: a top-level cycle through a relative import, a
    cycle closed only inside a function, and an import only type checkers see."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg.sub import b\n",
        "sub/__init__.py": "",
        "sub/b.py": "from .. import a\n",
        "c.py": "import pkg.d\n",
        "d.py": "def f():\n    from pkg import c\n",
        "e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.f\n",
        "f.py": "try:\n    import pkg.e\nexcept ImportError:\n    pass\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)

    graph = import_graph(pkg)
    assert graph["pkg.sub.b"] == {"pkg.a"} and graph["pkg.f"] == {"pkg.e"}
    assert graph["pkg.e"] == set() and graph["pkg.d"] == set()
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert cycles(import_graph(pkg, deferred=frozenset({"pkg.d"}))) == [
        ["pkg.a", "pkg.sub.b"],
        ["pkg.c", "pkg.d"],
    ]
