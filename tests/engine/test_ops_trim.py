"""Trim, RippleTrim, Roll, Slip and Slide.

Clip ids are ``c_10, c_11, ...`` in track order; every source starts at frame 100 of a
10,000-frame asset (see ``timelines.timeline``). Timecodes are at 30 fps.
"""

from __future__ import annotations

from engine.model import Project
from engine.ops import RippleTrim, Roll, Slide, Slip, Trim, Unlink
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import edited, show, timeline

PAIR_AND_NEXT = {"V1": [(0, 4), (4, 2)], "A1": [(0, 4), (4, 2)]}
"""[AAAABB] on V1 (c_10 c_11), linked to A1 (c_12 c_13)."""


def near_media_end(spec: dict[str, list[tuple[int, int]]]) -> Project:
    """The timeline with c_10 (and its partner c_11) playing the last 4 source frames."""
    p = timeline(spec)
    return edited(edited(p, "c_10", source_in=9_996), "c_11", source_in=9_996)


# -- Trim -----------------------------------------------------------------------------------


def test_trim_out_opens_a_gap_and_moves_nothing_else() -> None:
    """The docstring's case: [AAAA BB] trim A out by -2 -> [AA   BB], with A's audio."""
    p = timeline({"V1": [(0, 4), (5, 2)], "A1": [(0, 4)]})
    r = applied(Trim("c_10", "out", by=-2), p)
    assert show(r.project) == ["V1: c_10[0,2) c_11[5,7)", "A1: c_12[0,2)"]
    r = applied(Trim("c_10", "out", to=5), p)
    assert show(r.project) == ["V1: c_10[0,5) c_11[5,7)", "A1: c_12[0,5)"]


def test_trim_in_moves_the_start_and_the_source_together() -> None:
    p = timeline({"V1": [(10, 4)], "A1": [(10, 4)]})
    r = applied(Trim("c_10", "in", to=12), p)
    assert show(r.project, sources=True) == ["V1: c_10[12,14)@102", "A1: c_11[12,14)@102"]
    r = applied(Trim("c_11", "in", by=-10), p)
    assert show(r.project, sources=True) == ["V1: c_10[0,14)@90", "A1: c_11[0,14)@90"]


def test_trim_of_an_unlinked_clip_leaves_its_former_partner() -> None:
    p = Unlink("c_10").apply(timeline({"V1": [(0, 4)], "A1": [(0, 4)]})).project
    r = applied(Trim("c_10", "out", by=-1), p)
    assert show(r.project) == ["V1: c_10[0,3)", "A1: c_11[0,4)"]


def test_trim_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 4), (5, 2)], "A1": [(0, 4)]})
    refused(
        Trim("c_10", "out", by=2),
        p,
        "clip c_10 would overlap c_11 on V1 at 00:00:00:05",
        "use insert or move to a free range",
    )
    refused(Trim("c_10", "out", by=-4), p, "c_10 would be shorter than one frame", "change it by")
    refused(Trim("c_10", "in", by=-1), p, "c_10 would start before the timeline (at -1)")
    refused(Trim("c_10", "out"), p, "give either --to POSITION or --by FRAMES")
    refused(Trim("c_10", "out", to=3, by=1), p, "give either --to POSITION or --by FRAMES")
    late = timeline({"V1": [(200, 4)]})
    refused(
        Trim("c_10", "in", by=-101),
        late,
        "clip c_10 would start 1 frames before its media",
        "change it by 1 frames less",
    )
    refused(Trim("c_10", "out", by=-1), timeline({"V1": [(0, 4)]}, locked=("V1",)), "--unlock")


def test_trim_never_runs_a_source_past_the_media_end() -> None:
    p = near_media_end({"V1": [(0, 4)], "A1": [(0, 4)]})
    refused(
        Trim("c_10", "out", by=1),
        p,
        "would play source frames up to 10001 but a_1.mp4 (a_1) has 10000",
        "use a shorter range",
    )


# -- RippleTrim -----------------------------------------------------------------------------


def test_ripple_trim_moves_everything_after_by_the_same_amount() -> None:
    """The docstring's case: [AAAABB] ripple trim A out by -2 -> [AABB  ], on every track."""
    p = timeline({**PAIR_AND_NEXT, "V2": [(6, 3)], "A2": [(5, 3)]}, locked=("A2",))
    r = applied(RippleTrim("c_10", "out", by=-2), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_11[2,4)",
        "A1: c_12[0,2) c_13[2,4)",
        "V2: c_14[4,7)",
        "A2: c_15[5,8)",
    ]
    r = applied(RippleTrim("c_10", "out", by=3), p)
    assert show(r.project) == [
        "V1: c_10[0,7) c_11[7,9)",
        "A1: c_12[0,7) c_13[7,9)",
        "V2: c_14[9,12)",
        "A2: c_15[5,8)",
    ]


