"""The span-exact line writes (`tui.span_writes`, Textual issue #5625): a partial update puts
the same characters on the terminal as Textual's own, writing only the dirty span; a line with
wide characters is written Textual's way."""

from __future__ import annotations

import re
import subprocess
import sys

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from tui import span_writes

MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
SGR = re.compile(r"\x1b\[[0-9;]*m")


def apply(screen: list[list[str]], data: str) -> list[list[str]]:
    """A minimal terminal: cursor moves (CSI row;col H) and printable text, styles dropped."""
    out = [row[:] for row in screen]
    y = x = 0
    pos = 0
    data = SGR.sub("", data)
    while pos < len(data):
        m = MOVE.match(data, pos)
        if m:
            y, x = int(m.group(1)) - 1, int(m.group(2)) - 1
            pos = m.end()
            continue
        ch = data[pos]
        pos += 1
        if ch == "\n":
            continue
        out[y][x] = ch
        x += 1
    return out


def update(lines: list[str], spans: list[tuple[int, int, int]]) -> ChopsUpdate:
    style = Style(color="red")
    chops = [{0: Strip([Segment(line[:5], style), Segment(line[5:])])} for line in lines]
    return ChopsUpdate(chops, spans, [[len(line)] for line in lines])


def test_the_same_screen_from_fewer_bytes() -> None:
    console = Console(color_system="truecolor", width=20, force_terminal=True)
    before = [list("....................") for _ in range(3)]
    lines = ["abcdefghijklmnopqrst", "ABCDEFGHIJKLMNOPQRST", "0123456789abcdefghij"]
    chops = update(lines, [(0, 12, 13), (1, 3, 5), (2, 0, 20)])
    assert span_writes.ORIGINAL is not None
    textual = span_writes.ORIGINAL(chops, console)  # Textual's own method
    ours = span_writes.render_segments(chops, console)
    assert len(ours) < len(textual)
    # Where the spans are, both put the new characters; ours leaves the rest alone.
    theirs_screen, our_screen = apply(before, textual), apply(before, ours)
    for y, x1, x2 in chops.spans:
        assert our_screen[y][x1:x2] == theirs_screen[y][x1:x2] == list(lines[y][x1:x2])
    assert "".join(our_screen[0]) == "............m......."
    assert "".join(our_screen[1]) == "...DE..............."
    assert "".join(our_screen[2]) == lines[2]


def test_a_line_with_wide_characters_is_written_from_its_start() -> None:
    console = Console(color_system="truecolor", width=20, force_terminal=True)
    chops = ChopsUpdate([{0: Strip([Segment("漢字abcdefghijklmnop")])}], [(0, 10, 11)], [[20]])
    assert span_writes.ORIGINAL is not None
    assert span_writes.render_segments(chops, console) == span_writes.ORIGINAL(chops, console)


def test_install_patches_textual_once() -> None:
    assert span_writes.install() and span_writes.install()
    assert ChopsUpdate.render_segments is span_writes.render_segments


def test_importing_the_editor_changes_nothing_in_textual() -> None:
    """The patch is installed by `run_editor`, not as a side effect of an import (a test or a
    tool that imports `tui.app` gets Textual as shipped)."""
    code = (
        "from textual._compositor import ChopsUpdate\n"
        "before = ChopsUpdate.render_segments\n"
        "import tui.app\n"
        "assert ChopsUpdate.render_segments is before, 'patched on import'\n"
        "from textual.app import App\n"
        "class Quit(App):\n"
        "    def on_mount(self):\n"
        "        self.exit(0)\n"
        "tui.app.run_editor(Quit(), headless=True)\n"
        "from tui import span_writes\n"
        "assert ChopsUpdate.render_segments is span_writes.render_segments, 'not installed'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
