"""The span-exact line writes (`tui.span_writes`, Textual issue #5625): a partial update puts
the same characters on the terminal as Textual's own, writing only the dirty span; a line with
wide characters is written Textual's way."""

from __future__ import annotations

import re
import subprocess
import sys

from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
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
    assert LayoutUpdate.render_segments is span_writes.render_layout


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


SGR_OR_MOVE = re.compile(r"\x1b\[([0-9;]*)([mH])")


def cells(data: str, width: int = 20, height: int = 3) -> dict[tuple[int, int], tuple[str, str]]:
    """A minimal terminal that keeps styles: each written cell's character and the SGR codes
    in force there, normalised (what was set since the last reset)."""
    out: dict[tuple[int, int], tuple[str, str]] = {}
    y = x = 0
    codes: list[str] = []
    pos = 0
    while pos < len(data):
        m = SGR_OR_MOVE.match(data, pos)
        if m:
            pos = m.end()
            if m.group(2) == "H":
                y, x = int(m.group(1).split(";")[0]) - 1, int(m.group(1).split(";")[1]) - 1
                continue
            for code in (m.group(1) or "0").split(";"):
                codes = [] if code == "0" else [*codes, code]
            continue
        ch = data[pos]
        pos += 1
        if ch == "\n":
            continue
        out[(y, x)] = (ch, ";".join(codes))
        x += 1
    return out


def column_update() -> ChopsUpdate:
    """A playhead-like column over three lines (one style) beside a span of another style."""
    ph, clip = Style(color="red", bgcolor="blue"), Style(color="white", bgcolor="green", bold=True)
    chops = [
        {0: Strip([Segment("aaaa", clip), Segment("┃", ph), Segment("bbbbbbbbbbbbbbb", clip)])}
        for _ in range(3)
    ]
    return ChopsUpdate(chops, [(0, 2, 6), (1, 4, 5), (2, 4, 5)], [[20]] * 3)


def test_runs_of_one_style_are_written_once_and_reset_once() -> None:
    """A style's SGR goes out when the style changes (not per segment), one reset ends the
    update, and every cell shows the same character in the same style as Textual wrote it."""
    for system in ("256", "truecolor"):
        console = Console(color_system=system, width=20, force_terminal=True)
        update = column_update()
        assert span_writes.ORIGINAL is not None
        theirs, ours = (
            span_writes.ORIGINAL(update, console),
            span_writes.render_segments(update, console),
        )
        ours_cells = cells(ours)
        for at, cell in ours_cells.items():
            assert cells(theirs)[at] == cell
        assert sorted(ours_cells) == [(0, 2), (0, 3), (0, 4), (0, 5), (1, 4), (2, 4)]
        sgr = re.findall(r"\x1b\[[0-9;]*m", ours)
        # clip, playhead (row 0), clip again (row 0), playhead (rows 1 and 2 share it), reset
        assert len(sgr) == 5, sgr
        assert ours.count("\x1b[0m") == 1 and ours.endswith("\x1b[0m")
        assert len(ours) < len(theirs)


def test_a_whole_repaint_is_written_as_runs_too() -> None:
    console = Console(color_system="256", width=20, force_terminal=True)
    style = Style(color="red")
    strips = [
        [Strip([Segment("ab", style), Segment("cd", style), Segment("ef")])] for _ in range(3)
    ]
    update = LayoutUpdate(strips, Region(0, 0, 6, 3))
    assert span_writes.ORIGINAL_LAYOUT is not None
    theirs, ours = (
        span_writes.ORIGINAL_LAYOUT(update, console),
        span_writes.render_layout(update, console),
    )
    assert cells(ours) == cells(theirs)
    assert ours.count("\x1b[0m") == 3  # back to plain text before "ef" on each line
    assert len(re.findall(r"\x1b\[[0-9;]*m", ours)) == 6  # red once per line, then plain


def test_a_linked_style_keeps_its_link() -> None:
    console = Console(color_system="256", width=20, force_terminal=True)
    link = Style(color="red", link="https://example.invalid/")
    update = LayoutUpdate(
        [[Strip([Segment("ab", Style(bold=True)), Segment("cd", link)])]], Region(0, 0, 4, 1)
    )
    ours = span_writes.render_layout(update, console)
    assert "\x1b]8;id=" in ours and ours.endswith("\x1b]8;;\x1b\\")
    assert {
        k: v[0] for k, v in cells(re.sub(r"\x1b\]8;[^\x1b]*\x1b\\", "", ours), 4, 1).items()
    } == {(0, 0): "a", (0, 1): "b", (0, 2): "c", (0, 3): "d"}


def test_half_blocks_of_one_colour_are_written_as_spaces_in_it() -> None:
    """A ``▀`` whose two halves are one colour on the terminal is a space in that background
    (half the colour sequence); in 256 colours that includes colours the palette cannot tell
    apart. Two colours the terminal shows apart, or a styled cell, stay half blocks."""
    near_a, near_b = Color.from_rgb(10, 200, 30), Color.from_rgb(12, 198, 33)  # one 256 index
    apart = Color.from_rgb(200, 10, 30)
    strip = Strip(
        [
            Segment("▀▀", Style(color=near_a, bgcolor=near_b)),
            Segment("▀", Style(color=apart, bgcolor=near_b)),
            Segment("▀", Style(color=near_a, bgcolor=near_a, underline=True)),
            Segment("▀", Style(color=near_a, bgcolor=near_a)),
        ]
    )
    for system, first in (("256", "  "), ("truecolor", "▀▀")):
        pen = span_writes.Pen(Console(color_system=system, force_terminal=True))
        pen.strip(strip)
        written = pen.finish()
        text = SGR.sub("", written)
        assert text == f"{first}▀▀ ", (system, written)
        if system == "256":
            assert written.startswith("\x1b[48;5;40m  "), written  # the background alone