def test_ripple_trim_in_keeps_the_start_and_shifts_the_rest() -> None:
    r = applied(RippleTrim("c_10", "in", by=1), timeline(PAIR_AND_NEXT))
    assert show(r.project, sources=True) == [
        "V1: c_10[0,3)@101 c_11[3,5)@100",
        "A1: c_12[0,3)@101 c_13[3,5)@100",
    ]
    r = applied(RippleTrim("c_10", "in", by=-2), timeline(PAIR_AND_NEXT))
    assert show(r.project, sources=True) == [
        "V1: c_10[0,6)@98 c_11[6,8)@100",
        "A1: c_12[0,6)@98 c_13[6,8)@100",
    ]


def test_ripple_trim_refuses_to_ripple_through_other_tracks() -> None:
    p = timeline({**PAIR_AND_NEXT, "V2": [(3, 2)]})
    refused(
        RippleTrim("c_10", "out", by=-2),
        p,
        "V2.0 (c_14) on V2 is in the way of the ripple at 00:00:00:03",
        "make room on V2 first, or lock V2 to leave it out of the ripple",
    )
    p = timeline({**PAIR_AND_NEXT, "V2": [(0, 3), (4, 2)]})
    refused(
        RippleTrim("c_10", "out", by=-2),
        p,
        "the ripple would pull c_15 on V2 into c_14 at 00:00:00:02",
        "lock V2 to leave it out of the ripple",
    )
    p = near_media_end(PAIR_AND_NEXT)
    refused(RippleTrim("c_10", "out", by=1), p, "has 10000")
    locked = timeline(PAIR_AND_NEXT, locked=("A1",))
    refused(RippleTrim("c_10", "out", by=1), locked, "unlock A1 or unlink c_13")


# -- Roll -----------------------------------------------------------------------------------


def test_roll_moves_the_cut_and_keeps_the_total_length() -> None:
    """The docstring's case: [AAAABB] roll A|B by +1 -> [AAAAAB], on the pair."""
    p = timeline(PAIR_AND_NEXT)
    r = applied(Roll("c_10", by=1), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,5)@100 c_11[5,6)@101",
        "A1: c_12[0,5)@100 c_13[5,6)@101",
    ]
    r = applied(Roll("c_10", to=2), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,2)@100 c_11[2,6)@98",
        "A1: c_12[0,2)@100 c_13[2,6)@98",
    ]


def test_roll_of_an_unlinked_clip_leaves_its_former_partner() -> None:
    p = Unlink("c_10").apply(timeline({"V1": [(0, 4), (4, 2)], "A1": [(0, 4)]})).project
    r = applied(Roll("c_10", by=1), p)
    assert show(r.project) == ["V1: c_10[0,5) c_11[5,6)", "A1: c_12[0,4)"]


def test_roll_trims_the_partner_of_the_clip_after_the_cut() -> None:
    """Regression: rolling A|B where only B was linked trimmed B but not its audio, leaving the
    pair misaligned (an invalid project)."""
    p = timeline({"V1": [(0, 10), (10, 10)], "A1": [(10, 10)]})  # c_11 linked to c_12
    r = applied(Roll("c_10", by=3), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,13)@100 c_11[13,20)@103",
        "A1: c_12[13,20)@103",
    ]
    r = applied(Roll("c_10", by=-3), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,7)@100 c_11[7,20)@97",
        "A1: c_12[7,20)@97",
    ]
    # The partner cannot grow into a clip it is not rolling against.
    unlinked_left = Unlink("c_10").apply(timeline(PAIR_AND_NEXT)).project
    refused(Roll("c_10", by=-1), unlinked_left, "clip c_13 would overlap c_12 on A1 at 00:00:00:03")


