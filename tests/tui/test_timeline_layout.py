"""Timeline layout: frames <-> columns, track runs, dense runs, the ruler, zoom and scroll.

Pure functions, checked against brute-force oracles on random timelines (Hypothesis) and on a
few drawn-out examples.
"""

from __future__ import annotations

import bisect
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from engine.errors import ReelcutError
from engine.model import Clip, Marker, Track
from engine.timebase import Rate, format_timecode, parse_timecode
from tui.timeline.ruler import MARKER, ruler_labels, ruler_lines, ruler_step
from tui.timeline.runs import Run, fit_text, short_duration
from tui.timeline.tracks import EDGE, LINKED, TrackIndex, clip_at_col, detail_runs, track_runs
from tui.timeline.viewport import (
    Viewport,
    fit_frames_per_col,
    keep_visible,
    zoom_by,
    zoom_to,
    zoom_to_fit,
)

RATES = [Rate(30), Rate(24), Rate(25), Rate(30000, 1001), Rate(60000, 1001), Rate(1), Rate(1000)]


def make_track(spans: list[tuple[int, int]], kind: str = "video", **clip_fields: object) -> Track:
    clips = tuple(
        Clip(id=f"c_{i}", kind="media", name=f"clip{i}", start=s, duration=d, **clip_fields)  # type: ignore[arg-type]
        for i, (s, d) in enumerate(spans)
    )
    return Track(id="t_1", kind=kind, name="V1", clips=clips)  # type: ignore[arg-type]


@st.composite
def tracks(draw: st.DrawFn, max_clips: int = 60) -> Track:
    """A track of non-overlapping clips: random gaps (often none) and lengths (often tiny)."""
    n = draw(st.integers(0, max_clips))
    spans, at = [], draw(st.integers(0, 50))
    for _ in range(n):
        at += draw(st.one_of(st.just(0), st.integers(0, 40)))
        duration = draw(st.one_of(st.integers(1, 3), st.integers(1, 200)))
        spans.append((at, duration))
        at += duration
    return make_track(spans)


@st.composite
def viewports(draw: st.DrawFn, max_width: int = 120) -> Viewport:
    fpc = draw(st.one_of(st.integers(1, 4), st.integers(1, 300)))
    first = draw(st.integers(0, 2000))
    if draw(st.booleans()):
        first -= first % fpc
    return Viewport(first, fpc, draw(st.integers(0, max_width)))


def expand(runs: list[Run]) -> list[Run]:
    """One entry per column: the run drawn there."""
    return [run for run in runs for _ in range(run.start, run.end)]


def assert_covers(runs: list[Run], width: int) -> None:
    at = 0
    for run in runs:
        assert run.start == at and run.end > run.start, runs
        assert cell_len(run.text) == run.end - run.start, run
        at = run.end
    assert at == width


def oracle(track: Track, vp: Viewport, col: int) -> tuple[str, str | None]:
    """What column ``col`` must show, by brute force over every clip."""
    a = vp.frame_of(col)
    b = a + vp.frames_per_col
    if any(a < c.start and c.end <= b for c in track.clips):
        return "dense", None
    covering = [c.id for c in track.clips if c.start <= a < c.end]
    return ("clip", covering[0]) if covering else ("gap", None)


# -- track runs -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(tracks(), viewports())
def test_runs_cover_the_row_and_match_the_oracle(track: Track, vp: Viewport) -> None:
    """Runs tile [0, width) without overlap, and every column shows what the sampling rule says:
    the clip covering the column's first frame, a dense cell where a clip hides, else a gap.
    A stretch of tiny clips is one dense run, not one run per clip or per cell."""
    runs = track_runs(TrackIndex(track), vp)
    assert_covers(runs, vp.width_cols)
    for col, run in enumerate(expand(runs)):
        assert (run.kind, run.clip_id) == oracle(track, vp, col), (col, runs)
    for left, right in itertools.pairwise(runs):
        assert not (left.kind == right.kind and left.kind in ("gap", "dense"))


