"""The timeline view's look: its component classes, their default CSS, and the rich styles
made from them, each made once.

Styles come from the view's component classes (the theme), from a run's flags (selected, in
the marked range, a marker's colour) and from filmstrip pixels. Each is converted when it is
made by the app's ANSI-to-truecolor filter, so the view can leave that filter out of its
line filters (see ``TimelineView.get_line_filters``): applied per segment on every repaint, it
costs a lookup in a 1,024-entry cache that a screen of filmstrip cells (a style each) thrashes.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.color import Color as TextualColor
from textual.filter import ANSIToTruecolor

from tui.timeline.runs import Run
from tui.timeline.thumbnails import HALF_BLOCK

COMPONENT_CLASSES: set[str] = {
    "timeline--ruler",
    "timeline--ruler-header",
    "timeline--ruler-label",
    "timeline--ruler-tick",
    "timeline--ruler-range",
    "timeline--marker",
    "timeline--header",
    "timeline--header-video",
    "timeline--header-audio",
    "timeline--header-flag",
    "timeline--gap",
    "timeline--clip-video",
    "timeline--clip-audio",
    "timeline--clip-text",
    "timeline--clip-remotion",
    "timeline--clip-selected",
    "timeline--dense",
    "timeline--playhead",
}
"""The view's component classes: a `Run` style ``s`` is drawn as ``timeline--s``."""

DEFAULT_CSS = """
TimelineView {
    background: $surface;
    scrollbar-size-vertical: 1;
    scrollbar-size-horizontal: 1;
    & > .timeline--ruler { background: $panel; color: $text-muted; }
    & > .timeline--ruler-header { background: $panel; color: $text; text-style: bold; }
    & > .timeline--ruler-label { background: $panel; color: $text; }
    & > .timeline--ruler-tick { background: $panel; color: $text-muted; }
    & > .timeline--ruler-range { background: $primary-muted; }
    & > .timeline--marker { background: $panel; text-style: bold; }
    & > .timeline--header { background: $panel; color: $text-muted; }
    & > .timeline--header-video { background: $panel; color: $text; }
    & > .timeline--header-audio { background: $panel; color: $text; }
    & > .timeline--header-flag { background: $panel; color: $warning; text-style: bold; }
    & > .timeline--gap { background: $surface; color: $text-disabled; }
    & > .timeline--clip-video { background: $primary-muted; color: $text; }
    & > .timeline--clip-audio { background: $success-muted; color: $text; }
    & > .timeline--clip-text { background: $secondary-muted; color: $text; }
    & > .timeline--clip-remotion { background: $warning-muted; color: $text; }
    & > .timeline--clip-selected { background: $accent; color: $text; text-style: bold; }
    & > .timeline--dense { background: $surface; color: $text-muted; }
    & > .timeline--playhead { color: $error; text-style: bold; }
}
"""
"""The view's default CSS: the theme's colours for each component class."""

PIXEL_CELLS = 16384
"""At most this many filmstrip cells are kept styled (a screen full of strips has ~2,000)."""


class Palette:
    """Styles by component, by run and by filmstrip cell, for one view."""

    def __init__(self, component: Callable[[str, bool], Style]) -> None:
        self._component = component
        """The view's rich style for a component name (without ``timeline--``) and partial."""
        self.truecolor: tuple[ANSIToTruecolor | None, object] = (None, None)
        """The app's ANSI-to-truecolor filter (and the view's background) every style here was
        converted with; the view sets it, then clears the palette."""
        self.styles: dict[tuple[str, bool], Style] = {}
        """Rich styles per (component, partial)."""
        self.runs: dict[tuple[str, bool, bool, str | None], Style] = {}
        """Rich styles per (run style, selected, in range, colour)."""
        self.pixel_cells: tuple[dict[bytes, Segment], dict[bytes, Segment]] = ({}, {})
        """One-cell filmstrip segments by six colour bytes, for unselected then selected clips
        (made once: a cold repaint of a screen of strips makes no segment for a lone cell);
        emptied past ``PIXEL_CELLS`` entries, when the strips change and on a CSS change."""

    def clear(self) -> None:
        """Forget every style (a CSS or theme change, a new filter)."""
        self.styles.clear()
        self.runs.clear()
        self.clear_pixel_cells()

    def clear_pixel_cells(self) -> None:
        for known in self.pixel_cells:
            known.clear()

    def converted(self, style: Style) -> Style:
        """``style`` as the app's ANSI-to-truecolor filter would draw it."""
        truecolor, background = self.truecolor
        if truecolor is None or not isinstance(background, TextualColor):
            return style
        return truecolor.truecolor_style(style, background.rich_color)

    def style(self, name: str, *, partial: bool = False) -> Style:
        key = (name, partial)
        style = self.styles.get(key)
        if style is None:
            style = self.styles[key] = self.converted(self._component(name, partial))
        return style

    def run(self, run: Run) -> Style:
        key = (run.style, run.selected, run.in_range, run.color)
        style = self.runs.get(key)
        if style is None:
            style = self.style(run.style)
            if run.selected:
                style += self.style("clip-selected", partial=True)
            if run.in_range:
                style += self.style("ruler-range", partial=True)
            if run.color is not None:
                style = self.converted(style + Style(color=run.color))
            self.runs[key] = style
        return style

    def add_pixels(self, segments: list[Segment], pixels: bytes, selected: bool) -> None:
        """Half-block cells, one segment per stretch of equal cells (six bytes a cell)."""
        known = self.pixel_cells[selected]
        n = len(pixels)
        i = 0
        while i < n:
            cell = pixels[i : i + 6]
            j = i + 6
            while j < n and pixels[j : j + 6] == cell:
                j += 6
            one = known.get(cell) or self._pixel_cell(cell, selected)
            segments.append(one if j - i == 6 else Segment(HALF_BLOCK * ((j - i) // 6), one.style))
            i = j

    def _pixel_cell(self, cell: bytes, selected: bool) -> Segment:
        """A filmstrip cell: its top pixel as the colour, its bottom one as the background; a
        selected clip's pixels lean halfway to the selection colour."""
        top, bottom = cell[:3], cell[3:]
        if selected:
            accent = self.style("clip-selected").bgcolor
            if accent is not None:
                mix = accent.get_truecolor()
                top = bytes((a + b) // 2 for a, b in zip(top, mix, strict=True))
                bottom = bytes((a + b) // 2 for a, b in zip(bottom, mix, strict=True))
        known = self.pixel_cells[selected]
        if len(known) >= PIXEL_CELLS:
            known.clear()
        one = known[cell] = Segment(
            HALF_BLOCK, Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))
        )
        return one
