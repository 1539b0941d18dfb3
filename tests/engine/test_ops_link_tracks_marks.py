"""Link and Unlink; the track ops; markers and in/out marks; ops as JSON.

Clip ids are ``c_10, c_11, ...`` in track order; new ids start at ``<prefix>_<10 + clips + 100>``
(see ``timelines.timeline``). Timecodes are at 30 fps.
"""

from __future__ import annotations

import msgspec
import pytest

from engine.model import Marker, Project
from engine.ops import (
    ALL,
    AddMarker,
    AddTrack,
    Batch,
    EditMarker,
    Lift,
    Link,
    Move,
    OpError,
    RemoveMarker,
    RemoveTrack,
    ReorderTrack,
    SetMarks,
    SetTrackFlags,
    Unlink,
    decode_op,
)
from tests.engine.opcheck import applied, refused
from tests.engine.timelines import links, show, timeline


def with_markers(*frames_names: tuple[int, str]) -> Project:
    p = timeline({"V1": [(0, 40)]})
    markers = tuple(Marker(id=f"m_{i}", frame=f, name=n) for i, (f, n) in enumerate(frames_names))
    return msgspec.structs.replace(p, markers=markers)


# -- Link and Unlink ------------------------------------------------------------------------


def test_link_joins_aligned_video_and_audio_so_they_move_together() -> None:
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]}, linked=False)
    r = applied(Link("c_10", "c_11"), p)
    assert links(r.project) == {("c_10", "c_11")}
    moved = applied(Move(("c_10",), by=3), r.project)
    assert show(moved.project) == ["V1: c_10[3,7)", "A1: c_11[3,7)"]


def test_link_refusals_say_what_to_do() -> None:
    p = timeline({"V1": [(0, 4)], "V2": [(0, 4)], "A1": [(0, 4), (4, 2)]}, linked=False)
    refused(
        Link("c_10", "c_11"),
        p,
        "c_10 and c_11 are both on video tracks; link a video clip with an audio clip",
    )
    refused(
        Link("c_10", "c_13"),
        p,
        "c_10 (00:00:00:00-00:00:00:04) and c_13 (00:00:00:04-00:00:00:06) are not aligned",
        "trim them to the same range first",
    )
    linked = applied(Link("c_10", "c_12"), p).project
    refused(Link("c_11", "c_12"), linked, "c_12 is already linked to c_10; unlink it first")
    locked = timeline({"V1": [(0, 4)], "A1": [(0, 4)]}, linked=False, locked=("A1",))
    refused(Link("c_10", "c_11"), locked, "track A1 is locked", "--unlock")


def test_unlink_frees_both_halves() -> None:
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]})
    r = applied(Unlink("c_11"), p)
    assert links(r.project) == set()
    assert show(applied(Lift(("c_10",)), r.project).project) == ["V1:", "A1: c_11[0,4)"]
    refused(Unlink("c_10"), r.project, "c_10 is not linked")


# -- Tracks ---------------------------------------------------------------------------------


def test_add_track_names_it_and_puts_it_after_its_kind() -> None:
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]})
    r = applied(AddTrack("video"), p)
    assert [(t.id, t.name, t.kind) for t in r.project.tracks] == [
        ("t_1", "V1", "video"),
        ("t_112", "V2", "video"),
        ("t_2", "A1", "audio"),
    ]
    r = applied(AddTrack("audio", name="Music", index=0), p)
    assert [t.name for t in r.project.tracks] == ["Music", "V1", "A1"]
    r = applied(AddTrack("audio"), timeline({}))
    assert [t.name for t in r.project.tracks] == ["A1"]


def test_add_track_refusals() -> None:
    p = timeline({"V1": [], "V2": [], "A1": []})
    refused(AddTrack("audio", name="V2"), p, "a track named V2 already exists")
    refused(AddTrack("video", index=4), p, "track position 4 is out of range (0-3)")


def test_remove_track_takes_its_clips_and_unlinks_their_partners() -> None:
    p = timeline({"V1": [(0, 4), (6, 2)], "A1": [(0, 4)], "V2": [(1, 1)]})
    p = msgspec.structs.replace(p, editor=msgspec.structs.replace(p.editor, selection=("c_10",)))
    r = applied(RemoveTrack("V1"), p)
    assert show(r.project) == ["A1: c_12[0,4)", "V2: c_13[1,2)"]
    assert links(r.project) == set()
    assert r.project.editor.selection == ()
    assert r.summary == "removed track V1 and its 2 clip(s)"
    assert r.touched == {"t_1", "c_10", "c_11", "c_12"}  # the partner lost its link


