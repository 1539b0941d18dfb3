"""Write only the dirty span of a partly changed line (a workaround for Textual issue #5625).

Textual 8's `ChopsUpdate.render_segments` writes each dirty line of a widget from the widget's
left edge to the end of the dirty span: it crops the end and not the start. On the timeline a
one-frame playhead move dirties two cells per row, and Textual rewrote half the screen for it,
which is what an SSH link carries (`bench/bench_timeline.py`, "written").

`install` replaces that method with one that crops both ends, so a move writes the cells that
changed. A line holding wide (double-cell) characters keeps the old behaviour: a crop could
split one of them. The original is used unchanged if Textual's `ChopsUpdate` does not have the
shape this was written against (it is a private class), so a Textual upgrade falls back to
correct, if larger, output rather than breaking the screen.

Both kinds of update (a partial one and a whole repaint, `LayoutUpdate`) are also written as
styled runs (`Pen`): a style's SGR sequence goes out only when the style changes, and one
reset ends the update. Textual writes every segment as ``ESC[codes m text ESC[0m``, so a
column of playhead cells, or a row of filmstrip cells, paid a full colour sequence and a reset
per cell (``ESC[38;5;253;48;5;16m ESC[0m``, about 20 bytes around one cell; 40 in
truecolor), which is most of what playback sent over SSH (`bench/bench_terminal_output.py`).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.console import Console
from rich.control import Control
from rich.style import Style
from textual.strip import Strip

try:
    from textual._compositor import ChopsUpdate, LayoutUpdate
except ImportError:  # pragma: no cover - a Textual without them: nothing to patch
    ChopsUpdate = LayoutUpdate = None  # type: ignore[assignment,misc]

_installed = False
# Textual's own methods, kept for comparison (tests) before `install` replaces them.
ORIGINAL = ChopsUpdate.render_segments if ChopsUpdate is not None else None
ORIGINAL_LAYOUT = LayoutUpdate.render_segments if LayoutUpdate is not None else None
RESET = "\x1b[0m"
HALF_BLOCK = "▀"
_PLAIN = Style()


class Pen:
    """Writes strips as styled runs: the SGR sequence of a style only when it differs from the
    one in force (switching with ``ESC[0;codes m``, so no attribute of the last style leaks
    into the next), and one reset at the end (``finish``). A style with a link is written
    Textual's way (its OSC 8 wraps the text and ends in a reset)."""

    def __init__(self, console: Console) -> None:
        self.color_system = console._color_system or ColorSystem.TRUECOLOR
        self.parts: list[str] = []
        self._codes = ""  # the SGR codes in force ("" = the terminal's default)

    def move_to(self, x: int, y: int) -> None:
        self.parts.append(Control.move_to(x, y).segment.text)

    def text(self, text: str) -> None:
        """Unstyled characters (a newline between lines)."""
        self.parts.append(text)

    def strip(self, strip: Strip) -> None:
        append = self.parts.append
        color_system = self.color_system
        for text, style, _control in strip:
            if not text:
                continue
            if text[0] == HALF_BLOCK and style is not None:
                text, style = _flat_half_blocks(text, style, color_system)
            codes = Strip.render_ansi(style, color_system) if style else ""
            if style is not None and style._link:
                if self._codes:
                    append(RESET)
                    self._codes = ""
                append(Strip.render_style(style, text, color_system))
                continue
            if codes != self._codes:
                if not codes:
                    append(RESET)
                elif self._codes:
                    append(f"\x1b[0;{codes}m")
                else:
                    append(f"\x1b[{codes}m")
                self._codes = codes
            append(text)

    def finish(self) -> str:
        """Everything written, ending in the terminal's default style."""
        if self._codes:
            self.parts.append(RESET)
            self._codes = ""
        return "".join(self.parts)


def _flat_half_blocks(text: str, style: Style, color_system: ColorSystem) -> tuple[str, Style]:
    """Half-block cells (``▀``: the top half in the foreground colour, the bottom half in the
    background's) whose two colours are one in the terminal's colour system are written as
    spaces in the background colour: the same picture, half the colour sequence, and a run of
    them joins the cells around it of that background (a filmstrip's or the picture viewer's
    flat areas; in 256 colours, colours that differ only below the palette's step)."""
    fg, bg = style.color, style.bgcolor
    if fg is None or bg is None or text.strip(HALF_BLOCK) or style.without_color != _PLAIN:
        return text, style
    a, b = fg.downgrade(color_system), bg.downgrade(color_system)
    if (a.type, a.number, a.triplet) != (b.type, b.number, b.triplet):
        return text, style
    return " " * len(text), Style(bgcolor=bg)


def _narrow(strip: Any) -> bool:
    """Every character one cell wide (so any cell is a safe place to start writing)."""
    return all(cell_len(seg.text) == len(seg.text) for seg in strip)


def render_segments(self: Any, console: Console) -> str:
    """`ChopsUpdate.render_segments`, cropping each chop to ``[x1, x2)`` of its span, written
    as styled runs (`Pen`)."""
    pen = Pen(console)
    chops = self.chops
    chop_ends = self.chop_ends
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        line = chops[y]
        ends = chop_ends[y]
        for end, (x, strip) in zip(ends, line.items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if x2 > x >= x1 and end <= x2:
                pen.move_to(x, y)
                pen.strip(strip)
                continue
            start = max(x1, x) if _narrow(strip) else x
            pen.move_to(start, y)
            pen.strip(strip.crop(start - x, min(end, x2) - x))
        if y != last_y:
            pen.text("\n")
    return pen.finish()


def render_layout(self: Any, console: Console) -> str:
    """`LayoutUpdate.render_segments` (a whole region repainted), written as styled runs."""
    pen = Pen(console)
    x = self.region.x
    last = len(self.strips) - 1
    for i, line in enumerate(self.strips):
        pen.move_to(x, self.region.y + i)
        for strip in line:
            pen.strip(strip)
        if i != last:
            pen.text("\n")
    return pen.finish()


def install() -> bool:
    """Patch `ChopsUpdate.render_segments` (and `LayoutUpdate`'s) once; False if Textual's
    class is not the one this was written against (then nothing is changed)."""
    global _installed
    if _installed:
        return True
    if ChopsUpdate is None or not hasattr(ChopsUpdate, "render_segments"):
        return False
    probe = ChopsUpdate.__init__.__code__.co_varnames[:4]
    if probe != ("self", "chops", "spans", "chop_ends"):
        return False
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    if LayoutUpdate is not None and LayoutUpdate.__init__.__code__.co_varnames[:3] == (
        "self",
        "strips",
        "region",
    ):
        LayoutUpdate.render_segments = render_layout  # type: ignore[method-assign]
    _installed = True
    return True
