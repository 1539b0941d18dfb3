"""Timeline layout: a project and a viewport in, runs of terminal cells out. No Textual here.

The timeline area is ``width_cols`` columns; column ``c`` shows the frames
``[first_frame + c * frames_per_col, first_frame + (c + 1) * frames_per_col)`` and is *sampled*
at its first frame, ``a_c``::

    frames   0    4    8    12   16   20        frames_per_col = 4
    cells    |a_0 |a_1 |a_2 |a_3 |a_4 |
    clip A   [=========)                        A = [0, 9): covers a_0, a_1, a_2 -> cols 0-2
    clip B             [=)                      B = [9, 11): covers no sample -> hidden in col 2
    clip C                 [=========)          C = [12, 22): covers a_3, a_4 -> cols 3-4
    runs     clip A ][dense][ clip C

- A cell shows the clip that covers its sample frame, or a gap.
- A clip that covers no sample (it starts after ``a_c`` and ends by ``a_c + frames_per_col``)
  would vanish; instead its cell becomes *dense* (so does the last cell of a block or gap that
  such a clip hides in). So every clip is either a block or inside a dense run, and
  consecutive dense cells are one run.

Every track row is found with bisections on the track's clip starts and ends (``TrackIndex``),
one per step, each step jumping over a whole block or gap, so building a row costs
O(runs * log n): it depends on what is visible, never on how many clips the track holds. A
stretch of tiny clips costs one step per cell, and there are never more cells than columns.

The ruler picks a "nice" label step (frames, then seconds, minutes, hours) whose labels cannot
overlap at the current zoom, and draws ticks, markers and the in/out range. Zoom helpers keep
``first_frame`` a multiple of ``frames_per_col``, so a viewport is also a horizontal scroll
position in columns.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from rich.cells import cell_len, set_cell_size

from engine.model import Clip, Marker, Track
from engine.timebase import Rate, format_timecode

RunKind = Literal["gap", "clip", "dense", "label", "tick", "marker", "blank"]

EDGE = "▏"
"""Drawn in the first cell of a clip block (where the clip's left edge is on screen)."""
LINKED = "∞"
"""Drawn after the edge of a clip that has a linked partner (a video/audio pair)."""
DENSE = "░"
"""Fill of a dense run: several clips narrower than a cell."""
MARKER = "◆"
MAJOR_TICK = "╵"
MINOR_TICK = "·"
ELLIPSIS = "…"

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


# -- tracks ------------------------------------------------------------------------------------


class TrackIndex:
    """One track's clip starts and ends as plain sorted lists, for bisection.

    Built once per ``Track`` object (tracks are immutable, and an edit replaces only the tracks
    it touches, so an index is reused until its track changes). Building is O(n); every query
    after that is O(log n).
    """

    __slots__ = ("_positions", "clips", "ends", "kind", "starts", "track")

    def __init__(self, track: Track) -> None:
        self.track = track
        self.kind = track.kind
        self.clips: tuple[Clip, ...] = track.clips
        self.starts: list[int] = [c.start for c in track.clips]
        self.ends: list[int] = [c.start + c.duration for c in track.clips]
        self._positions: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.starts)

    def position(self, clip_id: str) -> int:
        """The index of the clip with ``clip_id`` in this track, or -1 (built on first use)."""
        if self._positions is None:
            self._positions = {c.id: i for i, c in enumerate(self.clips)}
        return self._positions.get(clip_id, -1)

    def covering(self, frame: int) -> int:
        """The index of the clip that covers ``frame``, or -1."""
        i = bisect_right(self.starts, frame) - 1
        return i if i >= 0 and self.ends[i] > frame else -1

    def hidden(self, a: int, b: int) -> int:
        """The index of the first clip lying inside ``(a, b]`` (starts after ``a``, ends by
        ``b``), or -1: a clip that no sample frame ``a`` or ``b`` touches."""
        # Clips do not overlap: if any clip lies inside, the first one starting after a does.
        lo = bisect_right(self.starts, a)
        return lo if lo < len(self.ends) and self.ends[lo] <= b else -1


