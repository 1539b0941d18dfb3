"""The real editor in a tmux left at its own defaults says, once, on its status line, what
those defaults break (escape-time, extended-keys, allow-passthrough: `tui.tmux_settings`);
in a tmux set as the README recommends it says nothing, and the timecode stays in view."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from engine.demo import make_demo
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))
WARNING = "tmux: escape-time 500ms: Esc+key = Alt+key"


def test_tmux_defaults_are_named_on_the_status_line(tmp_path: Path) -> None:
    demo = make_demo(tmp_path / "demo").root
    shutil.copytree(demo, tmp_path / "again")
    tmux = Tmux([REELCUT, "open", str(demo)], options={})
    try:
        tmux.wait_text(WARNING, timeout=60)
        screen = tmux.screen()
        assert "extended-keys off" in screen and "allow-passthrough off" in screen
        assert screen.count("tmux: ") == 1
        tmux.keys("Right")  # a key's own message replaces it; it is not said again
        tmux.wait_for(lambda: "00:00:00:01" in tmux.screen(), "the step")
        tmux.keys("C-b")
        tmux.wait_text("cut ")
        assert "tmux: " not in tmux.screen()
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
    finally:
        tmux.close()
    good = Tmux([REELCUT, "open", str(tmp_path / "again")])
    try:
        good.wait_text("Test pattern (audio)", timeout=60)
        good.keys("Right")
        good.wait_text("00:00:00:01")
        assert "tmux: " not in good.screen()
        good.keys("C-q")
        assert good.wait_exit() == 0
    finally:
        good.close()
