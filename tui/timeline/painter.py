"""The timeline view's lines as strips: the ruler and the track lines built from runs, cached
on version counters, with the playhead drawn over them at paint time.

Each visible line is a ``Strip`` built from the runs ``tui.timeline.tracks`` and
``tui.timeline.ruler`` compute, and kept in an LRU cache keyed on version counters (a track's
version changes when its ``Track`` object does, so an edit re-renders only the tracks it
touched). The playhead is not part of the cached strips: it is drawn over them per paint, so
the view can move it by repainting two one-column regions.

`TimelinePainter` is not a widget: `TimelineView` hands it the project and what a paint
captured (`Paint`), and it hands back strips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from engine.model import Asset, Project, Track
from engine.timebase import format_timecode
from tui.timeline.fades import fade_runs
from tui.timeline.palette import Palette
from tui.timeline.ruler import ruler_lines
from tui.timeline.runs import Run, fit_text, short_duration
from tui.timeline.thumbnails import Filmstrip, filmstrip_runs
from tui.timeline.tracks import (
    TrackIndex,
    TrackRows,
    detail_runs,
    generation_runs,
    plain_runs,
    track_runs,
)
from tui.timeline.viewport import Viewport
from tui.timeline.waveform import Waveform, waveform_runs

_ASSET_ID = attrgetter("asset_id")
PLAYHEAD_RULER = "▼"
PLAYHEAD_TRACK = "┃"
KIND_GLYPH = {"video": "▣", "audio": "♪"}


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
class Paint:
    """State captured once per paint (``TimelineView.render_lines``) and read by every line."""

    viewport: Viewport
    width: int
    ruler_lines: int
    rows: TrackRows
    scroll_y: int
    playhead_col: int | None
    playhead: int
    """The frame under the playhead (the ruler's header shows its timecode)."""


class TimelinePainter:
    """The strips of one `TimelineView`, and what they are drawn from: the project's versions,
    the waveforms and filmstrips, the styles."""

    def __init__(self, component: Callable[[str, bool], Style]) -> None:
        """``component`` is the view's rich style for a component name (without
        ``timeline--``) and partial."""
        self.palette = Palette(component)
        """The styles it draws with; cleared on a CSS change."""
        self.stats = RenderStats()
        self.waves: Mapping[str, Waveform] = {}
        """Waveforms by asset id (set with ``set_waveforms``)."""
        self.strips: Mapping[str, Filmstrip] = {}
        """Filmstrips by asset id (set with ``set_thumbnails``)."""
        self.generations: Mapping[str, str] = {}
        """What a clip of a take not ready yet says, by asset id (``set_generations``)."""
        self._generations_version = 0
        self._versions = 0
        self._track_versions: dict[str, tuple[Track, int]] = {}
        """Per track id: the Track object last seen and the version it was given."""
        self._indexes: dict[str, TrackIndex] = {}
        """Per track id: the bisection index of the Track object it was built from."""
        self._ruler_key: tuple[object, ...] = ()
        self._ruler_version = 0
        self._selection: frozenset[str] = frozenset()
        self._selection_version = 0
        self._style_version = 0
        self._waves_version = 0
        self._strips_version = 0
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        """Strips without the playhead, keyed on (row kind, track id and version | ruler
        version, line, lines per row, viewport, selection version, style version)."""
        self._playhead_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        """Track strips with the playhead drawn over them, keyed on (their ``_line_cache`` key,
        the playhead's x): a repaint where the playhead stays in its column joins no strip."""
        self._runs_cache: LRUCache[tuple[object, ...], list[Run]] = LRUCache(64)
        """A track's runs, shared by its two lines; keyed on (track id and version, viewport,
        selection version)."""
        self._footage_of: dict[str, tuple[Track, tuple[Asset, ...], bool]] = {}
        """Per track id: the Track object and asset list last looked at, and whether the track
        holds footage (see ``footage``)."""
        self._video_assets: tuple[tuple[Asset, ...] | None, frozenset[str]] = (None, frozenset())
        """The ids of the video assets, for the asset list they were taken from."""

    # -- what it draws -----------------------------------------------------------------------

    def update(self, project: Project) -> bool:
        """Take in ``project``: a new version for every track, the ruler (markers, marks, rate)
        and the selection that changed, so that only their lines are built again. True when
        any changed."""
        changed = False
        ed = project.editor
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
        return changed

    def set_waveforms(self, waves: Mapping[str, Waveform]) -> None:
        """Waveforms by asset id: audio clips with one draw it on their track's second line."""
        self.waves = waves
        self._waves_version += 1

    def set_generations(self, labels: Mapping[str, str]) -> None:
        """Labels by asset id: a placeholder clip (TTS) shows its state and progress on its
        track's second line instead of its length."""
        if labels != self.generations:
            self.generations = dict(labels)
            self._generations_version += 1

    def set_thumbnails(self, strips: Mapping[str, Filmstrip]) -> None:
        """Filmstrips by asset id: video clips with one draw it on their track's lines under
        the label."""
        self.strips = strips
        self._strips_version += 1
        self.palette.clear_pixel_cells()

    def style_changed(self) -> None:
        """The view's CSS changed: every strip is drawn again with styles made afresh."""
        self._style_version += 1
        self.palette.clear()

    def clear_caches(self) -> None:
        """Forget every cached strip and run list: the next paint lays out every row afresh,
        as after a scroll or a zoom. Track indexes stay: they depend on the tracks alone."""
        self._line_cache.clear()
        self._playhead_cache.clear()
        self._runs_cache.clear()

    def index(self, track: Track) -> TrackIndex:
        """The bisection index of ``track`` (built once per Track object)."""
        index = self._indexes.get(track.id)
        if index is None or index.track is not track:
            index = TrackIndex(track)
            self._indexes[track.id] = index
        return index

    def footage(self, project: Project, track: Track) -> bool:
        """Whether ``track`` is a video track holding a clip of a video or image asset, so that
        it may draw a filmstrip (and be drawn taller for it)."""
        if track.kind != "video":
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

    # -- strips ------------------------------------------------------------------------------

    def line(self, y: int, paint: Paint, project: Project | None) -> Strip:
        """Line ``y`` of the view (from its top, the ruler's lines first) with the playhead."""
        self.stats.lines += 1
        if project is None or paint.width <= 0:
            return Strip.blank(paint.width, self.palette.style("gap"))
        vp = paint.viewport
        if y < paint.ruler_lines:
            strip = Strip.join(
                [self._ruler_header(y, paint, project), self._ruler_body(y, paint, project)]
            )
            if paint.playhead_col is not None:
                glyph = PLAYHEAD_RULER if y == 0 else PLAYHEAD_TRACK
                over_text = y == 0 and paint.ruler_lines == 2
                x = vp.header_cols + paint.playhead_col
                strip = self._with_playhead(strip, x, glyph, over_text=over_text)
            return strip
        at = paint.rows.locate(paint.scroll_y + y - paint.ruler_lines)
        if at is None:
            return Strip.blank(paint.width, self.palette.style("gap"))
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
        playhead = self.palette.style("playhead", partial=True)
        style = (under.style if under is not None and under.style else Style()) + playhead
        if over_text and under is not None and under.text.strip():
            glyph = under.text
        return Strip.join([strip.crop(0, x), Strip([Segment(glyph, style)], 1), strip.crop(x + 1)])

    def _ruler_header(self, line: int, paint: Paint, project: Project) -> Strip:
        header = paint.viewport.header_cols
        if line == 0:
            text = fit_text(" " + format_timecode(paint.playhead, project.rate), header)
            return Strip([Segment(text, self.palette.style("ruler-header"))], header)
        text = fit_text(
            f" {short_duration(paint.viewport.frames_per_col, project.rate)}/col", header
        )
        return Strip([Segment(text, self.palette.style("ruler"))], header)

    def _ruler_body(self, line: int, paint: Paint, project: Project) -> Strip:
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
        self, track: Track, line: int, lines: int, paint: Paint, project: Project
    ) -> tuple[tuple[object, ...], Strip]:
        """Line ``line`` of ``track``, drawn ``lines`` tall (names, then lengths or a waveform
        or a filmstrip over every line after the first, then plain blocks), and its cache key."""
        vp = paint.viewport
        version = self._track_versions[track.id][1]
        derived: object = 0
        if line:
            derived = self._waves_version if track.kind == "audio" else self._strips_version
        if track.kind == "audio":
            derived = (derived, self._generations_version)
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
            index = self.index(track)
            runs_key = (track.id, version, vp, self._selection_version)
            runs = self._runs_cache.get(runs_key)
            if runs is None:
                runs = track_runs(index, vp, self._selection)
                self._runs_cache[runs_key] = runs
            if line == 1:
                runs = detail_runs(runs, index, vp, project.rate)
                if track.kind == "audio":
                    runs = fade_runs(runs, index, vp)  # a waveform, if any, draws over it
                if track.kind == "audio" and self.waves:
                    runs = waveform_runs(runs, index, vp, project.rate, self.waves)
                if track.kind == "audio" and self.generations:
                    runs = generation_runs(runs, index, vp, self.generations)
            elif line > 1:
                runs = plain_runs(runs, index, vp)
            if line and track.kind == "video" and self.strips:
                strip_rows = lines - 1
                runs = filmstrip_runs(
                    runs, index, vp, project.rate, self.strips, line - 1, strip_rows
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
            return [Segment(fit_text(text, width), self.palette.style("header"))]
        if width < 6:
            style = self.palette.style(f"header-{track.kind}")
            return [Segment(fit_text(track.name, width), style)]
        name = fit_text(" " + track.name, width - 4) + KIND_GLYPH.get(track.kind, " ")
        flags = (
            ("L" if track.locked else " ")
            + ("M" if track.muted else " ")
            + ("S" if track.solo else " ")
        )
        return [
            Segment(name, self.palette.style(f"header-{track.kind}")),
            Segment(flags, self.palette.style("header-flag")),
        ]

    def _build(self, runs: list[Run], width: int, head: list[Segment] | None = None) -> Strip:
        """One strip of ``width`` cells: ``head`` segments, then a segment per run."""
        palette = self.palette
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
