"""The real `reelcut` binary in real tmux: open the demo, read the screen, quit."""

from __future__ import annotations

import os
import signal
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
    assert "reelcut demo" in screen and "duration 00:00:11:00" in screen
    tmux.keys("C-q")
    assert tmux.wait_exit() == 0
    assert "Test pattern" not in tmux.screen()  # alternate screen left: terminal restored
    WriterLock(root).acquire().release()  # the editor let go of the project


def test_sigterm_exits_cleanly(editor: tuple[Tmux, Path]) -> None:
    tmux, root = editor
    tmux.wait_text("Test pattern (audio)", timeout=60)
    os.kill(tmux.command_pid(), signal.SIGTERM)
    assert tmux.wait_exit() == 0
    assert "Test pattern" not in tmux.screen()
    WriterLock(root).acquire().release()