def test_roll_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 4), (5, 2)]})
    refused(
        Roll("c_10", by=1),
        p,
        "clip c_10 has no clip right after it on V1 to roll against; use trim instead",
    )
    p = timeline({"V1": [(0, 4), (4, 2)], "A1": [(0, 4)]})
    # The partner ends in a gap: its end follows the cut (it used to refuse the roll).
    r = applied(Roll("c_10", by=1), p)
    assert show(r.project) == ["V1: c_10[0,5) c_11[5,6)", "A1: c_12[0,5)"]
    gap_of_one = timeline({"V1": [(0, 4), (4, 4)], "A1": [(0, 4), (5, 1)]})
    refused(Roll("c_10", by=2), gap_of_one, "would overlap")
    p = timeline({"V1": [(0, 4), (4, 2)]})
    refused(Roll("c_10", by=2), p, "c_11 would be shorter than one frame")
    refused(Roll("c_10", by=-4), p, "c_10 would be shorter than one frame")
    refused(
        Roll("c_10", by=-101),
        timeline({"V1": [(0, 200), (200, 2)]}),
        "clip c_11 would start 1 frames before its media",
    )
    end = edited(timeline({"V1": [(0, 4), (4, 2)]}), "c_10", source_in=9_996)
    refused(Roll("c_10", by=1), end, "c_10 would play source frames up to 10001")
    refused(Roll("c_10", by=1), timeline({"V1": [(0, 4), (4, 2)]}, locked=("V1",)), "--unlock")


# -- Slip -----------------------------------------------------------------------------------


def test_slip_moves_the_source_range_and_not_the_clip() -> None:
    """The docstring's case: [a1a2a3] slip by +2 -> [a3a4a5], on the pair."""
    p = timeline({"V1": [(5, 3)], "A1": [(5, 3)]})
    r = applied(Slip("c_10", by=2), p)
    assert show(r.project, sources=True) == ["V1: c_10[5,8)@102", "A1: c_11[5,8)@102"]
    unlinked = Unlink("c_10").apply(p).project
    r = applied(Slip("c_10", by=-100), unlinked)
    assert show(r.project, sources=True) == ["V1: c_10[5,8)@0", "A1: c_11[5,8)@100"]


def test_slip_refuses_to_leave_the_media() -> None:
    p = timeline({"V1": [(5, 3)], "A1": [(5, 3)]})
    refused(Slip("c_10", by=-101), p, "would start 1 frames before its media")
    refused(Slip("c_10", by=9_898), p, "would play source frames up to 10001", "shorter range")
    refused(Slip("c_10", by=1), timeline({"V1": [(5, 3)]}, locked=("V1",)), "--unlock")


# -- Slide ----------------------------------------------------------------------------------


def test_slide_moves_a_clip_between_its_neighbours() -> None:
    """The docstring's case: [AA|BB|CC] slide B by +1 -> [AAA|BB|C], on the pairs."""
    three = {"V1": [(0, 2), (2, 2), (4, 2)], "A1": [(0, 2), (2, 2), (4, 2)]}
    p = timeline(three)
    r = applied(Slide("c_11", by=1), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,3)@100 c_11[3,5)@100 c_12[5,6)@101",
        "A1: c_13[0,3)@100 c_14[3,5)@100 c_15[5,6)@101",
    ]
    r = applied(Slide("c_11", by=-1), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,1)@100 c_11[1,3)@100 c_12[3,6)@99",
        "A1: c_13[0,1)@100 c_14[1,3)@100 c_15[3,6)@99",
    ]


def test_slide_with_gaps_moves_only_the_clip() -> None:
    p = timeline({"V1": [(0, 2), (3, 2), (7, 2)]})
    r = applied(Slide("c_11", by=1), p)
    assert show(r.project) == ["V1: c_10[0,2) c_11[4,6) c_12[7,9)"]
    refused(
        Slide("c_11", by=3),
        p,
        "clip c_11 would overlap c_12 on V1 at 00:00:00:07",
        "use insert or move to a free range",
    )


def test_slide_trims_the_partners_of_the_neighbours() -> None:
    """Regression: sliding an unlinked clip trimmed a linked neighbour but not its audio,
    leaving the pair misaligned (an invalid project)."""
    p = timeline({"V1": [(0, 10), (10, 10)], "A1": [(0, 10)]})  # c_10 linked to c_12
    r = applied(Slide("c_11", by=2), p)
    assert show(r.project) == ["V1: c_10[0,12) c_11[12,22)", "A1: c_12[0,12)"]
    r = applied(Slide("c_11", by=-2), p)
    assert show(r.project) == ["V1: c_10[0,8) c_11[8,18)", "A1: c_12[0,8)"]


def test_slide_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 2), (2, 2), (4, 2)]})
    refused(Slide("c_11", by=0), p, "slide by at least one frame")
    refused(Slide("c_10", by=-1), p, "clip c_10 would slide before the start of the timeline")
    refused(Slide("c_11", by=2), p, "c_12 would be shorter than one frame", "change it by less")
    refused(Slide("c_11", by=1), timeline({"V1": [(0, 2), (2, 2)]}, locked=("V1",)), "--unlock")
    end = edited(p, "c_10", source_in=9_998)
    refused(Slide("c_11", by=1), end, "c_10 would play source frames up to 10001")
