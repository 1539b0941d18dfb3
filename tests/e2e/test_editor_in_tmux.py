"""The real `reelcut` binary in real tmux: open the demo, read the screen, cut with the keys,
quit, and check the result with `reelcut info --json`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.lock import WriterLock
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))


@pytest.fixture
def editor(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    """`reelcut demo DIR` running in a 160x48 tmux pane (the demo is created on the way)."""
    root = tmp_path / "demo"
    tmux = Tmux([REELCUT, "demo", str(root)])
    try:
        yield tmux, root
    finally:
        tmux.close()


def test_demo_opens_and_ctrl_q_quits(editor: tuple[Tmux, Path]) -> None:
    tmux, root = editor
    tmux.wait_text("Test pattern (audio)", timeout=60)
    screen = tmux.screen()
    assert "reelcut demo" in screen and "00:00:00:00" in screen and "snap on" in screen
    tmux.keys("C-q")
    assert tmux.wait_exit() == 0
    assert "Test pattern" not in tmux.screen()  # alternate screen left: terminal restored
    WriterLock(root).acquire().release()  # the editor let go of the project


def test_sigterm_exits_cleanly(editor: tuple[Tmux, Path]) -> None:
    tmux, root = editor
    tmux.wait_text("Test pattern (audio)", timeout=60)
    os.kill(tmux.command_pid(), signal.SIGTERM)
    status = tmux.wait_exit()
    assert status == 0, tmux.screen()
    assert "Test pattern" not in tmux.screen()
    WriterLock(root).acquire().release()


def test_cut_the_demo_with_the_keyboard_alone(editor: tuple[Tmux, Path]) -> None:
    """Two seconds in, blade; select the still and lift it; undo; try a ripple delete the
    engine refuses (its reason on the status line); quit. project.json has the cut and the
    still, and the playhead where it was left."""
    tmux, root = editor
    tmux.wait_text("Test pattern (audio)", timeout=60)
    tmux.keys("S-Right", "S-Right")
    tmux.wait_text("00:00:02:00")
    tmux.keys("C-b")
    tmux.wait_text("cut 4 clip(s) at 00:00:02:00")
    tmux.keys("End", "BTab")
    tmux.wait_text("sel c_15")  # the tone on A2 starts with the still; tracks top down
    tmux.keys("BTab")
    tmux.wait_text("sel c_12")
    tmux.keys("DC")
    tmux.wait_text("lifted")
    tmux.keys("C-z")
    tmux.wait_text("undid")
    tmux.keys("BTab", "BTab")  # the lift dropped it from the selection; pick it again
    tmux.wait_text("sel c_12")
    tmux.keys("BSpace")
    tmux.wait_text("is in the way")
    tmux.keys("C-q")
    assert tmux.wait_exit() == 0
    info = json.loads(
        subprocess.run(
            [REELCUT, "info", str(root), "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    text = json.dumps(info)
    assert text.count('"id": "c_') == 10  # six clips, four of them cut in two
    assert '"c_12"' in text
    assert ProjectDirEditor(root).playhead == 329  # End: the last frame


class ProjectDirEditor:
    def __init__(self, root: Path) -> None:
        from engine.session import read_view

        view = read_view(root)  # the view is saved in the state database, not project.json
        self.playhead = view.playhead if view is not None else 0