def test_remove_track_never_touches_a_locked_track() -> None:
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]}, locked=("A1",))
    refused(RemoveTrack("A1"), p, "track A1 is locked; unlock it before removing it")
    refused(RemoveTrack("V1"), p, "track A1 is locked", "--track A1 --unlock")
    refused(RemoveTrack("V9"), p, "no track 'V9'; tracks are t_1 (V1), t_2 (A1)")


def test_reorder_track_moves_it_in_the_list() -> None:
    p = timeline({"V1": [(0, 4)], "V2": [], "A1": [(0, 4)]}, locked=("V1",))
    r = applied(ReorderTrack("A1", 0), p)
    assert [t.name for t in r.project.tracks] == ["A1", "V1", "V2"]
    r = applied(ReorderTrack("V1", 2), p)
    assert [t.name for t in r.project.tracks] == ["V2", "A1", "V1"]
    refused(ReorderTrack("V1", 3), p, "track position 3 is out of range (0-2)")


def test_track_flags_lock_mute_solo_and_rename() -> None:
    p = timeline({"V1": [(0, 4)], "A1": [(0, 4)]})
    r = applied(SetTrackFlags("A1", locked=True, muted=True, solo=True, name="Dialogue"), p)
    a1 = r.project.tracks[1]
    assert (a1.name, a1.locked, a1.muted, a1.solo) == ("Dialogue", True, True, True)
    assert a1.clips == p.tracks[1].clips
    # Once locked, the linked video cannot move without it.
    refused(Move(("c_10",), by=2), r.project, "track Dialogue is locked")
    r = applied(SetTrackFlags("Dialogue", locked=False), r.project)
    assert r.project.tracks[1].locked is False


def test_track_flags_refusals() -> None:
    p = timeline({"V1": [], "A1": []})
    refused(SetTrackFlags("V1"), p, "nothing to change; give --lock/--unlock")
    refused(SetTrackFlags("V1", name="A1"), p, "a track named A1 already exists")


# -- Markers and marks ----------------------------------------------------------------------


def test_add_marker_keeps_markers_in_frame_order() -> None:
    p = with_markers((10, "a"), (30, "b"))
    r = applied(AddMarker(at=20, name="mid", color="#00ff00"), p)
    assert [(m.id, m.frame, m.name) for m in r.project.markers] == [
        ("m_0", 10, "a"),
        ("m_111", 20, "mid"),
        ("m_1", 30, "b"),
    ]
    assert r.project.markers[1].color == "#00ff00"
    refused(AddMarker(at=-1), p, "position -1 is before the start")


def test_remove_marker_by_id_or_name() -> None:
    p = with_markers((10, "a"), (30, "b"))
    r = applied(RemoveMarker("m_0"), p)
    assert [m.id for m in r.project.markers] == ["m_1"]
    r = applied(RemoveMarker("b"), p)
    assert [m.id for m in r.project.markers] == ["m_0"]
    refused(
        RemoveMarker("zz"),
        p,
        "marker 'zz' does not exist; markers are m_0 (a), m_1 (b)",
    )


def test_edit_marker_moves_renames_and_recolours() -> None:
    p = with_markers((10, "a"), (30, "b"))
    r = applied(EditMarker("a", at=40, name="late", color="#0000ff"), p)
    assert [(m.id, m.frame, m.name, m.color) for m in r.project.markers] == [
        ("m_1", 30, "b", "#ffcc00"),
        ("m_0", 40, "late", "#0000ff"),
    ]
    r = applied(EditMarker("m_1", name="renamed"), p)
    assert [(m.frame, m.name) for m in r.project.markers] == [(10, "a"), (30, "renamed")]
    r = applied(EditMarker("b", note="too loud here"), p)
    assert [(m.name, m.note) for m in r.project.markers] == [("a", ""), ("b", "too loud here")]
    r = applied(EditMarker("b", name="keep"), r.project)
    assert [(m.name, m.note) for m in r.project.markers] == [("a", ""), ("keep", "too loud here")]
    r = applied(EditMarker("keep", note=""), r.project)
    assert [m.note for m in r.project.markers] == ["", ""]
    old_json = msgspec.json.encode(EditMarker("m_1", name="x")).replace(b',"note":null', b"")
    assert b"note" not in old_json
    assert msgspec.json.decode(old_json, type=EditMarker).note is None
    refused(EditMarker("m_1", at=-5), p, "position -5 is before the start")
    refused(EditMarker("m_9", at=5), p, "marker 'm_9' does not exist")


