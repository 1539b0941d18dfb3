"""Insert, Overwrite, AddText and EditText: each case states the layout it expects.

Timelines come from ``timelines.timeline``: clip ids are ``c_10, c_11, ...`` in track order,
every source starts at frame 100 of a 10,000-frame asset, V1/A1 clips with the same range are
linked, and new ids start at ``c_<10 + clips + 100>``. Timecodes are at 30 fps.
"""

from __future__ import annotations

import msgspec

from engine.model import Asset
from engine.ops import AddText, EditText, Insert, Overwrite, Unlink
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import clip, links, show, timeline, with_title

PAIRS = {"V1": [(0, 10), (10, 10)], "A1": [(0, 10), (10, 10)]}
"""V1 c_10 c_11 linked to A1 c_12 c_13; new ids start at c_114."""


# -- Insert ---------------------------------------------------------------------------------


def test_insert_cuts_the_clip_under_the_point_and_ripples_every_track() -> None:
    """Video with its demuxed audio goes in at 4 as a linked pair; the straddling pair is cut
    (right halves linked, source continuing) and everything after moves 3 frames later."""
    p = timeline(PAIRS)
    r = applied(Insert("a_1", at=4, duration=3), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,4)@100 c_114[4,7)@0 c_116[7,13)@104 c_11[13,23)@100",
        "A1: c_12[0,4)@100 c_115[4,7)@0 c_117[7,13)@104 c_13[13,23)@100",
    ]
    assert links(r.project) == {
        ("c_10", "c_12"),
        ("c_114", "c_115"),
        ("c_116", "c_117"),
        ("c_11", "c_13"),
    }
    assert clip(r.project, "c_114").asset_id == "a_1"
    assert clip(r.project, "c_115").asset_id == "a_2"
    assert r.touched >= {"c_114", "c_115", "c_116", "c_117", "c_11", "c_13"}


def test_insert_at_a_cut_moves_the_later_clip_without_cutting() -> None:
    p = timeline(PAIRS)
    r = applied(Insert("a_3", at=10, duration=5), p)
    assert show(r.project) == [
        "V1: c_10[0,10) c_11[15,25)",
        "A1: c_12[0,10) c_114[10,15) c_13[15,25)",
    ]


def test_insert_leaves_locked_tracks_alone() -> None:
    p = timeline(
        {"V2": [(5, 10)], "V1": [(0, 10)], "A1": [(0, 10)], "A2": [(12, 3)]}, locked=("V2",)
    )
    r = applied(Insert("a_1", at=10, duration=5), p)
    assert show(r.project) == [
        "V2: c_10[5,15)",
        "V1: c_11[0,10) c_114[10,15)",
        "A1: c_12[0,10) c_115[10,15)",
        "A2: c_13[17,20)",
    ]


def test_insert_without_audio_still_cuts_and_moves_the_linked_partner() -> None:
    p = timeline(PAIRS)
    r = applied(Insert("a_1", at=5, duration=2, with_audio=False), p)
    assert show(r.project) == [
        "V1: c_10[0,5) c_114[5,7) c_115[7,12) c_11[12,22)",
        "A1: c_12[0,5) c_116[7,12) c_13[12,22)",
    ]
    assert ("c_115", "c_116") in links(r.project)


def test_insert_defaults_to_the_rest_of_the_media_and_five_seconds_for_a_still() -> None:
    p = timeline({"V1": [], "A1": []})
    r = applied(Insert("a_1", at=0, source_in=9_990), p)
    assert show(r.project) == ["V1: c_110[0,10)", "A1: c_111[0,10)"]
    r = applied(Insert("a_4", at=0), p)
    assert show(r.project) == ["V1: c_110[0,150)", "A1:"]


def test_insert_on_a_named_track() -> None:
    p = timeline({"V1": [(0, 10)], "V2": [], "A1": [(0, 10)], "A2": []})
    r = applied(Insert("a_1", at=0, duration=2, track="V2", audio_track="A2"), p)
    assert show(r.project) == [
        "V1: c_10[2,12)",
        "V2: c_112[0,2)",
        "A1: c_11[2,12)",
        "A2: c_113[0,2)",
    ]


def test_insert_refuses_a_source_past_the_media_end() -> None:
    p = timeline(PAIRS)
    refused(
        Insert("a_1", at=0, source_in=9_995, duration=10),
        p,
        "source frames up to 10005",
        "a_1.mp4 (a_1) has 10000",
        "use a shorter range",
    )
    refused(Insert("a_1", at=0, source_in=10_000), p, "source in 10000 is past the end")


def test_insert_refusals_say_what_to_do() -> None:
    p = timeline(PAIRS, locked=("A1",))
    refused(Insert("a_9", at=0), p, "asset 'a_9' does not exist", "`reelcut info DIR`")
    refused(Insert("a_1", at=-1, duration=2), p, "position -1 is before the start")
    refused(
        Insert("a_1", at=0, duration=2, track="A1"),
        p,
        "track A1 is an audio track; this needs a video track",
    )
    refused(Insert("a_1", at=0, duration=2, track="V9"), p, "no track 'V9'", "V1", "A1")
    # The only audio track is locked: nowhere to put the demuxed audio.
    refused(Insert("a_1", at=0, duration=2), p, "no unlocked audio track", "add-track audio")
    # Video alone would ripple V1, pulling the linked audio on locked A1 out of sync.
    refused(
        Insert("a_1", at=0, duration=2, with_audio=False),
        p,
        "clip c_12 on locked track A1 is linked",
        "unlock A1 or unlink c_12",
    )
    refused(
        Insert("a_3", at=0, duration=2, track="A1"),
        timeline({"A1": [(0, 10)]}, locked=("A1",)),
        "track A1 is locked",
        "track-flags --track A1 --unlock",
    )
    text_asset = Asset(id="a_8", kind="text", name="card")
    with_text = msgspec.structs.replace(p, assets=(*p.assets, text_asset))
    refused(Insert("a_8", at=0), with_text, "text asset a_8 has no media", "use add-text")


