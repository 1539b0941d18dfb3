"""Track lines: the runs of cells each line of a track shows at a viewport, and how many
lines each track gets. No Textual here.

Column ``c`` of the timeline area (see ``tui.timeline.viewport``) is sampled at its first
frame, ``a_c``::

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
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from engine.model import Clip, Track
from engine.timebase import Rate
from tui.timeline.runs import Run, fit_label, short_duration
from tui.timeline.viewport import Viewport

EDGE = "▏"
"""Drawn in the first cell of a clip block (where the clip's left edge is on screen)."""
LINKED = "∞"
"""Drawn after the edge of a clip that has a linked partner (a video/audio pair)."""
DENSE = "░"
"""Fill of a dense run: several clips narrower than a cell."""


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

    A clip block's text is its name (and its gain when not 0 dB) behind an edge mark (when its
    left edge is on screen) and the linked glyph; ``selection`` holds the selected clip ids.
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
                    fit_label(prefix, cl.name + gain_label(cl) if cl.audio else cl.name, w),
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


def gain_label(clip: Clip) -> str:
    """`` -6 dB`` after a clip's name when its gain is not 0 dB, else nothing."""
    gain = clip.sound.gain_db
    return f" {gain:+.3g} dB" if gain else ""


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


def generation_runs(
    runs: Sequence[Run], index: TrackIndex, vp: Viewport, labels: Mapping[str, str]
) -> list[Run]:
    """The second line of an audio track where clips of takes being generated (TTS
    placeholders) say their state (``labels`` by asset id) instead of their length or
    waveform."""
    out: list[Run] = []
    f0, fpc = vp.first_frame, vp.frames_per_col
    for run in runs:
        if run.kind != "clip" or run.end - run.start <= 2:
            out.append(run)
            continue
        cl = index.clips[run.clip_index]
        said = labels.get(cl.asset_id or "")
        if said is None:
            out.append(run)
            continue
        edge = cl.start > f0 + (run.start - 1) * fpc
        out.append(run._replace(text=fit_label(EDGE if edge else "", said, run.width), pixels=None))
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
