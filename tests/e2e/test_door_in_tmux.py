"""The editor open in real tmux while another terminal works on the same project through its
door: `reelcut edit DIR blade` shows in the editor and Ctrl+Z there undoes it; a changeset
applied with `reelcut changes DIR apply` updates the open script pane; `reelcut import` adds a
clip; the editor quits cleanly and its socket is gone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.control import Client, socket_path
from engine.demo import make_demo
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))

pytestmark = pytest.mark.timeout(180)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([REELCUT, *args], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res


def test_another_terminal_edits_the_open_project(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    make_demo(root)
    tmux = Tmux([REELCUT, str(root)], width=200, height=60)
    try:
        tmux.wait_text("Test pattern (audio)", timeout=60)
        deadline = time.monotonic() + 30
        while (client := Client.connect(root)) is None:
            assert time.monotonic() < deadline, "the editor never opened its door"
            time.sleep(0.05)
        client.close()

        # An edit from another terminal shows here...
        started = time.monotonic()
        run("edit", str(root), "blade", "--at", "45")
        tmux.wait_text("from another terminal: cut 3 clip(s) at 00:00:01:15")
        print(f"edit to screen: {(time.monotonic() - started) * 1000:.0f} ms (incl. start-up)")
        # ...and undoes here (the timeline has the focus).
        tmux.keys("C-z")
        tmux.wait_text("undid: cut 3 clip(s) at 00:00:01:15")
        history = json.loads(run("history", str(root), "--json").stdout)
        assert [(s["author"], s["undone"]) for s in history] == [("cli", True)]

        # A changeset applied from another terminal reaches the open pane.
        tmux.keys("C-o")
        tmux.wait_text("Open file")
        tmux.keys("script.md")
        tmux.keys("Enter")
        tmux.wait_text("1 scripts/script.md")
        made = run(
            "tool",
            str(root),
            "text_insert_lines",
            '{"path": "scripts/script.md", "after": 0, "text": "From the other terminal"}',
        )
        cs = json.loads(made.stdout)["changeset"]
        run("changes", str(root), "apply", str(cs))
        tmux.wait_for(lambda: "1  From the other terminal" in tmux.screen(), "the pane to follow")

        # An import through the door: the clip is on the timeline.
        clip = tmp_path / "clip.mp4"
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=30",
                "-t",
                "1",
                "-pix_fmt",
                "yuv420p",
                str(clip),
            ],
            check=True,
        )
        out = run("import", str(root), str(clip))
        assert "imported as" in out.stdout
        tmux.wait_text("from another terminal: imported 1 file(s)")
        tmux.wait_text("clip")  # the new clip's name on the timeline

        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
        assert not socket_path(root).exists()  # the door closed with the editor
    finally:
        tmux.close()
    # Closed: the same commands open the project themselves.
    assert "cut" in run("edit", str(root), "blade", "--at", "45").stdout
