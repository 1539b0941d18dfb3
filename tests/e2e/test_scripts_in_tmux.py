"""The script panes in the real binary in real tmux (the keys as a terminal sends them): open
four files with Ctrl+O, 2x2; edit and save one; a clean pane follows a change made on disk;
a dirty pane is stopped before it clobbers a newer file (the conflict screen, the disk left
alone); Ctrl+Q asks again while edits are unsaved."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.demo import make_demo
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))

pytestmark = pytest.mark.timeout(180)


def test_four_files_edit_save_follow_and_refuse(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    make_demo(root)
    (root / "scripts" / "notes.md").write_text("Notes\n")
    tmux = Tmux([REELCUT, str(root)], width=160, height=48)
    try:
        tmux.wait_text("Test pattern (audio)", timeout=60)
        for query, title in [
            ("script.md", "1 scripts/script.md"),
            ("scen", "2 scripts/Scenario_TTS.json"),
            ("wfedit", "3 scripts/workflows/editor.json"),
            ("notes", "4 scripts/notes.md"),
        ]:
            tmux.keys("C-o")
            tmux.wait_text("Open file")
            tmux.keys(query)
            tmux.keys("Enter")
            tmux.wait_text(title)
        lines = tmux.screen().splitlines()
        top = next(i for i, line in enumerate(lines) if "1 scripts/script.md" in line)
        bottom = next(
            i for i, line in enumerate(lines) if "3 scripts/workflows/editor.json" in line
        )
        assert "2 scripts/Scenario_TTS.json" in lines[top] and bottom > top  # 2x2
        assert "4 scripts/notes.md" in lines[bottom]

        # Pane 4 (focused, just opened): type, see the dirty marker, save.
        tmux.keys("Home")
        tmux.keys("-l", "Draft: ")
        tmux.wait_text("4 scripts/notes.md ●")
        tmux.keys("C-s")
        tmux.wait_text("saved scripts/notes.md")
        assert (root / "scripts" / "notes.md").read_text() == "Draft: Notes\n"
        assert "4 scripts/notes.md ●" not in tmux.screen()

        # A clean pane follows the disk: pane 1 shows the agent's new first line.
        script = root / "scripts" / "script.md"
        script.write_text(script.read_text().replace("# reelcut demo", "# reelcut demo, cut 2"))
        tmux.wait_text("# reelcut demo, cut 2")
        tmux.wait_text("changed on disk; the pane follows")

        # A dirty pane never writes over a newer file.
        tmux.keys("C-w")
        tmux.wait_text("Pane (Ctrl+W, then)")
        tmux.keys("2")
        tmux.wait_for(lambda: "Pane (Ctrl+W, then)" not in tmux.screen(), "the pane keys to go")
        tmux.keys("C-End")
        tmux.keys("Enter")
        tmux.wait_text("2 scripts/Scenario_TTS.json ●")
        scenario = root / "scripts" / "Scenario_TTS.json"
        theirs = scenario.read_text().replace("Demo dialogue", "Their dialogue")
        scenario.write_text(theirs)
        tmux.wait_text("changed on disk while you edit it")
        tmux.keys("C-s")
        tmux.wait_text("changed on disk while you edited it")  # the conflict screen
        screen = tmux.screen()
        assert "k  keep mine" in screen and "t  take theirs" in screen
        assert "Their dialogue" in screen  # the diff shows what the disk has
        assert scenario.read_text() == theirs
        tmux.keys("Escape")
        tmux.wait_text("conflict left open")
        assert scenario.read_text() == theirs

        # Quitting with that edit unsaved asks first; the second Ctrl+Q quits.
        tmux.keys("C-q")
        tmux.wait_text("unsaved changes in scripts/Scenario_TTS.json")
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
        assert scenario.read_text() == theirs
    finally:
        tmux.close()
