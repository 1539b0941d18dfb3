"""The timeline view's mouse: click a clip to select it (Shift or Ctrl to add), click or drag
on the ruler to seek, drag a clip to move it (to another track too), and the wheel scrolls time
when every track is on screen. Nothing needs it: the keyboard does all of this.

The view hands its mouse events here, and `MouseGestures.hit_test` finds what is under the
pointer; like the keys, this only posts requests for the screen to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual import events

from engine.model import Clip
from tui.timeline.tracks import clip_at_col

if TYPE_CHECKING:
    from tui.timeline.widget import TimelineView


@dataclass(frozen=True, slots=True)
class TimelineHit:
    """What is under a point of the view (see ``MouseGestures.hit_test``)."""

    area: Literal["ruler", "track", "header"]
    frame: int | None = None
    """The frame a ruler or track column starts at (None over a header)."""
    track_id: str | None = None
    clip: Clip | None = None


@dataclass(slots=True)
class _Drag:
    """A mouse drag in progress: scrubbing the ruler, or moving a clip."""

    kind: Literal["scrub", "move"]
    x: int
    clip: Clip | None = None
    track_id: str | None = None
    y: int = 0
    moved: bool = False


class MouseGestures:
    """The mouse gestures of one `TimelineView`."""

    def __init__(self, view: TimelineView) -> None:
        self.view = view
        self._drag: _Drag | None = None

    def down(self, event: events.MouseDown) -> None:
        view = self.view
        offset = event.get_content_offset(view)
        if offset is None or event.button != 1:
            return
        hit = self.hit_test(offset.x, offset.y)
        if hit is None or hit.area == "header":
            return
        if hit.area == "ruler" and hit.frame is not None:
            view.post_message(view.SeekRequested(view, hit.frame))
            self._drag = _Drag("scrub", offset.x)
            view.capture_mouse()
            return
        extend = event.shift or event.ctrl
        clip = hit.clip
        view.post_message(view.SelectRequested(view, clip.id if clip else None, extend))
        if clip is not None and hit.track_id is not None:
            self._drag = _Drag("move", offset.x, clip, hit.track_id, offset.y)
            view.capture_mouse()

    def hit_test(self, x: int, y: int) -> TimelineHit | None:
        """What is at content offset ``(x, y)`` (as a mouse event's content offset)."""
        view = self.view
        if view._project is None:
            return None
        vp = view.viewport
        rulers, rows = view._row_lines()
        col = vp.col_at_x(x)
        if y < rulers:
            if col is None:
                return TimelineHit("header")
            return TimelineHit("ruler", frame=vp.frame_of(col))
        at = rows.locate(view.scroll_offset.y + y - rulers)
        if at is None:
            return None
        track = view._project.tracks[at[0]]
        if col is None:
            return TimelineHit("header", track_id=track.id)
        clip = clip_at_col(view._painter.index(track), vp, col)
        return TimelineHit("track", frame=vp.frame_of(col), track_id=track.id, clip=clip)

    def move(self, event: events.MouseMove) -> None:
        view = self.view
        drag = self._drag
        if drag is None:
            return
        offset = event.get_content_offset_capture(view)
        if drag.kind == "scrub":
            vp = view.viewport
            col = min(max(offset.x - vp.header_cols, 0), max(vp.width_cols - 1, 0))
            view.post_message(view.SeekRequested(view, vp.frame_of(col)))
        elif (offset.x, offset.y) != (drag.x, drag.y):
            drag.moved = True

    def up(self, event: events.MouseUp) -> None:
        view = self.view
        drag = self._drag
        if drag is None:
            return
        self._drag = None
        view.release_mouse()
        if drag.kind != "move" or drag.clip is None or drag.track_id is None:
            return
        offset = event.get_content_offset_capture(view)
        if not drag.moved:
            return
        delta = (offset.x - drag.x) * view._fpc
        rulers, rows = view._row_lines()
        track_id = drag.track_id
        if view._project is not None and offset.y >= rulers:
            at = rows.locate(view.scroll_offset.y + offset.y - rulers)
            if at is not None:
                track_id = view._project.tracks[at[0]].id
        start = max(0, drag.clip.start + delta)
        if start == drag.clip.start and track_id == drag.track_id:
            return
        view.post_message(view.MoveRequested(view, drag.clip.id, track_id, start))

    def scroll_down(self, event: events.MouseScrollDown) -> None:
        view = self.view
        # With every track on screen there is nothing to scroll down to: scroll time instead.
        if view.max_scroll_y == 0 and not (event.ctrl or event.shift):
            event.prevent_default()
            view._scroll_to_col(view.scroll_offset.x + max(1, view.viewport.width_cols // 8))

    def scroll_up(self, event: events.MouseScrollUp) -> None:
        view = self.view
        if view.max_scroll_y == 0 and not (event.ctrl or event.shift):
            event.prevent_default()
            view._scroll_to_col(view.scroll_offset.x - max(1, view.viewport.width_cols // 8))
