"""Three-point editing's arithmetic (`tui/three_point.py`), trim mode's edit point
(`tui/trim_mode.py`) and the import prompt's completion (`tui/path_prompt.py`): pure
functions, no app.

Marks are half-open: an out mark is the first frame not used.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engine.errors import ReelcutError
from engine.model import EditorState, Project
from tests.engine.timelines import ASSETS, timeline
from tui.path_prompt import common_completion, completions
from tui.three_point import Placement, Source, place, replace_range, track_end
from tui.trim_mode import edit_point

VIDEO = ASSETS[0]  # 10,000 frames
STILL = ASSETS[3]


def marked(p: Project, mark_in: int | None, mark_out: int | None) -> Project:
    return msgspec.structs.replace(p, editor=EditorState(mark_in=mark_in, mark_out=mark_out))


P = timeline({"V1": [(0, 100)], "A1": [(0, 100)]})


@pytest.mark.parametrize(
    ("t_marks", "source", "expected"),
    [
        # no marks anywhere: at the playhead, from the source playhead to the media's end
        ((None, None), Source("a_1", position=50), Placement(40, 50, 9_950)),
        # source in and out, no timeline marks: at the playhead, the source's length
        ((None, None), Source("a_1", 9, 10, 40), Placement(40, 10, 30)),
        # source in/out + timeline in: at the timeline in
        ((20, None), Source("a_1", 0, 10, 40), Placement(20, 10, 30)),
        # timeline in/out + source in: the timeline range decides the length
        ((20, 30), Source("a_1", 0, 10, None), Placement(20, 10, 10)),
        # all four: the timeline range wins, the source out is ignored
        ((20, 30), Source("a_1", 0, 10, 90), Placement(20, 10, 10)),
        # timeline in/out + only a source out: back-timed from it
        ((20, 30), Source("a_1", 0, None, 90), Placement(20, 80, 10)),
        # only a timeline out: the edit is back-timed to end there
        ((None, 70), Source("a_1", 0, 10, 40), Placement(40, 10, 30)),
    ],
)
def test_three_points(
    t_marks: tuple[int | None, int | None], source: Source, expected: Placement
) -> None:
    assert place(marked(P, *t_marks), source, VIDEO, playhead=40) == expected


def test_a_still_has_no_end_and_takes_the_default_length_unless_marked() -> None:
    assert place(P, Source("a_4"), STILL, 5) == Placement(5, 0, None)
    assert place(marked(P, 10, 25), Source("a_4"), STILL, 5) == Placement(10, 0, 15)
    with pytest.raises(ReelcutError, match="no end to back-time from"):
        place(marked(P, None, 50), Source("a_4"), STILL, 5)


def test_points_that_do_not_fit_are_refused_with_what_to_change() -> None:
    with pytest.raises(ReelcutError, match=r"past the end of a_1\.mp4"):
        place(P, Source("a_1", position=10_000), VIDEO, 0)
    with pytest.raises(ReelcutError, match="would start 20 frames before the timeline"):
        place(marked(P, None, 10), Source("a_1", 0, 0, 30), VIDEO, 0)
    with pytest.raises(ReelcutError, match="longer than the source before its out mark"):
        place(marked(P, 0, 50), Source("a_1", 0, None, 30), VIDEO, 0)


def test_replace_lines_up_the_playheads_or_takes_the_source_in() -> None:
    clip = P.tracks[0].clips[0]  # [0, 100)
    assert replace_range(P, Source("a_1", position=500), VIDEO, clip, 40) == Placement(0, 460, 100)
    assert replace_range(P, Source("a_1", 500, 7), VIDEO, clip, 40) == Placement(0, 7, 100)
    with pytest.raises(ReelcutError, match=r"before a_1\.mp4 begins"):
        replace_range(P, Source("a_1", position=10), VIDEO, clip, 40)


def test_append_goes_after_the_target_tracks_last_clip() -> None:
    p = timeline({"V2": [(0, 500)], "V1": [(0, 100)], "A1": [(0, 120)]})
    v1, a1 = p.tracks[1].id, p.tracks[2].id
    assert track_end(p, (v1, None)) == 100
    assert track_end(p, (v1, a1)) == 120
    assert track_end(timeline({"V1": []}), ("t_1",)) == 0


def test_the_edit_point_is_the_nearest_clip_edge_with_its_two_sides() -> None:
    track = timeline({"V1": [(0, 10), (10, 10), (30, 5)]}).tracks[0]
    point, left, right = edit_point(track, 12) or (None, None, None)
    assert (point, left and left.id, right and right.id) == (10, "c_10", "c_11")
    point, left, right = edit_point(track, 24) or (None, None, None)
    assert (point, left and left.id, right) == (20, "c_11", None)
    point, left, right = edit_point(track, 28) or (None, None, None)
    assert (point, left, right and right.id) == (30, None, "c_12")
    assert edit_point(timeline({"V1": []}).tracks[0], 3) is None


def test_path_completion_lists_folders_first_class_and_hides_dotfiles(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "interview-a.mp4").write_bytes(b"")
    (tmp_path / "media" / "interview-b.mp4").write_bytes(b"")
    (tmp_path / "media" / ".hidden.mp4").write_bytes(b"")
    (tmp_path / "music.wav").write_bytes(b"")
    base = f"{tmp_path}/"
    assert completions(base + "m") == [base + "media/", base + "music.wav"]
    assert common_completion(base + "me") == base + "media/"
    assert common_completion(base + "media/i") == base + "media/interview-"
    assert completions(base + "media/") == [
        base + "media/interview-a.mp4",
        base + "media/interview-b.mp4",
    ]
    assert common_completion(base + "nothing") is None
