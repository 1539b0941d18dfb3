"""Blade, Lift, RippleDelete, CloseGap and RippleDeleteRange.

Clip ids are ``c_10, c_11, ...`` in track order; new ids start at ``c_<10 + clips + 100>``
(see ``timelines.timeline``). Timecodes are at 30 fps.
"""

from __future__ import annotations

import msgspec

from engine.ops import Blade, CloseGap, Lift, RippleDelete, RippleDeleteRange, SetMarks, Unlink
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import links, show, timeline, with_title

THREE = {"V1": [(0, 2), (2, 2), (4, 2)], "A1": [(0, 2), (2, 2), (4, 2)]}
"""[AABBCC] on V1 (c_10 c_11 c_12), linked to A1 (c_13 c_14 c_15)."""

# -- Blade ----------------------------------------------------------------------------------


def test_blade_cuts_every_clip_under_the_frame_on_unlocked_tracks() -> None:
    """The docstring's case: [AAAAAA] blade at 2 -> [AA|AAAA], on the pair; V2 is locked."""
    p = timeline({"V2": [(0, 6)], "V1": [(0, 6)], "A1": [(0, 6)]}, locked=("V2",))
    r = applied(Blade(at=2), p)
    assert show(r.project, sources=True) == [
        "V2: c_10[0,6)@100",
        "V1: c_11[0,2)@100 c_113[2,6)@102",
        "A1: c_12[0,2)@100 c_114[2,6)@102",
    ]
    assert links(r.project) == {("c_11", "c_12"), ("c_113", "c_114")}
    assert r.summary == "cut 2 clip(s) at 00:00:00:02"


def test_blade_of_named_clips_cuts_their_partners_and_nothing_else() -> None:
    p = timeline({"V1": [(0, 6)], "A1": [(0, 6)], "V2": [(0, 6)]})
    r = applied(Blade(at=4, clip_ids=("c_10",)), p)
    assert show(r.project) == [
        "V1: c_10[0,4) c_113[4,6)",
        "A1: c_11[0,4) c_114[4,6)",
        "V2: c_12[0,6)",
    ]


def test_blade_of_an_unlinked_clip_cuts_it_alone() -> None:
    p = Unlink("c_10").apply(timeline({"V1": [(0, 6)], "A1": [(0, 6)]})).project
    r = applied(Blade(at=4, clip_ids=("c_10",)), p)
    assert show(r.project) == ["V1: c_10[0,4) c_112[4,6)", "A1: c_11[0,6)"]


def test_blade_cuts_a_text_clip() -> None:
    p = with_title(timeline({"V1": []}), "V1", 10, 20)
    r = applied(Blade(at=15), p)
    assert show(r.project) == ["V1: c_99[10,15) c_110[15,30)"]


def test_blade_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 6)], "A1": [(0, 6)]}, locked=("A1",))
    refused(
        Blade(at=6, clip_ids=("c_10",)),
        p,
        "clip c_10 spans 00:00:00:00-00:00:00:06, so there is nothing to cut at 00:00:00:06",
        "pick a frame inside it",
    )
    refused(Blade(at=8), p, "no clip to cut at 00:00:00:08 on an unlocked track")
    refused(Blade(at=3), p, "track A1 is locked", "--track A1 --unlock")
    only_locked = timeline({"V1": [(0, 6)]}, locked=("V1",))
    refused(Blade(at=3), only_locked, "no clip to cut at 00:00:00:03 on an unlocked track")


# -- Lift -----------------------------------------------------------------------------------


def test_lift_removes_clips_with_their_partners_and_leaves_a_gap() -> None:
    """The docstring's case: [AABBCC] lift B -> [AA  CC]."""
    p = timeline(THREE)
    p = msgspec.structs.replace(p, editor=msgspec.structs.replace(p.editor, selection=("c_11",)))
    r = applied(Lift(("c_11",)), p)
    assert show(r.project) == ["V1: c_10[0,2) c_12[4,6)", "A1: c_13[0,2) c_15[4,6)"]
    assert r.project.editor.selection == ()  # a removed clip is no longer selected


def test_lift_of_an_unlinked_clip_leaves_its_former_partner() -> None:
    p = Unlink("c_11").apply(timeline(THREE)).project
    r = applied(Lift(("c_11",)), p)
    assert show(r.project) == ["V1: c_10[0,2) c_12[4,6)", "A1: c_13[0,2) c_14[2,4) c_15[4,6)"]


def test_lift_refuses_locked_tracks_and_unknown_clips() -> None:
    p = timeline(THREE, locked=("A1",))
    refused(Lift(("c_11",)), p, "track A1 is locked", "--track A1 --unlock")
    refused(Lift(("c_77",)), p, "clip 'c_77' does not exist", "`reelcut info DIR`")


# -- RippleDelete ---------------------------------------------------------------------------