# -- Overwrite ------------------------------------------------------------------------------


def test_overwrite_cuts_away_what_is_there_and_moves_nothing_else() -> None:
    """The docstring's case: [AAAAA|BBB] overwrite 3 frames at 3 -> [AAA|NNN|BB], on the pair."""
    p = timeline({"V1": [(0, 5), (5, 3), (20, 5)], "A1": [(0, 5), (5, 3)]})
    r = applied(Overwrite("a_1", at=3, duration=3), p)
    assert show(r.project, sources=True) == [
        "V1: c_10[0,3)@100 c_115[3,6)@0 c_119[6,8)@101 c_12[20,25)@100",
        "A1: c_13[0,3)@100 c_116[3,6)@0 c_120[6,8)@101",
    ]
    assert links(r.project) == {("c_10", "c_13"), ("c_115", "c_116"), ("c_119", "c_120")}


def test_overwrite_of_one_half_takes_the_same_frames_from_the_linked_partner() -> None:
    p = timeline(PAIRS)
    r = applied(Overwrite("a_4", at=2, duration=4), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_114[2,6) c_117[6,10) c_11[10,20)",
        "A1: c_12[0,2) c_118[6,10) c_13[10,20)",
    ]


def test_overwrite_of_one_half_leaves_an_unlinked_partner_whole() -> None:
    p = Unlink("c_10").apply(timeline(PAIRS)).project
    r = applied(Overwrite("a_4", at=2, duration=4), p)
    assert show(r.project) == [
        "V1: c_10[0,2) c_114[2,6) c_116[6,10) c_11[10,20)",
        "A1: c_12[0,10) c_13[10,20)",
    ]


def test_overwrite_refuses_locked_tracks_and_sources_past_the_end() -> None:
    p = timeline(PAIRS, locked=("A1",))
    refused(
        Overwrite("a_4", at=2, duration=4),
        p,
        "track A1 is locked",
        "track-flags --track A1 --unlock",
    )
    refused(Overwrite("a_1", at=0, duration=20, source_in=9_990), timeline(PAIRS), "has 10000")


# -- AddText and EditText -------------------------------------------------------------------


def test_add_text_goes_on_a_free_range_of_the_first_unlocked_video_track() -> None:
    p = timeline({"V2": [(0, 5)], "V1": [(0, 10)], "A1": [(0, 10)]}, locked=("V2",))
    r = applied(AddText("Hello world", at=20, duration=15, size=80), p)
    assert show(r.project) == ["V2: c_10[0,5)", "V1: c_11[0,10) c_113[20,35)", "A1: c_12[0,10)"]
    title = clip(r.project, "c_113")
    assert (title.kind, title.name, title.asset_id) == ("text", "Hello world", None)
    assert title.text is not None and (title.text.text, title.text.size) == ("Hello world", 80)


def test_add_text_refuses_an_occupied_range_naming_the_clips_track_and_time() -> None:
    p = with_title(timeline({"V1": [], "V2": []}), "V2", 30, 30)
    refused(
        AddText("x", at=45, duration=30, track="V2"),
        p,
        "clip c_110 would overlap c_99 on V2 at 00:00:01:15",
        "use insert or move to a free range",
    )
    refused(AddText("x", at=0, duration=0), p, "at least one frame")
    refused(AddText("x", at=-3, duration=2), p, "position -3 is before the start")
    refused(AddText("x", at=0, duration=2, track="A1"), timeline({"A1": []}), "an audio track")
    only_locked = timeline({"V1": [], "A1": []}, locked=("V1",))
    refused(AddText("x", at=0, duration=2), only_locked, "add-track video")


def test_edit_text_changes_the_words_and_keeps_the_place() -> None:
    p = with_title(timeline({"V1": [(0, 10)]}), "V1", 20, 10)
    r = applied(EditText("c_99", text="Goodbye", size=20, color="#ff0000", name="end card"), p)
    after = clip(r.project, "c_99")
    assert (after.start, after.duration, after.name) == (20, 10, "end card")
    assert after.text is not None
    assert (after.text.text, after.text.size, after.text.color) == ("Goodbye", 20, "#ff0000")
    r = applied(EditText("c_99", size=30), p)
    assert clip(r.project, "c_99").text.text == "hello"  # type: ignore[union-attr]


def test_edit_text_refusals() -> None:
    p = with_title(timeline({"V1": [(0, 10)]}, locked=()), "V1", 20, 10)
    refused(EditText("c_10", text="x"), p, "c_10 is a media clip, not a text clip")
    refused(EditText("c_99", size=0), p, "text size must be at least 1")
    refused(EditText("c_5", text="x"), p, "clip 'c_5' does not exist", "`reelcut info DIR`")
    locked = msgspec.structs.replace(
        p, tracks=tuple(msgspec.structs.replace(t, locked=True) for t in p.tracks)
    )
    refused(EditText("c_99", text="x"), locked, "track V1 is locked", "--unlock")
