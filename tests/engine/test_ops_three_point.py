"""The ops behind the editor's three-point editing that Insert and Overwrite do not cover:
place on top (the nearest free track above, or a new one) and lift of a marked range.

Timelines come from ``timelines.timeline`` (see tests/engine/test_ops_place.py for the ids);
the list of tracks runs top-down, so V2 listed before V1 is above it.
"""

from __future__ import annotations

import msgspec

from engine.ops import LiftRange, PlaceOnTop, SetMarks
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import links, show, timeline


def test_place_on_top_uses_the_target_when_it_is_free_there() -> None:
    p = timeline({"V1": [(0, 10)], "A1": [(0, 10)]})
    r = applied(PlaceOnTop("a_1", at=20, duration=5), p)
    assert show(r.project) == ["V1: c_10[0,10) c_112[20,25)", "A1: c_11[0,10) c_113[20,25)"]
    assert ("c_112", "c_113") in links(r.project)


def test_place_on_top_takes_the_nearest_free_track_above_and_moves_nothing() -> None:
    p = timeline({"V3": [], "V2": [(0, 4)], "V1": [(0, 10)], "A1": [(0, 10)], "A2": []})
    r = applied(PlaceOnTop("a_1", at=2, duration=5, track="V1"), p)
    assert show(r.project) == [
        "V3: c_113[2,7)",
        "V2: c_10[0,4)",
        "V1: c_11[0,10)",
        "A1: c_12[0,10)",
        "A2: c_114[2,7)",
    ]
    assert r.summary.endswith("on V3 and A2")


def test_place_on_top_adds_a_track_above_every_video_track_when_none_is_free() -> None:
    p = timeline({"V2": [(0, 4)], "V1": [(0, 10)], "A1": [(0, 10)]})
    r = applied(PlaceOnTop("a_3", at=0, duration=3), p)
    assert show(r.project) == [
        "V2: c_10[0,4)",
        "V1: c_11[0,10)",
        "A1: c_12[0,10)",
        "A2: c_113[0,3)",
    ]
    v = applied(PlaceOnTop("a_1", at=1, duration=3, with_audio=False), p)
    assert [t.name for t in v.project.tracks] == ["V3", "V2", "V1", "A1"]
    assert show(v.project)[0] == "V3: c_113[1,4)"
    assert v.project.tracks[0].kind == "video"


def test_place_on_top_refuses_what_place_refuses() -> None:
    p = timeline({"V1": [(0, 10)]})
    refused(PlaceOnTop("a_9", at=0), p, "asset 'a_9' does not exist")
    refused(PlaceOnTop("a_1", at=0, source_in=9_999, duration=5), p, "use a shorter range")


def test_lift_range_clears_every_unlocked_track_and_leaves_the_gap() -> None:
    p = timeline({"V1": [(0, 10), (10, 10)], "A1": [(0, 10), (10, 10)], "A2": [(0, 20)]})
    r = applied(LiftRange(start=5, end=15), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,5)@100 c_117[15,20)@105",
        "A1: c_12[0,5)@100 c_118[15,20)@105",
        "A2: c_14[0,5)@100 c_120[15,20)@115",
    ]
    assert r.summary == "lifted 00:00:00:05-00:00:00:15 from every unlocked track"


def test_lift_range_takes_the_marks_and_leaves_locked_tracks() -> None:
    p = timeline({"V1": [(0, 20)], "A2": [(0, 20)]}, locked=("A2",))
    marked = SetMarks(mark_in=4, mark_out=8).apply(p).project
    r = applied(LiftRange(), marked)
    assert show(r.project) == ["V1: c_10[0,4) c_113[8,20)", "A2: c_11[0,20)"]
    refused(LiftRange(), p, "set in and out marks first")
    refused(LiftRange(start=8, end=8), p, "the range 00:00:00:08-00:00:00:08 is empty")
    assert msgspec.json.decode(msgspec.json.encode(LiftRange(start=1, end=2)))["op"] == (
        "lift_range"
    )
