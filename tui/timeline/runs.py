"""Runs of terminal cells: the record every timeline line is built from, and text fitted to
a run's width. No Textual here.

A line of the ruler or of a track is a list of `Run` covering its columns exactly; the view
turns each run into one segment (or, for a filmstrip, a few) in the style the run names.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from rich.cells import cell_len, set_cell_size

from engine.timebase import Rate

RunKind = Literal["gap", "clip", "dense", "label", "tick", "marker", "blank"]

ELLIPSIS = "…"


class Run(NamedTuple):
    """Columns ``[start, end)`` of one row drawn alike; ``text`` is exactly ``end - start``
    cells. (A named tuple: rows are rebuilt after every scroll and zoom, and tuples are the
    cheapest records to make.)

    ``style`` names the look (the widget maps it to the component class ``timeline--<style>``):
    ``gap``, ``clip-video``, ``clip-audio``, ``clip-text``, ``clip-remotion``, ``dense``,
    ``ruler``, ``ruler-label``, ``ruler-tick``, ``marker``.
    """

    start: int
    end: int
    kind: RunKind
    text: str
    style: str
    clip_id: str | None = None
    clip_index: int = -1
    """Index of the clip in its track (clip runs only)."""
    selected: bool = False
    linked: bool = False
    in_range: bool = False
    """Inside the in/out marks (ruler runs)."""
    color: str | None = None
    """A marker's own colour (``#rrggbb``), drawn over the marker style."""
    pixels: bytes | None = None
    """Per-cell colours (filmstrip runs, see ``tui.timeline.thumbnails``): six bytes a cell,
    the RGB of its top then its bottom half; ``text`` is then half blocks (``▀``)."""

    @property
    def width(self) -> int:
        return self.end - self.start


# -- text fitting ----------------------------------------------------------------------------


def fit_text(text: str, width: int) -> str:
    """``text`` as exactly ``width`` cells: padded with spaces, or cut with an ellipsis."""
    if width <= 0:
        return ""
    if text.isascii():  # one cell per character: no need to measure
        n = len(text)
        if n <= width:
            return text + " " * (width - n)
        return text[: width - 1] + ELLIPSIS if width > 1 else text[:1]
    n = cell_len(text)
    if n <= width:
        return text + " " * (width - n)
    if width == 1:
        return set_cell_size(text, 1)
    return set_cell_size(text, width - 1) + ELLIPSIS


def fit_label(prefix: str, name: str, width: int) -> str:
    """``prefix + name`` fitted to ``width`` cells, where ``prefix`` is single-cell glyphs
    (edge and linked marks) and ``name`` is usually ASCII (the fast path)."""
    if not name.isascii():
        return fit_text(prefix + name, width)
    n = len(prefix) + len(name)
    if n <= width:
        return prefix + name + " " * (width - n)
    if width <= len(prefix):
        return prefix[:width]
    return prefix + name[: width - len(prefix) - 1] + ELLIPSIS


def short_duration(frames: int, rate: Rate) -> str:
    """A compact length for labels: ``12f``, ``3s``, ``3s12f``, ``2m05s``, ``1h02m``."""
    nominal = rate.nominal
    seconds, ff = divmod(frames, nominal)
    if seconds == 0:
        return f"{ff}f"
    if seconds < 60:
        return f"{seconds}s{ff:02d}f" if ff else f"{seconds}s"
    minutes, ss = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{ss:02d}s"
    hours, mm = divmod(minutes, 60)
    return f"{hours}h{mm:02d}m"
