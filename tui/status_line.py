"""The editor's status line: a `Static` that repaints only the stretch of cells that changed.

While playing, the status line changes 30 times a second, and only in its timecode; a
`Static` repaints its whole line for each new text, so the terminal was sent the full width
of the screen per frame (about 200 bytes at 200 columns, most of the status line's share in
`bench/bench_terminal_output.py`). `StatusLine.update` compares the new text with the one
shown and refreshes the region from the first to the last cell that differ; a change of
styles, a text with wide characters, or a layout asks for the whole line as before.
"""

from __future__ import annotations

from typing import Any, Self

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Region
from textual.widgets import Static

Shown = tuple[str, tuple[Any, ...]]
"""A status text as compared: its characters and its styled spans."""


def changed_span(old: Shown | None, new: Shown | None) -> Region | None:
    """The one-line region (in content cells) where ``new`` differs from ``old``; None when
    the whole line must be repainted (nothing shown yet, styles changed, wide characters)."""
    if old is None or new is None or old[1] != new[1]:
        return None
    before, after = old[0], new[0]
    if cell_len(before) != len(before) or cell_len(after) != len(after):
        return None
    if before == after:
        return Region(0, 0, 0, 0)
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    tail = 0
    while (
        tail < min(len(before), len(after)) - start
        and before[len(before) - 1 - tail] == after[len(after) - 1 - tail]
    ):
        tail += 1
    end = max(len(before), len(after)) - tail
    return Region(start, 0, max(1, end - start), 1)


def _shown(content: object) -> Shown | None:
    if isinstance(content, Text):
        return content.plain, (*content.spans, content.style)
    if isinstance(content, str) and "[" not in content:  # no markup: the text as shown
        return content, ()
    return None


class StatusLine(Static):
    """One line of status text; a new text repaints the cells that changed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: Shown | None = None
        self._partial: Region | None = None

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        new = _shown(content)
        self._partial = None if layout else changed_span(self._shown, new)
        self._shown = new
        try:
            super().update(content, layout=layout)
        finally:
            self._partial = None

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        partial = self._partial
        if partial is not None and not (regions or layout or recompose):
            if not partial:
                return self  # the same text again: nothing to repaint
            return super().refresh(partial, repaint=repaint)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def on_resize(self) -> None:
        self._shown = None  # a new width: the next text repaints the whole line
