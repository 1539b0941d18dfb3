"""The timeline area's geometry: which frames each column shows, and the zoom and scroll
math that moves it. No Textual here.

The timeline area is ``width_cols`` columns; column ``c`` shows the frames
``[first_frame + c * frames_per_col, first_frame + (c + 1) * frames_per_col)`` and is *sampled*
at its first frame (``tui.timeline.tracks`` draws each cell from that sample). Zoom helpers
keep ``first_frame`` a multiple of ``frames_per_col``, so a viewport is also a horizontal
scroll position in columns.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER_COLS = 13
"""Default width of the track header column: a full timecode in the ruler's header, and a
space before the timeline."""


@dataclass(frozen=True, slots=True)
class Viewport:
    """What the timeline area shows: ``width_cols`` columns from ``first_frame`` on.

    Columns here count from the left of the timeline area; ``header_cols`` columns of track
    headers sit to its left in the widget (``x = header_cols + col``).
    """

    first_frame: int
    frames_per_col: int
    width_cols: int
    header_cols: int = HEADER_COLS

    def __post_init__(self) -> None:
        if self.frames_per_col < 1:
            raise ValueError(f"frames_per_col must be >= 1, not {self.frames_per_col}")
        if self.first_frame < 0 or self.width_cols < 0 or self.header_cols < 0:
            raise ValueError(f"negative viewport field in {self!r}")

    @property
    def end_frame(self) -> int:
        """The first frame after the last column (exclusive end of what is shown)."""
        return self.first_frame + self.width_cols * self.frames_per_col

    @property
    def first_col(self) -> int:
        """``first_frame`` in columns: the horizontal scroll offset of an aligned viewport."""
        return self.first_frame // self.frames_per_col

    def col_of(self, frame: int) -> int:
        """The column whose cell holds ``frame`` (may be < 0 or >= width_cols: off screen)."""
        return (frame - self.first_frame) // self.frames_per_col

    def frame_of(self, col: int) -> int:
        """The first frame of column ``col`` (the frame the cell is sampled at)."""
        return self.first_frame + col * self.frames_per_col

    def col_at_x(self, x: int) -> int | None:
        """The timeline column under widget column ``x``, or None over the header."""
        col = x - self.header_cols
        return col if 0 <= col < self.width_cols else None

    def visible_col(self, frame: int) -> int | None:
        """``col_of(frame)`` when that column is on screen, else None."""
        col = self.col_of(frame)
        return col if 0 <= col < self.width_cols else None

    def with_frames_per_col(self, frames_per_col: int, first_frame: int) -> Viewport:
        """The same columns at another zoom and start."""
        return Viewport(first_frame, frames_per_col, self.width_cols, self.header_cols)


# -- zoom and scroll ---------------------------------------------------------------------------


def _aligned(frame: int, fpc: int) -> int:
    return max(0, frame // fpc) * fpc


def zoom_to(vp: Viewport, frames_per_col: int, anchor: int) -> Viewport:
    """``vp`` at a new zoom, with the column of frame ``anchor`` kept where it is.

    Exact unless the anchor sits closer to frame 0 than its column allows (then the view starts
    at frame 0). The result's ``first_frame`` is a multiple of ``frames_per_col``.
    """
    fpc = max(1, frames_per_col)
    col = vp.col_of(anchor)
    first = max(0, anchor // fpc - col) * fpc
    return vp.with_frames_per_col(fpc, first)


def zoom_by(vp: Viewport, factor: float, anchor: int, *, max_frames_per_col: int) -> Viewport:
    """Zoom out (``factor > 1``) or in (``factor < 1``) around ``anchor``, by at least one
    frame per column, between 1 and ``max_frames_per_col``."""
    fpc = vp.frames_per_col
    new = round(fpc * factor)
    if new == fpc:
        new = fpc + (1 if factor > 1 else -1)
    new = max(1, min(new, max(max_frames_per_col, 1)))
    if factor > 1 and new < fpc:  # already zoomed out past the cap: stay
        new = fpc
    return zoom_to(vp, new, anchor)


def fit_frames_per_col(duration: int, width_cols: int) -> int:
    """The smallest zoom at which ``duration`` frames fit in ``width_cols`` columns."""
    if width_cols <= 0:
        return 1
    return max(1, -(-duration // width_cols))


def zoom_to_fit(vp: Viewport, duration: int) -> Viewport:
    """The whole timeline ``[0, duration)`` in view, starting at frame 0."""
    return vp.with_frames_per_col(fit_frames_per_col(duration, vp.width_cols), 0)


def keep_visible(vp: Viewport, frame: int, margin: int | None = None) -> Viewport:
    """``vp`` scrolled (by whole pages, NLE style) so that ``frame``'s column is on screen.

    Unchanged when it already is; otherwise the frame lands ``margin`` columns from the left
    edge (an eighth of the width by default).
    """
    col = vp.col_of(frame)
    if 0 <= col < vp.width_cols or vp.width_cols == 0:
        return vp
    margin = vp.width_cols // 8 if margin is None else min(margin, vp.width_cols - 1)
    fpc = vp.frames_per_col
    first = _aligned(frame - margin * fpc, fpc)
    return vp.with_frames_per_col(fpc, first)