@settings(max_examples=100, deadline=None)
@given(tracks(), viewports())
def test_every_clip_in_view_is_drawn_as_a_block_or_inside_a_dense_run(
    track: Track, vp: Viewport
) -> None:
    per_col = expand(track_runs(TrackIndex(track), vp))
    for clip in track.clips:
        if clip.end <= vp.first_frame or clip.start >= vp.end_frame:
            continue
        block = [c for c, run in enumerate(per_col) if run.clip_id == clip.id]
        if block:
            assert block == list(range(block[0], block[-1] + 1)), "a block is contiguous"
            assert vp.frame_of(block[0]) >= clip.start or block[0] == 0
            assert vp.frame_of(block[-1]) < clip.end
        elif clip.end <= vp.end_frame:
            # Hidden in a cell, or its only sampled cell is dense: either way a dense cell.
            overlapped = range(max(0, vp.col_of(clip.start)), vp.col_of(clip.end - 1) + 1)
            assert any(per_col[c].kind == "dense" for c in overlapped), clip


def test_the_module_diagram() -> None:
    """A = [0, 9) covers a_0..a_2, B = [9, 11) hides in col 2, C = [12, 22) covers a_3, a_4."""
    track = make_track([(0, 9), (9, 2), (12, 10)])
    runs = track_runs(TrackIndex(track), Viewport(0, 4, 5))
    assert [(r.start, r.end, r.kind, r.clip_id) for r in runs] == [
        (0, 2, "clip", "c_0"),
        (2, 3, "dense", None),
        (3, 5, "clip", "c_2"),
    ]


def test_a_thousand_tiny_clips_collapse_into_one_dense_run() -> None:
    track = make_track([(i * 3, 2) for i in range(1000)])
    runs = track_runs(TrackIndex(track), Viewport(0, 30, 120))
    assert [(r.start, r.end, r.kind) for r in runs] == [(0, 100, "dense"), (100, 120, "gap")]
    # Zoomed in to one frame per column the same clips are blocks again.
    runs = track_runs(TrackIndex(track), Viewport(0, 1, 12))
    assert [r.kind for r in runs] == ["clip", "gap"] * 4