def track_runs(index: TrackIndex, vp: Viewport, selection: Collection[str] = ()) -> list[Run]:
    """One track row: runs covering ``[0, vp.width_cols)`` exactly (see the module doc).

    A clip block's text is its name behind an edge mark (when its left edge is on screen) and
    the linked glyph; ``selection`` holds the selected clip ids.
    """
    f0, fpc, width = vp.first_frame, vp.frames_per_col, vp.width_cols
    starts, ends, n = index.starts, index.ends, len(index.starts)
    # Raw runs [start, end, kind, clip index]; adjacent gaps and dense cells merge as they come.
    raw: list[list[int]] = []
    gap, clip, dense = 0, 1, 2

    def add(start: int, end: int, kind: int, ci: int = -1) -> None:
        if end <= start:
            return
        if raw and kind != clip and raw[-1][2] == kind and raw[-1][1] == start:
            raw[-1][1] = end
        else:
            raw.append([start, end, kind, ci])

    # One bisection per step; a step jumps over a whole block or gap. The last cell of a block
    # or gap holds a hidden clip exactly when the next clip ends inside that cell (clips do
    # not overlap, so the next clip is the first one starting after the cell's sample).
    c = 0
    while c < width:
        a = f0 + c * fpc
        i = bisect_right(starts, a) - 1
        if i >= 0 and ends[i] > a:
            full_end = -(-(ends[i] - f0) // fpc)  # first column sampled at or after the end
            e = min(full_end, width)
            if full_end <= width and i + 1 < n and ends[i + 1] <= f0 + e * fpc:
                add(c, e - 1, clip, i)
                add(e - 1, e, dense)
            else:
                add(c, e, clip, i)
            c = e
            continue
        j = i + 1
        if j >= n:
            add(c, width, gap)
            break
        k = -(-(starts[j] - f0) // fpc)  # first column sampled at or after the next clip
        if k - 1 < width and ends[j] <= f0 + k * fpc:
            add(c, k - 1, gap)
            add(k - 1, k, dense)
        else:
            add(c, min(k, width), gap)
        c = k

    selected_spans: list[tuple[int, int]] = []
    if selection:
        for sid in selection:
            p = index.position(sid)
            if p >= 0:
                selected_spans.append((starts[p], ends[p]))

    runs: list[Run] = []
    clips = index.clips
    # Text and remotion clips look like their kind, media clips like their track's kind.
    styles = {"media": f"clip-{index.kind}", "text": "clip-text", "remotion": "clip-remotion"}
    for start, end, kind, ci in raw:
        w = end - start
        if kind == clip:
            cl = clips[ci]
            edge = starts[ci] > f0 + (start - 1) * fpc
            linked = cl.linked_id is not None
            prefix = (EDGE if edge else "") + (LINKED if linked else "")
            runs.append(
                Run(
                    start,
                    end,
                    "clip",
                    fit_label(prefix, cl.name, w),
                    styles[cl.kind],
                    cl.id,
                    ci,
                    cl.id in selection,
                    linked,
                )
            )
        elif kind == dense:
            lo, hi = f0 + start * fpc, f0 + end * fpc
            sel = any(s < hi and e > lo for s, e in selected_spans)
            runs.append(Run(start, end, "dense", DENSE * w, "dense", selected=sel))
        else:
            runs.append(Run(start, end, "gap", " " * w, "gap"))
    return runs


def detail_runs(runs: Sequence[Run], index: TrackIndex, vp: Viewport, rate: Rate) -> list[Run]:
    """The second line of a two-line track: the same blocks, labelled with each clip's length
    (blocks of one or two cells, too narrow for a length, repeat the first line)."""
    out: list[Run] = []
    f0, fpc = vp.first_frame, vp.frames_per_col
    for run in runs:
        if run.kind != "clip" or run.end - run.start <= 2:
            out.append(run)
            continue
        cl = index.clips[run.clip_index]
        edge = cl.start > f0 + (run.start - 1) * fpc
        text = fit_label(EDGE if edge else "", short_duration(cl.duration, rate), run.width)
        out.append(run._replace(text=text))
    return out


def plain_runs(runs: Sequence[Run], index: TrackIndex, vp: Viewport) -> list[Run]:
    """A further line of a tall track: the same blocks, with nothing but their edge marks."""
    out: list[Run] = []
    f0, fpc = vp.first_frame, vp.frames_per_col
    for run in runs:
        if run.kind != "clip":
            out.append(run)
            continue
        edge = index.clips[run.clip_index].start > f0 + (run.start - 1) * fpc
        out.append(run._replace(text=fit_label(EDGE if edge else "", "", run.width)))
    return out


def clip_at_col(index: TrackIndex, vp: Viewport, col: int) -> Clip | None:
    """The clip a click on column ``col`` means: the one drawn there, or for a dense cell the
    first clip hidden in it; None over a gap. Agrees with ``track_runs`` cell for cell."""
    if not 0 <= col < vp.width_cols:
        return None
    a = vp.frame_of(col)
    i = index.covering(a)
    if i < 0:
        i = index.hidden(a, a + vp.frames_per_col)
    return index.clips[i] if i >= 0 else None


# -- track heights -----------------------------------------------------------------------------

TALL_LINES = 3
"""Lines of a track that holds footage when there is room: the label, then two lines of
filmstrip."""


@dataclass(frozen=True, slots=True)
class TrackRows:
    """Which track each line under the ruler belongs to: track ``t`` has the lines
    ``[tops[t], tops[t + 1])`` (``tops[0] == 0``, ``tops[-1]`` is the total)."""

    tops: tuple[int, ...]

    @property
    def total(self) -> int:
        """Lines of all the tracks together."""
        return self.tops[-1]

    def lines(self, t: int) -> int:
        """How many lines track ``t`` has."""
        return self.tops[t + 1] - self.tops[t]

    def locate(self, row: int) -> tuple[int, int] | None:
        """``(track, line within that track)`` of line ``row`` under the ruler, or None."""
        if not 0 <= row < self.tops[-1]:
            return None
        t = bisect_right(self.tops, row) - 1
        return t, row - self.tops[t]


def track_rows(tall: Sequence[bool], room: int, forced: int | None = None) -> TrackRows:
    """Lines per track for ``room`` lines under the ruler, where ``tall[t]`` says track ``t``
    holds footage (video that has a filmstrip): ``forced`` lines each when given; else, when
    every track fits that way, ``TALL_LINES`` for those tracks (a filmstrip two lines tall
    under the label) and two for the others; else two each when they fit; else one each (the
    view scrolls)."""
    lines = [TALL_LINES if t else 2 for t in tall]
    if forced is not None:
        lines = [forced] * len(tall)
    elif sum(lines) > room:
        lines = [2 if 2 * len(tall) <= room else 1] * len(tall)
    tops = [0]
    for n in lines:
        tops.append(tops[-1] + n)
    return TrackRows(tuple(tops))


# -- ruler -------------------------------------------------------------------------------------

FRAME_STEPS = (1, 2, 5, 10, 15, 20, 30, 50, 100, 200, 500)
"""Sub-second label steps in frames (those that divide the rate's nominal frames)."""
SECOND_STEPS = (
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
)
"""Label steps of one second and more, in timecode seconds (1 s ... 30 min, 1 h ... 24 h)."""


@dataclass(frozen=True, slots=True)
class RulerStep:
    """The ruler's label spacing at one zoom.

    ``frames`` is the nominal step (``seconds * nominal`` for whole seconds); ``minor`` the
    frames between minor ticks (0 for none); labels are ``label_cols`` cells wide.
    """

    frames: int
    seconds: int
    label_cols: int
    minor: int


def _frame_steps(rate: Rate) -> list[int]:
    nominal = rate.nominal
    steps = [s for s in FRAME_STEPS if s < nominal and nominal % s == 0]
    # Rates such as 24 fps keep few of the round steps; add their half and quarter seconds.
    for part in (4, 2):
        if nominal % part == 0 and nominal // part not in steps and nominal // part > 1:
            steps.append(nominal // part)
    return sorted(steps)


def _second_steps() -> Iterable[int]:
    yield from SECOND_STEPS
    step = SECOND_STEPS[-1]
    while True:
        step *= 2
        yield step


def _tc_second_frame(t: int, rate: Rate) -> int:
    """The first frame whose timecode reads ``t`` whole seconds (drop-frame aware)."""
    nominal, drop = rate.nominal, rate.drop_frames
    if not drop:
        return t * nominal
    minutes = t // 60
    ff = drop if t % 60 == 0 and minutes % 10 else 0
    return t * nominal + ff - drop * (minutes - minutes // 10)


def _label(frame: int, rate: Rate, seconds: int) -> str:
    tc = format_timecode(frame, rate)
    return tc[:-3] if seconds else tc


def ruler_step(frames_per_col: int, rate: Rate, last_frame: int = 0) -> RulerStep:
    """The smallest nice step whose labels keep at least one free cell between them.

    ``last_frame`` (the end of the view) sizes the labels: past 99 hours timecodes are wider.
    """
    fpc = frames_per_col
    hours = len(f"{rate.nominal and last_frame // rate.nominal // 3600:02d}")
    short = hours + 6  # HH:MM:SS
    full = short + 1 + max(2, len(str(rate.nominal - 1)))  # HH:MM:SS:FF
    for s in _frame_steps(rate):
        if s >= (full + 1) * fpc:
            return RulerStep(s, 0, full, _minor(s, fpc))
    drop = rate.drop_frames
    for sec in _second_steps():
        frames = sec * rate.nominal
        # Drop-frame labels sit on timecode seconds, up to ``drop`` frames closer per minute.
        min_gap = frames - drop * (sec // 60 + 1)
        if min_gap >= (short + 1) * fpc:
            return RulerStep(frames, sec, short, _minor(frames, fpc))
    raise AssertionError("unreachable: second steps grow without bound")


def _minor(step: int, fpc: int) -> int:
    for parts in (10, 5, 4, 2):
        if step % parts == 0 and step // parts >= 2 * fpc:
            return step // parts
    return 0


def ruler_labels(vp: Viewport, rate: Rate, step: RulerStep | None = None) -> list[tuple[int, str]]:
    """``(col, text)`` of every label that fits wholly on screen, left to right."""
    step = step or ruler_step(vp.frames_per_col, rate, vp.end_frame)
    out: list[tuple[int, str]] = []
    for frame in _label_frames(vp, rate, step):
        col = vp.col_of(frame)
        if col >= vp.width_cols:
            break
        if col >= 0 and col + step.label_cols <= vp.width_cols:
            out.append((col, _label(frame, rate, step.seconds)))
    return out


def _label_frames(vp: Viewport, rate: Rate, step: RulerStep) -> Iterable[int]:
    """Label frames from the last one before the view to the first one at or after its end
    (the ones just outside give the minor ticks at both edges)."""
    if step.seconds:
        sec = step.seconds

        def at(k: int) -> int:
            return _tc_second_frame(k * sec, rate)

        # Timecode never runs behind the frame count, so this starts at or before the view.
        k = max(0, vp.first_frame // rate.nominal // sec - 1)
    else:
        size = step.frames

        def at(k: int) -> int:
            return k * size

        k = max(0, vp.first_frame // size - 1)
    while at(k + 1) < vp.first_frame:
        k += 1
    end = vp.end_frame
    while True:
        frame = at(k)
        yield frame
        if frame >= end:
            return
        k += 1


def ruler_lines(
    vp: Viewport,
    rate: Rate,
    *,
    markers: Sequence[Marker] = (),
    mark_in: int | None = None,
    mark_out: int | None = None,
    lines: int = 2,
) -> list[list[Run]]:
    """The ruler as ``lines`` rows of runs covering ``[0, vp.width_cols)`` each.

    Two lines: timecode labels above, ticks and markers (glyph and name where there is room)
    below. One line: labels with minor ticks between them and marker glyphs. Cells inside the
    in/out marks are ``in_range``; the playhead is drawn by the caller on top.
    """
    width = vp.width_cols
    step = ruler_step(vp.frames_per_col, rate, vp.end_frame)
    labels = ruler_labels(vp, rate, step)

    # Per cell: text and a (kind, style, color) key; runs are the stretches of equal keys.
    tick_text = [" "] * width
    tick_kind: list[RunKind] = ["blank"] * width
    frames = list(_label_frames(vp, rate, step))
    for i, frame in enumerate(frames):
        col = vp.col_of(frame)
        if 0 <= col < width:
            tick_text[col] = MAJOR_TICK
            tick_kind[col] = "tick"
        if step.minor:
            nxt = frames[i + 1] if i + 1 < len(frames) else frame + step.frames
            tick = frame + step.minor
            while tick < nxt - step.minor // 2:
                tc = vp.col_of(tick)
                if 0 <= tc < width and tick_kind[tc] == "blank":
                    tick_text[tc] = MINOR_TICK
                    tick_kind[tc] = "tick"
                tick += step.minor

    lo = 0 if mark_in is None else mark_in
    hi: int | None = mark_out
    has_range = mark_in is not None or mark_out is not None
    in_range = [
        has_range
        and (hi is None or vp.frame_of(c) < hi)
        and vp.frame_of(c) + vp.frames_per_col > lo
        for c in range(width)
    ]

    marker_cols: list[tuple[int, Marker]] = []
    for m in markers:
        mcol = vp.visible_col(m.frame)
        if mcol is not None:
            marker_cols.append((mcol, m))
    marker_cols.sort(key=lambda cm: cm[0])

    label_text = [" "] * width
    label_kind: list[RunKind] = ["blank"] * width
    for col, text in labels:
        for k, ch in enumerate(text):
            label_text[col + k] = ch
            label_kind[col + k] = "label"

    marker_color: list[str | None] = [None] * width
    target_text, target_kind = (tick_text, tick_kind) if lines >= 2 else (label_text, label_kind)
    if lines < 2:
        for c in range(width):
            if label_kind[c] == "blank" and tick_kind[c] == "tick" and tick_text[c] == MINOR_TICK:
                label_text[c] = MINOR_TICK
                label_kind[c] = "tick"
    for n, (col, m) in enumerate(marker_cols):
        limit = marker_cols[n + 1][0] - 1 if n + 1 < len(marker_cols) else width
        name = m.name if lines >= 2 else ""
        room = max(1, min(limit, width) - col)
        text = MARKER + name
        cells = _cells(fit_text(text, room).rstrip() if cell_len(text) > room else text)
        for k, ch in enumerate(cells):
            if col + k >= width:
                break
            target_text[col + k] = ch
            target_kind[col + k] = "marker"
            marker_color[col + k] = m.color

    def shaded(kinds: list[RunKind]) -> list[bool]:
        # Markers keep their own look, so a wide character never straddles two runs.
        return [r and kind != "marker" for r, kind in zip(in_range, kinds, strict=True)]

    no_color: list[str | None] = [None] * width
    if lines < 2:
        return [_compress(label_text, label_kind, shaded(label_kind), marker_color)]
    return [
        _compress(label_text, label_kind, shaded(label_kind), no_color),
        _compress(tick_text, tick_kind, shaded(tick_kind), marker_color),
    ]


def _cells(text: str) -> list[str]:
    """``text`` as one string per cell: a wide character fills its first cell, then ``""``."""
    out: list[str] = []
    for ch in text:
        out.append(ch)
        if cell_len(ch) == 2:
            out.append("")
    return out


_RULER_STYLE = {
    "blank": "ruler",
    "label": "ruler-label",
    "tick": "ruler-tick",
    "marker": "marker",
}


def _compress(
    text: list[str], kinds: list[RunKind], in_range: list[bool], colors: list[str | None]
) -> list[Run]:
    runs: list[Run] = []
    width = len(text)
    c = 0
    while c < width:
        kind, rng, color = kinds[c], in_range[c], colors[c]
        e = c + 1
        while e < width and kinds[e] == kind and in_range[e] == rng and colors[e] == color:
            e += 1
        # A wide character's second cell is "" and always shares its run (markers only).
        runs.append(
            Run(c, e, kind, "".join(text[c:e]), _RULER_STYLE[kind], in_range=rng, color=color)
        )
        c = e
    return runs


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
