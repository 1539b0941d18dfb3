"""The timeline view: one Line-API widget that draws the ruler, the tracks and the playhead.

``TimelineView`` is a ``ScrollView``: it never mounts a widget per clip. Each visible line is a
``Strip`` that its `TimelinePainter` (``tui.timeline.painter``) builds and caches on version
counters. The playhead is not part of the cached strips: it is drawn over them at paint time,
and moving it refreshes two one-column regions, so a one-frame step sends the terminal two
columns instead of the whole timeline.

Rows, top to bottom: the ruler (two lines, one when short of room), which stays put while the
tracks scroll, then each track, each with a fixed header column on the left. A track has two
lines when they all fit (its clips' names, then their lengths, a waveform or a filmstrip), and
a video track with footage three when that fits too (a filmstrip two lines tall); else one
line each. Horizontally the widget scrolls in columns: ``scroll_x`` columns of
``frames_per_col`` frames each is the first frame on screen.

The view never changes the project. The screen feeds it with ``set_project`` and
``set_playhead``; the view posts requests (``SeekRequested``, ``SelectRequested``,
``MoveRequested``) and ``ZoomChanged`` for the screen to act on or persist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.model import Project
from tui.timeline import palette
from tui.timeline.mouse import MouseGestures
from tui.timeline.painter import Paint, TimelinePainter
from tui.timeline.thumbnails import Filmstrip
from tui.timeline.tracks import TrackRows, track_rows
from tui.timeline.viewport import (
    HEADER_COLS,
    Viewport,
    fit_frames_per_col,
    keep_visible,
    zoom_by,
    zoom_to,
    zoom_to_fit,
)
from tui.timeline.waveform import Waveform

ZOOM_FACTOR = 2.0
"""Each zoom step halves or doubles the frames per column."""


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """The timeline of one project: a zoomable block grid under a timecode ruler."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("equals_sign,plus", "zoom_in", "Zoom in", id="timeline.zoom_in"),
        Binding("minus", "zoom_out", "Zoom out", id="timeline.zoom_out"),
        Binding("backslash", "zoom_to_fit", "Fit", id="timeline.zoom_fit"),
        Binding("pageup", "tracks_up", "Tracks up", show=False, id="timeline.tracks_up"),
        Binding("pagedown", "tracks_down", "Tracks down", show=False, id="timeline.tracks_down"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = palette.COMPONENT_CLASSES
    DEFAULT_CSS = palette.DEFAULT_CSS

    # -- messages (requests up to the screen) ---------------------------------------------

    class SeekRequested(Message):
        """The user clicked or dragged on the ruler: move the playhead to ``frame``."""

        def __init__(self, view: TimelineView, frame: int) -> None:
            super().__init__()
            self.view = view
            self.frame = frame

        @property
        def control(self) -> TimelineView:
            return self.view

        def can_replace(self, message: Message) -> bool:
            # While scrubbing only the latest position matters.
            return isinstance(message, TimelineView.SeekRequested) and message.view is self.view

    class SelectRequested(Message):
        """The user clicked a clip (``clip_id``) or empty track space (None).

        ``extend`` (shift or ctrl held) adds to / toggles in the selection instead of
        replacing it.
        """

        def __init__(self, view: TimelineView, clip_id: str | None, extend: bool) -> None:
            super().__init__()
            self.view = view
            self.clip_id = clip_id
            self.extend = extend

        @property
        def control(self) -> TimelineView:
            return self.view

    class MoveRequested(Message):
        """The user dragged clip ``clip_id`` to ``start`` on ``track_id`` (maybe its own)."""

        def __init__(self, view: TimelineView, clip_id: str, track_id: str, start: int) -> None:
            super().__init__()
            self.view = view
            self.clip_id = clip_id
            self.track_id = track_id
            self.start = start

        @property
        def control(self) -> TimelineView:
            return self.view

    class ZoomChanged(Message):
        """The view's zoom changed (keys, fit); the screen may store it in the editor state."""

        def __init__(self, view: TimelineView, frames_per_col: int) -> None:
            super().__init__()
            self.view = view
            self.frames_per_col = frames_per_col

        @property
        def control(self) -> TimelineView:
            return self.view

    # -- construction ----------------------------------------------------------------------

    def __init__(
        self,
        project: Project | None = None,
        revision: int = 0,
        *,
        track_lines: int | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """``track_lines`` forces that many lines on every track (None: as many as fit)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._project: Project | None = None
        self._revision: int | None = None
        self._forced_track_lines = track_lines
        self._playhead = 0
        self._fpc = 4
        self._painter = TimelinePainter(
            lambda name, partial: self.get_component_rich_style(
                f"timeline--{name}", partial=partial
            )
        )
        """Builds and caches the strips (the ruler's and the tracks' lines)."""
        self._rows_key: tuple[object, ...] = ()
        self._rows = TrackRows((0,))
        """Lines per track, for ``_rows_key`` (which tracks hold footage, room, forced lines)."""
        self._paint: Paint | None = None
        self._mouse = MouseGestures(self)
        self.stats = self._painter.stats
        """Counters for the benchmark and tests: how much work painting took."""
        if project is not None:
            self.set_project(project, revision)

    # -- state in --------------------------------------------------------------------------

    @property
    def project(self) -> Project | None:
        return self._project

    @property
    def playhead(self) -> int:
        """The frame under the playhead (set with ``set_playhead``)."""
        return self._playhead

    @property
    def frames_per_col(self) -> int:
        """The zoom: frames per terminal column (change it with ``zoom_to`` and friends)."""
        return self._fpc

    @property
    def viewport(self) -> Viewport:
        """What the timeline area shows now."""
        width, _height = self._content_size()
        header = _header_cols(width)
        first = max(0, self.scroll_offset.x) * self._fpc
        return Viewport(first, self._fpc, max(0, width - header), header)

    def set_project(self, project: Project, revision: int) -> None:
        """Show ``project`` (as of session ``revision``); selection, marks, markers and the
        playhead come from its editor state. Only rows whose content changed are re-rendered;
        a new project that differs in the playhead alone costs a playhead move."""
        if project is self._project and revision == self._revision:
            return
        old = self._project
        self._project = project
        self._revision = revision
        ed = project.editor
        # The painter takes in every project (new track, ruler and selection versions).
        changed = self._painter.update(project) or old is None or old.tracks is not project.tracks
        if old is None or ed.frames_per_cell != old.editor.frames_per_cell:
            # Adopt the stored zoom when it changed outside the view (open, undo, an agent).
            self._fpc = ed.frames_per_cell
            changed = True
        if changed:
            self._playhead = ed.playhead
            self._update_virtual_size()
            self.refresh()
        elif old is None or ed.playhead != old.editor.playhead:
            self.set_playhead(ed.playhead)

    def set_generations(self, labels: Mapping[str, str]) -> None:
        """What each clip of a take being generated says, by asset id
        (`tui.generation.Generations.labels`): drawn on its track's second line."""
        self._painter.set_generations(labels)
        self.refresh()

    def set_waveforms(self, waves: Mapping[str, Waveform]) -> None:
        """Waveforms by asset id (`tui.timeline.waveform.waveforms_from`): audio clips with one
        draw it on their track's second line."""
        self._painter.set_waveforms(waves)
        self.refresh()

    @property
    def thumbnails(self) -> Mapping[str, Filmstrip]:
        """The filmstrips by asset id (set with ``set_thumbnails``)."""
        return self._painter.strips

    def set_thumbnails(self, strips: Mapping[str, Filmstrip]) -> None:
        """Filmstrips by asset id (`tui.timeline.thumbnails.filmstrips_from`): video clips with
        one draw it on their track's lines under the label."""
        self._painter.set_thumbnails(strips)
        self.refresh()

    def set_playhead(self, frame: int, *, follow: bool = True) -> None:
        """Move the playhead to ``frame``; with ``follow``, page the view to keep it visible.

        When the view does not scroll, only the old and new playhead columns and the ruler's
        timecode are repainted.
        """
        frame = max(0, frame)
        if frame == self._playhead:
            return
        before = self.viewport
        old_col = before.visible_col(self._playhead)
        self._playhead = frame
        if self._project is not None and frame >= self._project.duration:
            self._update_virtual_size()
        if follow:
            after = keep_visible(before, frame)
            if after != before:
                self._scroll_to_col(after.first_col)
                return
        new_col = before.visible_col(frame)
        if not self.is_mounted:
            return
        _width, height = self._content_size()
        rulers, rows = self._row_lines()
        # The timecode (the ruler's first line: the zoom under it does not change), and the
        # two columns down to the last track line on screen (the blank lines under the
        # tracks have no playhead to move); none when the playhead stays in its column.
        drawn = min(height, rulers + max(0, rows.total - self.scroll_offset.y))
        regions = [Region(0, 0, before.header_cols, 1)]
        if old_col != new_col:
            for col in (old_col, new_col):
                if col is not None:
                    regions.append(Region(before.header_cols + col, 0, 1, drawn))
        self.refresh(*regions)

    # -- zoom and scroll ------------------------------------------------------------------

    def zoom_to(self, frames_per_col: int, anchor: int | None = None) -> None:
        """Set the zoom, keeping the column of ``anchor`` (default: the playhead when it is on
        screen, else the middle of the view) where it is."""
        frames_per_col = max(1, frames_per_col)
        if frames_per_col == self._fpc:
            return
        vp = self.viewport
        self._apply_viewport(zoom_to(vp, frames_per_col, self._anchor(vp, anchor)))

    def zoom_in(self) -> None:
        """Halve the frames per column around the playhead (or the middle of the view)."""
        vp = self.viewport
        new = zoom_by(
            vp, 1 / ZOOM_FACTOR, self._anchor(vp, None), max_frames_per_col=self._max_fpc()
        )
        self._apply_viewport(new)

    def zoom_out(self) -> None:
        """Double the frames per column, no further than the whole timeline fitting."""
        vp = self.viewport
        new = zoom_by(vp, ZOOM_FACTOR, self._anchor(vp, None), max_frames_per_col=self._max_fpc())
        self._apply_viewport(new)

    def zoom_to_fit(self) -> None:
        """Zoom so that the whole timeline fits the width (from frame 0)."""
        self._apply_viewport(zoom_to_fit(self.viewport, self._duration()))

    def show_playhead(self) -> None:
        """Scroll (by pages) so that the playhead is on screen."""
        vp = self.viewport
        after = keep_visible(vp, self._playhead)
        if after != vp:
            self._scroll_to_col(after.first_col)

    def action_zoom_in(self) -> None:
        self.zoom_in()

    def action_zoom_out(self) -> None:
        self.zoom_out()

    def action_zoom_to_fit(self) -> None:
        self.zoom_to_fit()

    def action_tracks_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self._track_rows_visible(), animate=False)

    def action_tracks_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self._track_rows_visible(), animate=False)

    def _track_rows_visible(self) -> int:
        _width, height = self._content_size()
        return max(1, height - self._row_lines()[0])

    def _anchor(self, vp: Viewport, anchor: int | None) -> int:
        if anchor is not None:
            return anchor
        if vp.visible_col(self._playhead) is not None:
            return self._playhead
        return vp.frame_of(vp.width_cols // 2)

    def _max_fpc(self) -> int:
        vp = self.viewport
        nominal = self._project.rate.nominal if self._project is not None else 30
        return max(fit_frames_per_col(self._duration(), vp.width_cols), nominal, self._fpc)

    def _apply_viewport(self, vp: Viewport) -> None:
        zoomed = vp.frames_per_col != self._fpc
        self._fpc = vp.frames_per_col
        self._update_virtual_size()
        self._scroll_to_col(vp.first_col)
        self.refresh()
        if zoomed:
            self.post_message(self.ZoomChanged(self, self._fpc))

    def _scroll_to_col(self, col: int) -> None:
        self.scroll_to(x=col, animate=False, force=True)

    def _duration(self) -> int:
        return self._project.duration if self._project is not None else 0

    def _update_virtual_size(self) -> None:
        width, _height = self._content_size()
        header = _header_cols(width)
        area = max(0, width - header)
        content = -(-max(self._duration(), self._playhead + 1) // self._fpc)
        rulers, rows = self._row_lines()
        # One screen of slack past the end: the end can scroll to the left edge, and a zoom
        # anchored near the end never needs a scroll position the view does not have.
        self.virtual_size = Size(header + content + area, rulers + rows.total)

    # -- geometry --------------------------------------------------------------------------

    def _content_size(self) -> tuple[int, int]:
        region = self.scrollable_content_region
        return region.width, region.height

    def natural_lines(self) -> int:
        """Lines the ruler and every track take with room to spare (footage tracks tall): the
        height the editor's layout gives the timeline when it can (`tui.layout`)."""
        project = self._project
        if project is None:
            return 2
        footage = tuple(self._painter.footage(project, t) for t in project.tracks)
        return 2 + track_rows(footage, 1 << 20, self._forced_track_lines).total

    def _row_lines(self) -> tuple[int, TrackRows]:
        """(ruler lines, the tracks' lines) for the current height."""
        _width, height = self._content_size()
        rulers = 2 if height >= 8 else 1
        project = self._project
        footage: tuple[bool, ...] = ()
        if project is not None:
            footage = tuple(self._painter.footage(project, t) for t in project.tracks)
        key = (footage, height - rulers, self._forced_track_lines)
        if key != self._rows_key:
            self._rows_key = key
            self._rows = track_rows(key[0], height - rulers, self._forced_track_lines)
        return rulers, self._rows

    # -- mouse (tui/timeline/mouse.py) ------------------------------------------------------

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._mouse.down(event)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._mouse.move(event)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._mouse.up(event)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._mouse.scroll_down(event)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._mouse.scroll_up(event)

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self.refresh()

    # -- painting --------------------------------------------------------------------------

    def clear_caches(self) -> None:
        """Forget every cached strip and run list: the next paint lays out every row afresh,
        as after a scroll or a zoom. Track indexes stay: they depend on the tracks alone."""
        self._painter.clear_caches()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painter.style_changed()

    def get_line_filters(self) -> list[LineFilter]:
        """The app's line filters less its ANSI-to-truecolor one: every style this view
        draws was converted by that filter when it was made (see ``palette``), so applying it
        again per segment and per repaint changes nothing and costs a lookup in a 1,024-entry
        cache that a screen of filmstrip cells (a style each) thrashes. When the filter or
        the background changes, this pass keeps the filter and the styles are made again."""
        filters = list(super().get_line_filters())
        truecolor = next((f for f in filters if isinstance(f, ANSIToTruecolor)), None)
        key = (truecolor, self.background_colors[1])
        if key != self._painter.palette.truecolor:
            self._painter.palette.truecolor = key
            self.notify_style_update()
            self.clear_caches()
            self.refresh()
            return filters
        return [f for f in filters if f is not truecolor]

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._capture_paint()
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _capture_paint(self) -> Paint:
        vp = self.viewport
        width, _height = self._content_size()
        rulers, rows = self._row_lines()
        playhead = self._playhead
        return Paint(
            vp, width, rulers, rows, self.scroll_offset.y, vp.visible_col(playhead), playhead
        )

    def render_line(self, y: int) -> Strip:
        return self._painter.line(y, self._paint or self._capture_paint(), self._project)


def _header_cols(width: int) -> int:
    """The header column's width: ``HEADER_COLS``, less on very narrow views."""
    return HEADER_COLS if width >= 5 * HEADER_COLS else max(0, width // 5)
