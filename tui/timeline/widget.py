"""The timeline view: one Line-API widget that draws the ruler, the tracks and the playhead.

``TimelineView`` is a ``ScrollView``: it never mounts a widget per clip. Each visible line is a
``Strip`` built from the runs ``tui.timeline.layout`` computes, and kept in an LRU cache keyed
on version counters (a track's version changes when its ``Track`` object does, so an edit
re-renders only the tracks it touched). The playhead is not part of the cached strips: it is
drawn over them at paint time, and moving it refreshes two one-column regions, so a one-frame
step sends the terminal two columns instead of the whole timeline.

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
from dataclasses import dataclass
from operator import attrgetter
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.model import Asset, Clip, Project, Track
from engine.timebase import format_timecode
from tui.timeline.layout import (
    HEADER_COLS,
    Run,
    TrackIndex,
    TrackRows,
    Viewport,
    clip_at_col,
    detail_runs,
    fit_frames_per_col,
    fit_text,
    keep_visible,
    plain_runs,
    ruler_lines,
    short_duration,
    track_rows,
    track_runs,
    zoom_by,
    zoom_to,
    zoom_to_fit,
)
from tui.timeline.mouse import MouseGestures
from tui.timeline.palette import Palette
from tui.timeline.thumbnails import Filmstrip, filmstrip_runs
from tui.timeline.waveform import Waveform, waveform_runs

_ASSET_ID = attrgetter("asset_id")
ZOOM_FACTOR = 2.0
"""Each zoom step halves or doubles the frames per column."""
PLAYHEAD_RULER = "▼"
PLAYHEAD_TRACK = "┃"
KIND_GLYPH = {"video": "▣", "audio": "♪"}


@dataclass(frozen=True, slots=True)
class TimelineHit:
    """What is under a point of the view (see ``TimelineView.hit_test``)."""

    area: Literal["ruler", "track", "header"]
    frame: int | None = None
    """The frame a ruler or track column starts at (None over a header)."""
    track_id: str | None = None
    clip: Clip | None = None


@dataclass(slots=True)
class RenderStats:
    """Counters for the benchmark and tests: how much work painting took."""

    lines: int = 0
    """``render_line`` calls."""
    strips_built: int = 0
    """Cached strips built (cache misses)."""
    segments_built: int = 0
    """Segments in the strips built."""

    def reset(self) -> None:
        self.lines = self.strips_built = self.segments_built = 0


@dataclass(frozen=True, slots=True)
class _Paint:
    """State captured once per paint (``render_lines``) and read by every ``render_line``."""

    viewport: Viewport
    width: int
    ruler_lines: int
    rows: TrackRows
    scroll_y: int
    playhead_col: int | None


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """The timeline of one project: a zoomable block grid under a timecode ruler."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("equals_sign,plus", "zoom_in", "Zoom in", id="timeline.zoom_in"),
        Binding("minus", "zoom_out", "Zoom out", id="timeline.zoom_out"),
        Binding("backslash", "zoom_to_fit", "Fit", id="timeline.zoom_fit"),
        Binding("pageup", "tracks_up", "Tracks up", show=False, id="timeline.tracks_up"),
        Binding("pagedown", "tracks_down", "Tracks down", show=False, id="timeline.tracks_down"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
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
        self._selection: frozenset[str] = frozenset()
        self._versions = 0
        self._track_versions: dict[str, tuple[Track, int]] = {}
        """Per track id: the Track object last seen and the version it was given."""
        self._indexes: dict[str, TrackIndex] = {}
        """Per track id: the bisection index of the Track object it was built from."""
        self._ruler_key: tuple[object, ...] = ()
        self._ruler_version = 0
        self._selection_version = 0
        self._style_version = 0
        self._palette = Palette(
            lambda name, partial: self.get_component_rich_style(
                f"timeline--{name}", partial=partial
            )
        )
        """The styles it draws with; cleared on a CSS change."""
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        """Strips without the playhead, keyed on (row kind, track id and version | ruler
        version, line, lines per row, viewport, selection version, style version)."""
        self._playhead_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        """Track strips with the playhead drawn over them, keyed on (their ``_line_cache`` key,
        the playhead's x): a repaint where the playhead stays in its column joins no strip."""
        self._runs_cache: LRUCache[tuple[object, ...], list[Run]] = LRUCache(64)
        """A track's runs, shared by its two lines; keyed on (track id and version, viewport,
        selection version)."""
        self._waves: Mapping[str, Waveform] = {}
        self._waves_version = 0
        self._strips: Mapping[str, Filmstrip] = {}
        self._strips_version = 0
        self._rows_key: tuple[object, ...] = ()
        self._rows = TrackRows((0,))
        """Lines per track, for ``_rows_key`` (which tracks hold footage, room, forced lines)."""
        self._footage_of: dict[str, tuple[Track, tuple[Asset, ...], bool]] = {}
        """Per track id: the Track object and asset list last looked at, and whether the track
        holds footage (see ``_footage``)."""
        self._video_assets: tuple[tuple[Asset, ...] | None, frozenset[str]] = (None, frozenset())
        """The ids of the video assets, for the asset list they were taken from."""
        self._paint: _Paint | None = None
        self._mouse = MouseGestures(self)
        self.stats = RenderStats()
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
        changed = old is None or old.tracks is not project.tracks
        seen: set[str] = set()
        for track in project.tracks:
            seen.add(track.id)
            prev = self._track_versions.get(track.id)
            if prev is None or prev[0] is not track:
                self._versions += 1
                self._track_versions[track.id] = (track, self._versions)
                changed = True
        for gone in set(self._track_versions) - seen:
            del self._track_versions[gone]
            self._indexes.pop(gone, None)
            self._footage_of.pop(gone, None)
        ruler_key = (project.markers, ed.mark_in, ed.mark_out, project.rate)
        if ruler_key != self._ruler_key:
            self._ruler_key = ruler_key
            self._ruler_version += 1
            changed = True
        selection = frozenset(ed.selection)
        if selection != self._selection:
            self._selection = selection
            self._selection_version += 1
            changed = True
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

    def set_waveforms(self, waves: Mapping[str, Waveform]) -> None:
        """Waveforms by asset id (`tui.timeline.waveform.waveforms_from`): audio clips with one
        draw it on their track's second line."""
        self._waves = waves
        self._waves_version += 1
        self.refresh()

    @property
    def thumbnails(self) -> Mapping[str, Filmstrip]:
        """The filmstrips by asset id (set with ``set_thumbnails``)."""
        return self._strips

    def set_thumbnails(self, strips: Mapping[str, Filmstrip]) -> None:
        """Filmstrips by asset id (`tui.timeline.thumbnails.filmstrips_from`): video clips with
        one draw it on their track's lines under the label."""
        self._strips = strips
        self._strips_version += 1
        self._palette.clear_pixel_cells()
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
        rulers = self._row_lines()[0]
        regions = [Region(0, 0, before.header_cols, rulers)]
        for col in (old_col, new_col):
            if col is not None:
                regions.append(Region(before.header_cols + col, 0, 1, height))
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

    def _row_lines(self) -> tuple[int, TrackRows]:
        """(ruler lines, the tracks' lines) for the current height."""
        _width, height = self._content_size()
        rulers = 2 if height >= 8 else 1
        tracks = self._project.tracks if self._project is not None else ()
        key = (tuple(self._footage(t) for t in tracks), height - rulers, self._forced_track_lines)
        if key != self._rows_key:
            self._rows_key = key
            self._rows = track_rows(key[0], height - rulers, self._forced_track_lines)
        return rulers, self._rows

    def _footage(self, track: Track) -> bool:
        """Whether ``track`` is a video track holding a clip of a video or image asset, so that
        it may draw a filmstrip (and be drawn taller for it)."""
        project = self._project
        if project is None or track.kind != "video":
            return False
        known = self._footage_of.get(track.id)
        if known is not None and known[0] is track and known[1] is project.assets:
            return known[2]
        if self._video_assets[0] is not project.assets:
            ids = frozenset(a.id for a in project.assets if a.kind in ("video", "image"))
            self._video_assets = (project.assets, ids)
        videos = self._video_assets[1]
        # Stops at the first clip of a video asset; a track without one costs a pass over its
        # clips once per Track object, as its TrackIndex does.
        footage = bool(videos) and not videos.isdisjoint(map(_ASSET_ID, track.clips))
        self._footage_of[track.id] = (track, project.assets, footage)
        return footage

    def hit_test(self, x: int, y: int) -> TimelineHit | None:
        """What is at content offset ``(x, y)`` (as a mouse event's content offset)."""
        if self._project is None:
            return None
        vp = self.viewport
        rulers, rows = self._row_lines()
        col = vp.col_at_x(x)
        if y < rulers:
            if col is None:
                return TimelineHit("header")
            return TimelineHit("ruler", frame=vp.frame_of(col))
        at = rows.locate(self.scroll_offset.y + y - rulers)
        if at is None:
            return None
        track = self._project.tracks[at[0]]
        if col is None:
            return TimelineHit("header", track_id=track.id)
        clip = clip_at_col(self._index(track), vp, col)
        return TimelineHit("track", frame=vp.frame_of(col), track_id=track.id, clip=clip)

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
        self._line_cache.clear()
        self._playhead_cache.clear()
        self._runs_cache.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_version += 1
        self._palette.clear()

    def get_line_filters(self) -> list[LineFilter]:
        """The app's line filters less its ANSI-to-truecolor one: every style this view
        draws was converted by that filter when it was made (see ``palette``), so applying it
        again per segment and per repaint changes nothing and costs a lookup in a 1,024-entry
        cache that a screen of filmstrip cells (a style each) thrashes. When the filter or
        the background changes, this pass keeps the filter and the styles are made again."""
        filters = list(super().get_line_filters())
        truecolor = next((f for f in filters if isinstance(f, ANSIToTruecolor)), None)
        key = (truecolor, self.background_colors[1])
        if key != self._palette.truecolor:
            self._palette.truecolor = key
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

    def _capture_paint(self) -> _Paint:
        vp = self.viewport
        width, _height = self._content_size()
        rulers, rows = self._row_lines()
        return _Paint(vp, width, rulers, rows, self.scroll_offset.y, vp.visible_col(self._playhead))

    def render_line(self, y: int) -> Strip:
        self.stats.lines += 1
        paint = self._paint or self._capture_paint()
        project = self._project
        if project is None or paint.width <= 0:
            return Strip.blank(paint.width, self._palette.style("gap"))
        vp = paint.viewport
        if y < paint.ruler_lines:
            strip = Strip.join([self._ruler_header(y, paint), self._ruler_body(y, paint, project)])
            if paint.playhead_col is not None:
                glyph = PLAYHEAD_RULER if y == 0 else PLAYHEAD_TRACK
                over_text = y == 0 and paint.ruler_lines == 2
                x = vp.header_cols + paint.playhead_col
                strip = self._with_playhead(strip, x, glyph, over_text=over_text)
            return strip
        at = paint.rows.locate(paint.scroll_y + y - paint.ruler_lines)
        if at is None:
            return Strip.blank(paint.width, self._palette.style("gap"))
        t, line = at
        key, strip = self._track_strip(project.tracks[t], line, paint.rows.lines(t), paint, project)
        if paint.playhead_col is None:
            return strip
        x = vp.header_cols + paint.playhead_col
        over = self._playhead_cache.get((key, x))
        if over is None:
            over = self._with_playhead(strip, x, PLAYHEAD_TRACK, over_text=False)
            self._playhead_cache[(key, x)] = over
        return over

    def _with_playhead(self, strip: Strip, x: int, glyph: str, *, over_text: bool) -> Strip:
        """``strip`` with the playhead drawn at ``x``: ``glyph`` in the playhead colour on the
        cell's own background (or, with ``over_text``, the cell's own character recoloured
        unless it is blank, so ruler labels stay legible)."""
        under = next(iter(strip.crop(x, x + 1)), None)
        playhead = self._palette.style("playhead", partial=True)
        style = (under.style if under is not None and under.style else Style()) + playhead
        if over_text and under is not None and under.text.strip():
            glyph = under.text
        return Strip.join([strip.crop(0, x), Strip([Segment(glyph, style)], 1), strip.crop(x + 1)])

    def _ruler_header(self, line: int, paint: _Paint) -> Strip:
        project = self._project
        assert project is not None
        header = paint.viewport.header_cols
        if line == 0:
            text = fit_text(" " + format_timecode(self._playhead, project.rate), header)
            return Strip([Segment(text, self._palette.style("ruler-header"))], header)
        text = fit_text(f" {short_duration(self._fpc, project.rate)}/col", header)
        return Strip([Segment(text, self._palette.style("ruler"))], header)

    def _ruler_body(self, line: int, paint: _Paint, project: Project) -> Strip:
        vp = paint.viewport
        key = ("ruler", line, paint.ruler_lines, vp, self._ruler_version, self._style_version)
        strip = self._line_cache.get(key)
        if strip is None:
            ed = project.editor
            lines = ruler_lines(
                vp,
                project.rate,
                markers=project.markers,
                mark_in=ed.mark_in,
                mark_out=ed.mark_out,
                lines=paint.ruler_lines,
            )
            strip = self._build(lines[line], vp.width_cols)
            self._line_cache[key] = strip
        return strip

    def _track_strip(
        self, track: Track, line: int, lines: int, paint: _Paint, project: Project
    ) -> tuple[tuple[object, ...], Strip]:
        """Line ``line`` of ``track``, drawn ``lines`` tall (names, then lengths or a waveform
        or a filmstrip over every line after the first, then plain blocks), and its cache key."""
        vp = paint.viewport
        version = self._track_versions[track.id][1]
        derived = 0
        if line:
            derived = self._waves_version if track.kind == "audio" else self._strips_version
        key = (
            "track",
            track.id,
            version,
            line,
            lines,
            vp,
            self._selection_version,
            self._style_version,
            derived,
        )
        strip = self._line_cache.get(key)
        if strip is None:
            index = self._index(track)
            runs_key = (track.id, version, vp, self._selection_version)
            runs = self._runs_cache.get(runs_key)
            if runs is None:
                runs = track_runs(index, vp, self._selection)
                self._runs_cache[runs_key] = runs
            if line == 1:
                runs = detail_runs(runs, index, vp, project.rate)
                if track.kind == "audio" and self._waves:
                    runs = waveform_runs(runs, index, vp, project.rate, self._waves)
            elif line > 1:
                runs = plain_runs(runs, index, vp)
            if line and track.kind == "video" and self._strips:
                strip_rows = lines - 1
                runs = filmstrip_runs(
                    runs, index, vp, project.rate, self._strips, line - 1, strip_rows
                )
            header = self._track_header(track, line, vp.header_cols)
            strip = self._build(runs, paint.width, header)
            self._line_cache[key] = strip
        return key, strip

    def _track_header(self, track: Track, line: int, width: int) -> list[Segment]:
        """The header cells of a track line: name, kind glyph and lock/mute/solo flags on the
        first line, the kind spelled out on the second, blank after that."""
        if width <= 0:
            return []
        if line:
            text = f"  {track.kind}" if line == 1 else ""
            return [Segment(fit_text(text, width), self._palette.style("header"))]
        if width < 6:
            style = self._palette.style(f"header-{track.kind}")
            return [Segment(fit_text(track.name, width), style)]
        name = fit_text(" " + track.name, width - 4) + KIND_GLYPH.get(track.kind, " ")
        flags = (
            ("L" if track.locked else " ")
            + ("M" if track.muted else " ")
            + ("S" if track.solo else " ")
        )
        return [
            Segment(name, self._palette.style(f"header-{track.kind}")),
            Segment(flags, self._palette.style("header-flag")),
        ]

    def _build(self, runs: list[Run], width: int, head: list[Segment] | None = None) -> Strip:
        """One strip of ``width`` cells: ``head`` segments, then a segment per run."""
        palette = self._palette
        styles = palette.runs
        segments = head or []
        for run in runs:
            if run.pixels is not None:
                palette.add_pixels(segments, run.pixels, run.selected)
                continue
            style = styles.get((run.style, run.selected, run.in_range, run.color))
            segments.append(Segment(run.text, style or palette.run(run)))
        self.stats.strips_built += 1
        self.stats.segments_built += len(segments)
        return Strip(segments, width)

    def _index(self, track: Track) -> TrackIndex:
        index = self._indexes.get(track.id)
        if index is None or index.track is not track:
            index = TrackIndex(track)
            self._indexes[track.id] = index
        return index


def _header_cols(width: int) -> int:
    """The header column's width: ``HEADER_COLS``, less on very narrow views."""
    return HEADER_COLS if width >= 5 * HEADER_COLS else max(0, width // 5)
