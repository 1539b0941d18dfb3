"""Magnet snap: the targets, the threshold in terminal columns at a zoom, the off switch."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import EditorState, Marker, Project
from engine.snap import Snap, snap
from tests.engine.timelines import timeline


def project(**editor: object) -> Project:
    """V1 clip 10-30 (c_10), A2 clip 50-60 (c_11), marker "beat" at 80, playhead 100, in/out
    marks 120/140, zoom 4 frames per column."""
    p = timeline({"V1": [(10, 20)], "A2": [(50, 10)]})
    ed = EditorState(playhead=100, frames_per_cell=4, mark_in=120, mark_out=140)
    return msgspec.structs.replace(
        p,
        markers=(Marker(id="m_1", frame=80, name="beat"),),
        editor=msgspec.structs.replace(ed, **editor),
    )


@pytest.mark.parametrize(
    ("frame", "cells", "frames_per_cell", "expected"),
    [
        (12, 2, 4, Snap(10, "start of V1.0", 2)),
        (12, 2, 1, Snap(10, "start of V1.0", 2)),  # the reach is inclusive
        (13, 2, 1, None),
        (33, 1, 4, Snap(30, "end of V1.0", 3)),
        (20, 2, 4, None),  # inside a long clip, both edges 10 frames away
        (20, 3, 4, Snap(10, "start of V1.0", 10)),  # a tie goes to the earlier frame
        (55, 2, 4, Snap(50, "start of A2.0", 5)),
        (57, 2, 4, Snap(60, "end of A2.0", 3)),
        (83, 1, 4, Snap(80, "marker beat", 3)),
        (97, 1, 4, Snap(100, "playhead", 3)),
        (118, 1, 4, Snap(120, "in mark", 2)),
        (143, 1, 4, Snap(140, "out mark", 3)),
        (143, 1, 2, None),  # zoomed in, the same column distance covers fewer frames
        (200, 2, 4, None),
        (0, 2, 4, None),
    ],
)
def test_snap_targets_and_threshold(
    frame: int, cells: int, frames_per_cell: int, expected: Snap | None
) -> None:
    assert (
        snap(project(), frame, threshold_cells=cells, frames_per_cell=frames_per_cell) == expected
    )


def test_the_zoom_defaults_to_the_projects() -> None:
    assert snap(project(frames_per_cell=1), 13) is None
    assert snap(project(frames_per_cell=4), 13) == Snap(10, "start of V1.0", 3)


def test_the_playhead_wins_a_tie_on_the_same_frame() -> None:
    assert snap(project(playhead=30), 31) == Snap(30, "playhead", 1)


def test_dragged_clips_do_not_snap_to_their_own_edges() -> None:
    assert snap(project(), 12, exclude={"c_10"}) is None
    assert snap(project(), 47, exclude={"c_10"}) == Snap(50, "start of A2.0", 3)


def test_snapping_off_leaves_the_position_alone() -> None:
    assert snap(project(), 10, enabled=False) is None
    assert snap(project(snapping=False), 10) is None
    assert snap(project(snapping=False), 11, enabled=True) == Snap(10, "start of V1.0", 1)


def brute_force(p: Project, frame: int, reach: int) -> Snap | None:
    """Every target in the documented order; the nearest, then the earliest, then the first."""
    ed = p.editor
    targets = [(ed.playhead, "playhead")]
    for t in p.tracks:
        for c in t.clips:
            targets += [(c.start, f"start of {c.name}"), (c.end, f"end of {c.name}")]
    targets += [(m.frame, f"marker {m.name or m.id}") for m in p.markers]
    targets += [
        (f, w) for f, w in ((ed.mark_in, "in mark"), (ed.mark_out, "out mark")) if f is not None
    ]
    near = [Snap(f, w, abs(f - frame)) for f, w in targets if abs(f - frame) <= reach]
    return min(near, key=lambda s: (s.distance, s.frame), default=None)


@settings(max_examples=200, deadline=None)
@given(
    clips=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 30)), max_size=12),
    frame=st.integers(0, 300),
    cells=st.integers(0, 4),
    frames_per_cell=st.integers(1, 8),
    playhead=st.integers(0, 300),
)
def test_snap_agrees_with_a_scan_of_every_target(
    clips: list[tuple[int, int]], frame: int, cells: int, frames_per_cell: int, playhead: int
) -> None:
    """The per-track binary search finds what a scan of every target finds."""
    ranges, at = [], 0
    for gap, duration in clips:
        ranges.append((at + gap, duration))
        at += gap + duration
    p = project(playhead=playhead)
    p = msgspec.structs.replace(
        p, tracks=timeline({"V1": ranges, "A1": ranges[::2], "A2": [(40, 30)]}).tracks
    )
    got = snap(p, frame, threshold_cells=cells, frames_per_cell=frames_per_cell)
    assert got == brute_force(p, frame, cells * frames_per_cell)
