"""The editor's contract with the engine: the Textual side imports the project's door
(`engine.workspace`) and the model, op, time and error types, nothing else of the engine; and
no class in `tui/` is a mixin.

The command-line modules (`tui/cli.py` and the `*_cli.py` ones) are the engine's clients by
design and are not part of the editor. `PENDING` names what is still reached past the door;
it may only shrink (a module imported past the door that is not listed fails, and so does a
listed import that is gone, so the list is kept true).
"""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"
CLI = {
    "cli.py",
    "cli_args.py",
    "chat_cli.py",
    "changes_cli.py",
    "edit_cli.py",
    "jobs_cli.py",
    "serve_cli.py",
    "mcp_cli.py",
    "export_cli.py",
    "tts_cli.py",
    "transcribe_cli.py",
    "transcript_cli.py",
    "interchange_cli.py",
    "info.py",
}
ALLOWED = {"engine.workspace", "engine.model", "engine.ops", "engine.timebase", "engine.errors"}
# What is still past the door, by module: nothing since the script panes go through it
# (issue 18). A module that has to reach past it for a while is listed with what it imports.
PENDING: dict[str, set[str]] = {}


def _editor_modules() -> list[Path]:
    return [p for p in sorted(TUI.rglob("*.py")) if p.name not in CLI]


def _engine_imports(path: Path) -> set[str]:
    """Every engine module ``path`` imports, at any level, type-checking blocks included, and
    any named to `importlib.import_module` (a dynamic import is still an import)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        found |= {n for n in names if n == "engine" or n.startswith("engine.")}
    return found


def test_the_editor_reaches_the_engine_only_through_the_door() -> None:
    beyond: dict[str, set[str]] = {}
    used: set[str] = set()
    for path in _editor_modules():
        rel = path.relative_to(TUI.parent).as_posix()
        imports = _engine_imports(path)
        used |= imports
        extra = imports - ALLOWED - PENDING.get(rel, set())
        if extra:
            beyond[rel] = extra
        stale = PENDING.get(rel, set()) - imports
        assert not stale, f"{rel} no longer imports {sorted(stale)}: take it out of PENDING"
    assert beyond == {}, f"past the door: {beyond}"
    pending = set().union(*PENDING.values())
    print(f"engine modules the editor imports: {len(used)} ({len(used - pending)} without PENDING)")
    assert len(used) <= len(ALLOWED) + len(pending)


def test_no_class_in_tui_is_a_mixin() -> None:
    """One base class each (a Textual one, or none): no class carries another's methods into a
    host whose state it has to redeclare."""
    mixed: list[str] = []
    for path in sorted(TUI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [
                b
                for b in node.bases
                if not (isinstance(b, ast.Subscript) and getattr(b.value, "id", "") == "Generic")
                and getattr(b, "id", "") != "Protocol"
            ]
            if len(bases) > 1:
                mixed.append(f"{path.relative_to(TUI.parent)}:{node.lineno} {node.name}")
    assert mixed == []