@pytest.mark.parametrize("fpc", [1, 30, 3000])
def test_row_cost_depends_on_the_view_not_on_the_clip_count(
    fpc: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same 200 columns take the same bisections (each O(log n)) with 1k or 100k clips
    behind them, at most one per column; nothing walks the clips."""
    calls = []

    def counting(a: list[int], x: int, *args: int) -> int:
        calls.append(x)
        return bisect.bisect_right(a, x, *args)

    monkeypatch.setattr("tui.timeline.tracks.bisect_right", counting)
    counts = []
    for n in (1_000, 100_000):
        track = make_track([(i * 40 + (i % 3) * 5, 20 + i % 7) for i in range(n)])
        calls.clear()
        runs = track_runs(TrackIndex(track), Viewport(20_000 // fpc * fpc, fpc, 200))
        assert_covers(runs, 200)
        counts.append(len(calls))
    assert 0 < max(counts) <= 200, counts
    if fpc <= 30:  # both tracks fill the view: the same clips are in it
        assert counts[0] == counts[1]


def test_clip_labels_edges_links_and_selection() -> None:
    track = make_track([(0, 40), (40, 40)], linked_id="c_9")
    index = TrackIndex(track)
    runs = track_runs(index, Viewport(0, 2, 40), selection={"c_1"})
    assert runs[0].text == fit_text(EDGE + LINKED + "clip0", 20)
    assert runs[0].linked and not runs[0].selected and runs[1].selected
    assert runs[0].style == "clip-video"
    # Scrolled past its start, a clip keeps its name but loses its edge mark.
    runs = track_runs(index, Viewport(10, 2, 10))
    assert runs[0].text == fit_text(LINKED + "clip0", 10)
    # Narrow blocks cut the name with an ellipsis.
    runs = track_runs(index, Viewport(0, 10, 8))
    assert runs[0].text == EDGE + LINKED + "c…"
    detail = detail_runs(runs, index, Viewport(0, 10, 8), Rate(30))
    assert detail[0].text == EDGE + "1s…"


def test_clip_styles_follow_clip_and_track_kinds() -> None:
    audio = make_track([(0, 10)], kind="audio")
    assert track_runs(TrackIndex(audio), Viewport(0, 1, 10))[0].style == "clip-audio"
    text = Track(
        id="t_2",
        kind="video",
        name="V2",
        clips=(Clip(id="c_1", kind="text", name="Title", start=0, duration=5),),
    )
    assert track_runs(TrackIndex(text), Viewport(0, 1, 10))[0].style == "clip-text"


def test_a_dense_run_holding_a_selected_clip_is_selected() -> None:
    track = make_track([(i * 3, 2) for i in range(20)])
    runs = track_runs(TrackIndex(track), Viewport(0, 10, 10), selection={"c_7"})
    assert runs[0].kind == "dense" and runs[0].selected


@settings(max_examples=100, deadline=None)
@given(tracks(), viewports())
def test_clip_at_col_agrees_with_the_runs(track: Track, vp: Viewport) -> None:
    """A click lands on the clip drawn in that column (or one hidden in a dense cell)."""
    index = TrackIndex(track)
    for col, run in enumerate(expand(track_runs(index, vp))):
        clip = clip_at_col(index, vp, col)
        if run.kind == "clip":
            assert clip is not None and clip.id == run.clip_id
        elif run.kind == "gap":
            assert clip is None
        else:
            a = vp.frame_of(col)
            assert clip is not None and clip.start < a + vp.frames_per_col and clip.end > a
    assert clip_at_col(index, vp, -1) is None
    assert clip_at_col(index, vp, vp.width_cols) is None


# -- ruler ------------------------------------------------------------------------------------


def label_frame(text: str, rate: Rate) -> int:
    """The frame a ruler label names (a whole-second label means the second's first frame)."""
    if len(text.split(":")) == 4 or ";" in text:
        return parse_timecode(text, rate)
    sep = ";" if rate.drop_frames else ":"
    try:
        return parse_timecode(f"{text}{sep}00", rate)
    except ReelcutError:  # drop-frame minutes start at ;02
        return parse_timecode(f"{text}{sep}{rate.drop_frames:02d}", rate)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(RATES),
    st.one_of(st.integers(1, 60), st.integers(1, 2_000_000)),
    st.integers(0, 50_000_000),
    st.integers(0, 250),
)
def test_ruler_labels_never_overlap_and_sit_on_their_frames(
    rate: Rate, fpc: int, first: int, width: int
) -> None:
    vp = Viewport(first - first % fpc, fpc, width)
    labels = ruler_labels(vp, rate)
    for (col, text), (next_col, _) in itertools.pairwise(labels):
        assert col + len(text) < next_col, labels
    for col, text in labels:
        assert col >= 0 and col + len(text) <= width
        assert vp.col_of(label_frame(text, rate)) == col, (col, text)
    if width >= 70:
        assert len(labels) >= 2, "a wide ruler always has labels"
    for lines in (1, 2):
        rows = ruler_lines(vp, rate, lines=lines)
        assert len(rows) == lines
        for row in rows:
            assert_covers(row, width)


def test_ruler_steps_are_nice_and_grow_with_the_zoom() -> None:
    rate = Rate(30)
    assert ruler_step(1, rate).frames == 15 and ruler_step(1, rate).seconds == 0
    assert ruler_step(2, rate).seconds == 1
    assert ruler_step(30, rate).seconds == 10
    assert ruler_step(30 * 60, rate).seconds == 600
    assert ruler_step(30 * 3600, rate).seconds == 43200
    steps = [ruler_step(fpc, rate).frames for fpc in range(1, 5000, 7)]
    assert steps == sorted(steps)
    assert ruler_step(1, Rate(24)).frames == 12  # half a second where 15 frames is not round


def test_ruler_two_lines_with_markers_and_marks() -> None:
    vp = Viewport(0, 2, 100)
    markers = [Marker(id="m_1", frame=60, name="Mid", color="#33ccff")]
    labels, ticks = ruler_lines(vp, Rate(30), markers=markers, mark_in=20, mark_out=40)
    text = "".join(r.text for r in labels)
    assert text.startswith("00:00:00 ") and text[15:23] == "00:00:01"
    tick_text = "".join(r.text for r in ticks)
    assert tick_text[30:34] == MARKER + "Mid"
    marker = next(r for r in ticks if r.kind == "marker")
    assert marker.color == "#33ccff" and marker.style == "marker"
    shaded = [c for c, run in enumerate(expand(ticks)) if run.in_range]
    assert shaded == list(range(10, 20))
    assert all(r.color is None for r in labels), "the marker's colour stays on its own line"
    # A marker inside the marks keeps its own look.
    _, ticks = ruler_lines(vp, Rate(30), markers=markers, mark_in=0, mark_out=100)
    assert not any(r.in_range for r in ticks if r.kind == "marker")
    # One line: labels and minor ticks, marker glyphs without names.
    (line,) = ruler_lines(vp, Rate(30), markers=markers, lines=1)
    one = "".join(r.text for r in line)
    assert one[30] == MARKER and "Mid" not in one and one.startswith("00:00:00")


# -- zoom and scroll --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 500),
    st.integers(0, 10_000),
    st.integers(1, 200),
    st.integers(0, 199),
    st.integers(1, 2000),
    st.integers(0, 1000),
)
def test_zoom_keeps_the_anchor_column(
    fpc: int, first_col: int, width: int, col: int, new_fpc: int, offset: int
) -> None:
    vp = Viewport(first_col * fpc, fpc, width)
    col = col % width
    anchor = vp.frame_of(col) + offset % fpc
    zoomed = zoom_to(vp, new_fpc, anchor)
    assert zoomed.frames_per_col == new_fpc and zoomed.first_frame % new_fpc == 0
    if anchor // new_fpc >= col:
        assert zoomed.col_of(anchor) == col
    else:
        assert zoomed.first_frame == 0


