"""Move (overwrite, insert, free; by, to, onto another track) and Nudge.

Clip ids are ``c_10, c_11, ...`` in track order; new ids start at ``c_<10 + clips + 100>``
(see ``timelines.timeline``). Timecodes are at 30 fps.
"""

from __future__ import annotations

from engine.ops import Move, Nudge, Unlink
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import links, show, timeline


def test_move_overwrite_cuts_away_what_is_at_the_destination() -> None:
    """The docstring's case: [AAAA CC ] move C from 5 to 1 -> [ACCA    ]."""
    p = timeline({"V1": [(0, 4), (5, 2)]})
    r = applied(Move(("c_11",), to=1), p)
    assert show(r.project, sources=True) == ["V1: c_10[0,1)@100 c_11[1,3)@100 c_113[3,4)@103"]
    assert r.summary == "moved V1.1 (c_11) from 00:00:00:05 to 00:00:00:01"


def test_move_takes_the_linked_partner_along() -> None:
    p = timeline({"V1": [(0, 4), (10, 2)], "A1": [(0, 4), (10, 2)]})
    r = applied(Move(("c_10",), by=20), p)
    assert show(r.project) == ["V1: c_11[10,12) c_10[20,24)", "A1: c_13[10,12) c_12[20,24)"]
    assert links(r.project) == {("c_10", "c_12"), ("c_11", "c_13")}


def test_move_of_an_unlinked_clip_leaves_its_former_partner() -> None:
    p = Unlink("c_10").apply(timeline({"V1": [(0, 4)], "A1": [(0, 4)]})).project
    r = applied(Move(("c_10",), by=20), p)
    assert show(r.project) == ["V1: c_10[20,24)", "A1: c_11[0,4)"]


def test_move_insert_pushes_everything_from_the_destination_on_every_unlocked_track() -> None:
    p = timeline(
        {"V1": [(0, 4), (6, 2)], "A1": [(0, 4), (6, 2)], "V2": [(2, 6)], "A2": [(10, 5)]},
        locked=("A2",),
    )
    r = applied(Move(("c_11",), to=2, mode="insert"), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_11[2,4) c_116[4,6)",
        "A1: c_12[0,2) c_13[2,4) c_117[4,6)",
        "V2: c_14[4,10)",
        "A2: c_15[10,15)",
    ]
    assert ("c_116", "c_117") in links(r.project)


def test_move_free_refuses_to_land_on_another_clip() -> None:
    p = timeline({"V1": [(0, 4), (6, 2)], "A1": [(0, 4), (6, 2)]})
    refused(
        Move(("c_11",), to=3, mode="free"),
        p,
        "clip c_11 would overlap c_10 on V1 at 00:00:00:03",
        "use insert or move to a free range",
    )
    r = applied(Move(("c_11",), to=30, mode="free"), p)
    assert show(r.project) == ["V1: c_10[0,4) c_11[30,32)", "A1: c_12[0,4) c_13[30,32)"]


def test_move_onto_another_track_keeps_the_partner_on_its_own_track() -> None:
    p = timeline({"V1": [(0, 4)], "V2": [], "A1": [(0, 4)]})
    r = applied(Move(("c_10",), by=5, track="V2"), p)
    assert show(r.project) == ["V1:", "V2: c_10[5,9)", "A1: c_11[5,9)"]
    assert links(r.project) == {("c_10", "c_11")}
    r = applied(Move(("c_10",), track="V2"), p)
    assert show(r.project) == ["V1:", "V2: c_10[0,4)", "A1: c_11[0,4)"]


def test_move_never_touches_a_locked_track() -> None:
    p = timeline({"V1": [(0, 4)], "V2": [], "A1": [(0, 4)]}, locked=("V2",))
    refused(Move(("c_10",), by=5, track="V2"), p, "track V2 is locked", "--track V2 --unlock")
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]}, locked=("A1",))
    refused(Move(("c_10",), by=5), p, "track A1 is locked", "--track A1 --unlock")
    # Overwriting a clip whose partner is on a locked track would cut the partner.
    p = timeline({"V1": [(0, 4), (10, 4)], "A1": [(10, 4)], "A2": [(0, 4)]}, locked=("A1",))
    refused(Move(("c_10",), to=10), p, "track A1 is locked")
    # Inserting would push the linked clip on locked A1 out of sync.
    refused(Move(("c_10",), to=5, mode="insert"), p, "unlock A1 or unlink c_12")


def test_move_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 4), (10, 2)], "V2": [(0, 3)], "A1": [(0, 4)]})
    refused(Move((), by=1), p, "name at least one clip")
    refused(Move(("c_10",)), p, "give either --by FRAMES or --to POSITION")
    refused(Move(("c_10",), by=1, to=3), p, "give either --by FRAMES or --to POSITION")
    # Regression: with a track as well, --to was silently ignored in favour of --by.
    refused(Move(("c_10",), by=1, to=3, track="V2"), p, "give either --by FRAMES or --to")
    refused(Move(("c_11",), by=-11), p, "would move c_11 before the start of the timeline")
    refused(Move(("c_404",), by=1), p, "clip 'c_404' does not exist", "`reelcut info DIR`")
    refused(
        Move(("c_10",), by=20, track="A1"),
        p,
        "A1 is an audio track; video clips can only move to video tracks",
    )
    refused(
        Move(("c_11", "c_12"), by=20, track="V3"),
        p,
        "no track 'V3'",
    )
    refused(
        Move(("c_11", "c_12"), by=20, track="V1"),
        p,
        "clips moved to another track must all come from one track",
    )


# -- Nudge ----------------------------------------------------------------------------------


def test_nudge_moves_clips_a_few_frames() -> None:
    """The docstring's case: [AA  BB] nudge B by -1 -> [AA BB ]."""
    p = timeline({"V1": [(0, 2), (4, 2)], "A1": [(0, 2), (4, 2)]})
    r = applied(Nudge(("c_11",), by=-1), p)
    assert show(r.project) == ["V1: c_10[0,2) c_11[3,5)", "A1: c_12[0,2) c_13[3,5)"]
    assert r.summary == "nudged c_11 by -1 frames"
    r = applied(Nudge(("c_10", "c_11"), by=3), p)
    assert show(r.project) == ["V1: c_10[3,5) c_11[7,9)", "A1: c_12[3,5) c_13[7,9)"]


def test_nudge_refuses_to_hit_another_clip_or_pass_the_start() -> None:
    p = timeline({"V1": [(0, 2), (4, 2)], "A1": [(0, 2), (4, 2)]})
    refused(
        Nudge(("c_11",), by=-3),
        p,
        "clip c_11 would overlap c_10 on V1 at 00:00:00:01",
        "a nudge stops at a neighbour: trim or lift c_10 first",
    )
    refused(Nudge(("c_10",), by=-1), p, "before the start of the timeline")
