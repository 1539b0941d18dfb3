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
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control

try:
    from textual._compositor import ChopsUpdate
except ImportError:  # pragma: no cover - a Textual without it: nothing to patch
    ChopsUpdate = None  # type: ignore[assignment,misc]

_installed = False
# Textual's own method, kept for comparison (tests) before `install` replaces it.
ORIGINAL = ChopsUpdate.render_segments if ChopsUpdate is not None else None


def _narrow(strip: Any) -> bool:
    """Every character one cell wide (so any cell is a safe place to start writing)."""
    return all(cell_len(seg.text) == len(seg.text) for seg in strip)


def render_segments(self: Any, console: Console) -> str:
    """`ChopsUpdate.render_segments`, cropping each chop to ``[x1, x2)`` of its span."""
    sequences: list[str] = []
    append = sequences.append
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
                append(Control.move_to(x, y).segment.text)
                append(strip.render(console))
                continue
            start = max(x1, x) if _narrow(strip) else x
            part = strip.crop(start - x, min(end, x2) - x)
            append(Control.move_to(start, y).segment.text)
            append(part.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> bool:
    """Patch `ChopsUpdate.render_segments` once; False if Textual's class is not the one this
    was written against (then nothing is changed)."""
    global _installed
    if _installed:
        return True
    if ChopsUpdate is None or not hasattr(ChopsUpdate, "render_segments"):
        return False
    probe = ChopsUpdate.__init__.__code__.co_varnames[:4]
    if probe != ("self", "chops", "spans", "chop_ends"):
        return False
    ChopsUpdate.render_segments = render_segments  # type: ignore[method-assign]
    _installed = True
    return True