def test_ripple_delete_closes_the_gap_on_every_unlocked_track() -> None:
    """The docstring's case: [AABBCC] ripple delete B -> [AACC  ]; locked A2 stays."""
    p = timeline({**THREE, "V2": [(10, 3)], "A2": [(8, 2)]}, locked=("A2",))
    r = applied(RippleDelete(("c_11",)), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_12[2,4)",
        "A1: c_13[0,2) c_15[2,4)",
        "V2: c_16[8,11)",
        "A2: c_17[8,10)",
    ]


def test_ripple_delete_of_several_clips_closes_each_gap() -> None:
    r = applied(RippleDelete(("c_10", "c_15")), timeline(THREE))
    assert show(r.project) == ["V1: c_11[0,2)", "A1: c_14[0,2)"]


def test_ripple_delete_of_an_unlinked_clip_cannot_close_over_its_former_partner() -> None:
    p = Unlink("c_11").apply(timeline(THREE)).project
    refused(
        RippleDelete(("c_11",)),
        p,
        "A1.1 (c_14) on A1 is in the way at 00:00:00:02",
        "lock A1 to leave it alone",
    )
    locked = timeline(THREE, locked=("A1",))
    refused(RippleDelete(("c_11",)), locked, "track A1 is locked")


def test_ripple_delete_refuses_to_pull_a_linked_clip_on_a_locked_track() -> None:
    p = timeline({"V2": [(0, 2)], "V1": [(2, 3)], "A1": [(2, 3)]}, locked=("A1",))
    refused(
        RippleDelete(("c_10",)),
        p,
        "clip c_12 on locked track A1 is linked to a clip this edit moves",
        "unlock A1 or unlink c_12",
    )


# -- CloseGap -------------------------------------------------------------------------------


def test_close_gap_pulls_later_material_back_on_every_unlocked_track() -> None:
    """The docstring's case: [AA  BB] close gap at 3 -> [AABB  ]."""
    p = timeline({"V1": [(0, 2), (4, 2)], "A1": [(0, 2), (4, 2)], "A2": [(6, 2)]})
    r = applied(CloseGap("V1", at=3), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_11[2,4)",
        "A1: c_12[0,2) c_13[2,4)",
        "A2: c_14[4,6)",
    ]
    assert r.summary == "closed a 2-frame gap on V1 at 00:00:00:02"
    r = applied(CloseGap("V1", at=0), timeline({"V1": [(3, 2)]}))
    assert show(r.project) == ["V1: c_10[0,2)"]


def test_close_gap_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 2), (4, 2)], "V2": [(1, 4)]})
    refused(
        CloseGap("V1", at=3),
        p,
        "V2.0 (c_12) on V2 is in the way at 00:00:00:02",
        "lock V2 to leave it alone",
    )
    refused(CloseGap("V1", at=1), p, "there is a clip at 00:00:00:01 on V1, not a gap")
    refused(CloseGap("V1", at=7), p, "nothing follows 00:00:00:07 on V1")
    refused(CloseGap("V7", at=3), p, "no track 'V7'", "V1", "V2")


def test_close_gap_on_a_locked_track_is_refused() -> None:
    """Regression: the ripple skipped the locked track itself, so its gap stayed open while
    every other track moved, and the op still reported the gap as closed."""
    p = timeline({"V1": [(0, 10), (20, 10)], "A1": [(25, 10)]}, locked=("V1",))
    refused(CloseGap("V1", at=15), p, "track V1 is locked", "--track V1 --unlock")


# -- RippleDeleteRange ----------------------------------------------------------------------


def test_ripple_delete_range_removes_the_range_from_every_unlocked_track() -> None:
    """The docstring's case: [AAAABBBB] range 2-6 -> [AABB    ] on V1 and A1; V2 is locked."""
    p = timeline({"V1": [(0, 4), (4, 4)], "A1": [(0, 4), (4, 4)], "V2": [(3, 7)]}, locked=("V2",))
    r = applied(RippleDeleteRange(start=2, end=6), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,2)@100 c_117[2,4)@102",
        "A1: c_12[0,2)@100 c_118[2,4)@102",
        "V2: c_14[3,10)@100",
    ]
    assert links(r.project) == {("c_10", "c_12"), ("c_117", "c_118")}


def test_ripple_delete_range_defaults_to_the_in_and_out_marks() -> None:
    p = SetMarks(mark_in=2, mark_out=6).apply(timeline({"V1": [(0, 4), (4, 4)]})).project
    r = applied(RippleDeleteRange(), p)
    assert show(r.project) == ["V1: c_10[0,2) c_113[2,4)"]


def test_ripple_delete_range_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 8)]})
    refused(RippleDeleteRange(), p, "give --start and --end, or set in and out marks first")
    refused(
        RippleDeleteRange(start=5, end=5),
        p,
        "the range 00:00:00:05-00:00:00:05 is empty",
        "the end must come after the start",
    )
    linked_locked = timeline({"V1": [(0, 8)], "A1": [(0, 8)]}, locked=("A1",))
    refused(RippleDeleteRange(start=2, end=4), linked_locked, "track A1 is locked", "--unlock")