def test_set_marks_sets_and_clears_in_and_out() -> None:
    p = timeline({"V1": [(0, 40)]})
    r = applied(SetMarks(mark_in=5, mark_out=20), p)
    assert (r.project.editor.mark_in, r.project.editor.mark_out) == (5, 20)
    assert r.summary == "marks: in 00:00:00:05, out 00:00:00:20"
    moved_out = applied(SetMarks(mark_out=30), r.project)
    assert (moved_out.project.editor.mark_in, moved_out.project.editor.mark_out) == (5, 30)
    cleared = applied(SetMarks(clear=True), r.project)
    assert (cleared.project.editor.mark_in, cleared.project.editor.mark_out) == (None, None)
    refused(
        SetMarks(mark_out=3),
        r.project,
        "the out mark (00:00:00:03) must come after the in mark (00:00:00:05)",
    )
    refused(SetMarks(mark_in=-1), p, "mark -1 is before the start of the timeline")


# -- Ops as data ----------------------------------------------------------------------------


def test_every_op_round_trips_through_json() -> None:
    """Every op class decodes from its own encoding (what history and changesets store)."""
    samples = {
        "Insert": {"asset_id": "a_1", "at": 3},
        "Overwrite": {"asset_id": "a_1", "at": 3, "duration": 2},
        "PlaceOnTop": {"asset_id": "a_1", "at": 3, "duration": 2},
        "Move": {"clip_ids": ["c_1"], "by": 2, "mode": "insert"},
        "Nudge": {"clip_ids": ["c_1"], "by": -1},
        "Blade": {"at": 5},
        "Trim": {"clip_id": "c_1", "edge": "in", "to": 4},
        "RippleTrim": {"clip_id": "c_1", "edge": "out", "by": 4},
        "Roll": {"clip_id": "c_1", "by": 1},
        "Slip": {"clip_id": "c_1", "by": 1},
        "Slide": {"clip_id": "c_1", "by": 1},
        "Lift": {"clip_ids": ["c_1"]},
        "RippleDelete": {"clip_ids": ["c_1"]},
        "CloseGap": {"track": "V1", "at": 3},
        "RippleDeleteRange": {"start": 1, "end": 3},
        "LiftRange": {"start": 1, "end": 3},
        "Link": {"clip_id": "c_1", "other_id": "c_2"},
        "Unlink": {"clip_id": "c_1"},
        "AddTrack": {"kind": "audio"},
        "RemoveTrack": {"track": "A2"},
        "ReorderTrack": {"track": "A2", "index": 0},
        "SetTrackFlags": {"track": "A2", "muted": True},
        "AddMarker": {"at": 3},
        "RemoveMarker": {"marker_id": "m_1"},
        "EditMarker": {"marker_id": "m_1", "name": "x", "note": "see the take"},
        "SetMarks": {"clear": True},
        "AddText": {"text": "hi", "at": 0, "duration": 30},
        "EditText": {"clip_id": "c_1", "text": "x"},
        "SetAudio": {"clip_id": "c_1", "gain_db": -6.5, "fade_in": 3, "fade_out": 4},
        "SetTransform": {"clip_id": "c_1", "x": -40.5, "scale": 0.5, "opacity": 0.25},
        "SelectTake": {"clip": "c_1", "asset": "a_2"},
        "Batch": {"steps": []},
    }
    assert set(samples) == {cls.__name__ for cls in ALL}
    for cls in ALL:
        op = msgspec.convert(samples[cls.__name__], cls)
        assert decode_op(msgspec.json.encode(op)) == op
        assert decode_op(msgspec.to_builtins(op)) == op


def test_decode_op_names_the_bad_field() -> None:
    with pytest.raises(OpError, match=r"invalid operation: .*clip_ids"):
        decode_op(b'{"op": "lift"}')
    with pytest.raises(OpError, match=r"invalid operation: .*`\$.by`"):
        decode_op({"op": "nudge", "clip_ids": ["c_1"], "by": "two"})
    with pytest.raises(OpError, match="invalid operation"):
        decode_op({"op": "teleport"})


def test_a_batch_replays_recorded_steps_exactly() -> None:
    p = timeline({"V1": [(0, 4), (6, 2)], "A1": [(0, 4)]})
    first = Move(("c_10",), by=10).apply(p)
    encoded = msgspec.json.encode(first.forward)
    replayed = applied(decode_op(encoded), p)
    assert isinstance(decode_op(encoded), Batch)
    assert replayed.project == first.project
