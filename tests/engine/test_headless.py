"""The engine is headless: importing all of it pulls in no UI or web framework."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("textual", "rich", "starlette", "tui", "preview_web")

# Imports every module of the engine package in a fresh interpreter, then reports what it
# imported and which forbidden packages came along.
PROBE = textwrap.dedent(
    """
    import importlib
    import json
    import pkgutil
    import sys

    import engine

    forbidden = tuple(sys.argv[1:])
    already = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
    imported = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, "engine."):
        importlib.import_module(info.name)
        imported.append(info.name)
    offenders = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
    print(json.dumps({"already": already, "imported": imported, "offenders": offenders}))
    """
)


def _probe(*forbidden: str) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *forbidden],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout)
    return result


def test_importing_every_engine_module_imports_no_front_end() -> None:
    result = _probe(*FORBIDDEN)

    assert result["already"] == [], "the interpreter started with a front end already imported"
    assert result["offenders"] == [], (
        f"engine imports {result['offenders']}; the engine must stay headless"
    )
    # The walk really covered the engine, subpackages included.
    for module in ("engine.projectfile", "engine.session", "engine.ops", "engine.media.importer"):
        assert module in result["imported"]


def test_the_probe_notices_a_front_end_import() -> None:
    """The same probe flags a package that an engine module does import."""
    assert "msgspec" in _probe("msgspec")["offenders"]