def test_zoom_by_steps_and_stops_at_the_bounds() -> None:
    vp = Viewport(300, 4, 100)
    assert zoom_by(vp, 0.5, 400, max_frames_per_col=1000).frames_per_col == 2
    assert zoom_by(vp, 2, 400, max_frames_per_col=1000).frames_per_col == 8
    assert zoom_by(vp, 1.1, 400, max_frames_per_col=1000).frames_per_col == 5
    one = Viewport(0, 1, 100)
    assert zoom_by(one, 0.5, 10, max_frames_per_col=1000).frames_per_col == 1
    assert zoom_by(vp, 2, 400, max_frames_per_col=6).frames_per_col == 6


@pytest.mark.parametrize("hours", [1, 10])
@pytest.mark.parametrize("width", [68, 148, 188])
def test_zoom_to_fit_shows_hour_long_timelines_whole(hours: int, width: int) -> None:
    rate = Rate(30000, 1001)
    duration = hours * 3600 * 30
    vp = zoom_to_fit(Viewport(12_345, 3, width), duration)
    assert vp.first_frame == 0
    assert vp.col_of(duration - 1) < width <= vp.col_of(duration - 1) + 2
    assert vp.frames_per_col == fit_frames_per_col(duration, width)
    assert (duration - 1) // (vp.frames_per_col - 1) >= width, "the fit is the tightest zoom"
    # A timeline of one clip per second still draws in a handful of runs per track.
    track = make_track([(s * 30, 29) for s in range(hours * 3600)])
    runs = track_runs(TrackIndex(track), vp)
    assert_covers(runs, width)
    assert runs[0].kind == "dense" and len(runs) <= 3
    labels = ruler_labels(vp, rate)
    assert labels and labels[0][1] == "00:00:00"


def test_keep_visible_pages_to_the_frame() -> None:
    vp = Viewport(0, 2, 80)
    assert keep_visible(vp, 100) is vp
    after = keep_visible(vp, 1000)
    assert after.visible_col(1000) == 10 and after.first_frame % 2 == 0
    back = keep_visible(after, 3)
    assert back.first_frame == 0 and back.visible_col(3) == 1


# -- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Title", 8, "Title   "),
        ("Title", 5, "Title"),
        ("Title", 4, "Tit…"),
        ("Title", 1, "T"),
        ("Title", 0, ""),
        ("日本語", 4, "日 …"),
    ],
)
def test_fit_text(text: str, width: int, expected: str) -> None:
    assert fit_text(text, width) == expected
    assert cell_len(fit_text(text, width)) == width


@pytest.mark.parametrize(
    ("frames", "expected"),
    [(12, "12f"), (30, "1s"), (45, "1s15f"), (30 * 125, "2m05s"), (30 * 3720, "1h02m")],
)
def test_short_duration(frames: int, expected: str) -> None:
    assert short_duration(frames, Rate(30)) == expected


def test_viewport_maps_columns_and_frames() -> None:
    vp = Viewport(100, 4, 50, header_cols=12)
    assert vp.col_of(100) == 0 and vp.col_of(103) == 0 and vp.col_of(104) == 1
    assert vp.col_of(99) == -1 and vp.visible_col(99) is None
    assert vp.frame_of(3) == 112 and vp.end_frame == 300
    assert vp.col_at_x(11) is None and vp.col_at_x(12) == 0 and vp.col_at_x(62) is None
    assert format_timecode(vp.frame_of(vp.col_at_x(14) or 0), Rate(30)) == "00:00:03:18"
    with pytest.raises(ValueError):
        Viewport(0, 0, 10)
