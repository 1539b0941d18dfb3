"""`reelcut changes`: list, show, diff, apply and revert from the command line, in subprocesses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.changes.ledger import HashMismatch, Ledger, sha256
from tests.tui.test_cli import reelcut


def propose(root: Path, edits: dict[str, str | None]) -> int:
    async def go() -> int:
        ledger = await Ledger.open(root)
        try:
            cs = await ledger.store.create("agent", "tighten the intro")
            for rel, text in edits.items():
                await ledger.propose(cs, rel, text)
            await ledger.mark_ready(cs)
            return cs
        finally:
            await ledger.close()

    return asyncio.run(go())


def test_review_apply_and_revert_from_the_command_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert reelcut("new", root).returncode == 0
    script = root / "scripts" / "script.md"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("# Intro\nA long, winding opening line.\n")
    cs = propose(root, {"scripts/script.md": "# Intro\nA short opening.\n"})

    listed = reelcut("changes", root, "list")
    assert listed.returncode == 0 and f"{cs}  ready" in listed.stdout
    diff = reelcut("changes", root, "diff", str(cs))
    assert "-A long, winding opening line.\n+A short opening.\n" in diff.stdout
    shown = json.loads(reelcut("changes", root, "show", str(cs), "--json").stdout)
    assert shown["status"] == "ready" and shown["files"][0]["path"] == "scripts/script.md"

    assert reelcut("changes", root, "apply", str(cs)).returncode == 0
    assert script.read_text() == "# Intro\nA short opening.\n"

    # The user edits the file afterwards: revert must not clobber it.
    script.write_text("# Intro\nA short opening. Mine now.\n")
    res = reelcut("changes", root, "revert", str(cs))
    assert res.returncode == HashMismatch.exit_code
    applied = sha256(b"# Intro\nA short opening.\n")
    assert f"expected {applied}" in res.stderr
    assert f"actual   {sha256(script.read_bytes())}" in res.stderr
    assert "Traceback" not in res.stderr
    assert script.read_text() == "# Intro\nA short opening. Mine now.\n"

    assert reelcut("changes", root, "revert", str(cs), "--force").returncode == 0
    assert script.read_text() == "# Intro\nA long, winding opening line.\n"


def test_unknown_changeset_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    assert reelcut("new", root).returncode == 0
    res = reelcut("changes", root, "apply", "42")
    assert res.returncode == 10
    assert res.stderr.strip() == "reelcut: no changeset 42; `reelcut changes DIR list` shows them"
