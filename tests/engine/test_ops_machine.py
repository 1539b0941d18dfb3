"""Random op sequences over a busy timeline: the engine's invariants hold after every step.

A Hypothesis state machine starts from V3 (locked), V2 (with a text clip), V1/A1 (linked
pairs, the first one's sound faded) and A2 (faded out), then applies random ops from the whole
set with parameters drawn from the current
project: existing clip ids (and one that does not exist), frames on and around clip edges,
markers and the ends of the timeline, track names and ids. An op may refuse (OpError); anything
else escaping is a bug. After every step the project is valid, every id is unique and a track
that was locked before the op has exactly the clips it had. Undo steps pop the inverse stack
and must give back the exact project from before that op; at the end everything is undone and
project.json's bytes must equal the initial bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine.model import Marker, Project
from engine.ops import (
    AddMarker,
    AddText,
    AddTrack,
    Batch,
    Blade,
    CaptionCue,
    CloseGap,
    EditMarker,
    EditText,
    Insert,
    Lift,
    LiftRange,
    Link,
    Move,
    Nudge,
    Op,
    OpError,
    Overwrite,
    PlaceCaptions,
    PlaceOnTop,
    RelinkMedia,
    RemoveMarker,
    RemoveTrack,
    ReorderTrack,
    RippleDelete,
    RippleDeleteRange,
    RippleTrim,
    Roll,
    SelectTake,
    SetAudio,
    SetMarks,
    SetTrackFlags,
    SetTransform,
    Slide,
    Slip,
    Trim,
    Unlink,
    decode_op,
)
from engine.projectfile import encode_project
from engine.validate import problems
from tests.engine.timelines import timeline, with_title

OpStrategy = st.SearchStrategy[Op]


def start(locked: tuple[str, ...] = ("V3",)) -> Project:
    """Linked pairs on V1/A1, an aligned but unlinked pair on V2/A2, a title, two markers, a
    gap (70-90) that V1, A1, V2 and A2 share so ripples can close it, and locked tracks (V3,
    which the unlocked tracks overlap, unless told otherwise)."""
    p = timeline(
        {
            "V3": [(20, 40)],
            "V2": [(0, 30)],
            "V1": [(0, 40), (40, 30), (90, 20)],
            "A1": [(0, 40), (40, 30), (90, 20)],
            "A2": [(0, 30), (90, 5)],
        },
        locked=locked,
    )
    marks = (Marker(id="m_1", frame=40, name="beat"), Marker(id="m_2", frame=90))
    p = msgspec.structs.replace(with_title(p, "V2", 100, 30), markers=marks)
    # Faded sound on A1 (a linked pair) and A2, so edits start out with fades to keep.
    if "A1" not in locked:
        p = SetAudio("c_12", gain_db=-6.0, fade_in=10, fade_out=25).apply(p).project
    if "A2" not in locked:
        p = SetAudio("c_18", fade_out=5).apply(p).project
    return p


# -- parameters drawn from the current project ---------------------------------------------


def clip_ids(p: Project) -> st.SearchStrategy[str]:
    return st.sampled_from([c.id for t in p.tracks for c in t.clips] + ["c_404"])


def text_clip_ids(p: Project) -> st.SearchStrategy[str]:
    texts = [c.id for t in p.tracks for c in t.clips if c.kind == "text"]
    return st.sampled_from(texts) if texts else clip_ids(p)


def frames(p: Project) -> st.SearchStrategy[int]:
    """Clip edges, markers, marks and the timeline's ends, give or take a frame, or anywhere."""
    edges = {0, p.duration}
    edges.update(e for t in p.tracks for c in t.clips for e in (c.start, c.end))
    edges.update(m.frame for m in p.markers)
    listed = sorted(edges)
    return st.one_of(
        st.sampled_from(listed),
        st.tuples(st.sampled_from(listed), st.integers(-2, 2)).map(sum),
        st.integers(-3, p.duration + 30),
    )


def deltas() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-40, 40), st.sampled_from([-10_000, -101, 9_900, 10_000]))


def tracks(p: Project) -> st.SearchStrategy[str]:
    return st.sampled_from([t.name for t in p.tracks] + [t.id for t in p.tracks] + ["V9"])


def optional_tracks(p: Project) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), tracks(p))


def markers(p: Project) -> st.SearchStrategy[str]:
    names = [m.name for m in p.markers if m.name]
    return st.sampled_from([m.id for m in p.markers] + names + ["m_404"])


def rollable_clip_ids(p: Project) -> st.SearchStrategy[str]:
    """Clips with a clip right after them (what roll needs), or any clip if there is none."""
    ids = [
        a.id
        for t in p.tracks
        for a, b in zip(t.clips, t.clips[1:], strict=False)
        if a.end == b.start
    ]
    return st.sampled_from(ids) if ids else clip_ids(p)


def link_pairs(p: Project) -> st.SearchStrategy[tuple[str, str]]:
    """A clip and, mostly, a clip aligned with it on another track (what link needs)."""
    every = [c for t in p.tracks for c in t.clips]

    def partner(first: str) -> st.SearchStrategy[tuple[str, str]]:
        c = next((c for c in every if c.id == first), None)
        aligned = [
            o.id for o in every if c and o.id != c.id and (o.start, o.end) == (c.start, c.end)
        ]
        return st.tuples(st.just(first), st.sampled_from(aligned) if aligned else clip_ids(p))

    unlinked = [c.id for c in every if c.linked_id is None]
    first = st.sampled_from(unlinked) if unlinked else clip_ids(p)
    return first.flatmap(partner)


def gaps(p: Project) -> st.SearchStrategy[tuple[str, int]]:
    """A track and a frame inside one of its gaps (what close-gap needs), or anywhere."""
    inside = []
    for t in p.tracks:
        end = 0
        for c in t.clips:
            if c.start > end:
                inside += [(t.name, end), (t.name, (end + c.start) // 2)]
            end = c.end
    anywhere = st.tuples(tracks(p), frames(p))
    return st.one_of(st.sampled_from(inside), anywhere) if inside else anywhere


def some_clip_ids(p: Project) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(clip_ids(p), min_size=1, max_size=3).map(tuple)


# -- one strategy per op -------------------------------------------------------------------


def place(
    cls: type[Insert] | type[Overwrite] | type[PlaceOnTop],
) -> Callable[[Project], OpStrategy]:
    def build(p: Project) -> OpStrategy:
        return st.builds(
            cls,
            asset_id=st.sampled_from(["a_1", "a_2", "a_3", "a_4", "a_9"]),
            at=frames(p),
            track=optional_tracks(p),
            source_in=st.sampled_from([0, 100, 9_990, 9_999, 10_000]),
            duration=st.one_of(st.integers(1, 40), st.sampled_from([None, 0])),
            with_audio=st.booleans(),
            audio_track=optional_tracks(p),
        )

    return build


def move(p: Project) -> OpStrategy:
    return st.one_of(
        st.builds(
            Move,
            clip_ids=some_clip_ids(p),
            by=deltas(),
            track=optional_tracks(p),
            mode=st.sampled_from(["overwrite", "insert", "free"]),
        ),
        st.builds(
            Move,
            clip_ids=some_clip_ids(p),
            to=frames(p),
            track=optional_tracks(p),
            mode=st.sampled_from(["overwrite", "insert", "free"]),
        ),
    )


def edge_op(cls: type[Trim] | type[RippleTrim]) -> Callable[[Project], OpStrategy]:
    def build(p: Project) -> OpStrategy:
        edge = st.sampled_from(["in", "out"])
        return st.one_of(
            st.builds(cls, clip_id=clip_ids(p), edge=edge, by=deltas()),
            st.builds(cls, clip_id=clip_ids(p), edge=edge, to=frames(p)),
        )

    return build


BUILDERS: dict[str, Callable[[Project], OpStrategy]] = {
    "insert": place(Insert),
    "overwrite": place(Overwrite),
    "place_on_top": place(PlaceOnTop),
    "move": move,
    "nudge": lambda p: st.builds(Nudge, clip_ids=some_clip_ids(p), by=st.integers(-5, 5)),
    "blade": lambda p: st.one_of(
        st.builds(Blade, at=frames(p)),
        st.builds(Blade, at=frames(p), clip_ids=some_clip_ids(p)),
    ),
    "trim": edge_op(Trim),
    "ripple_trim": edge_op(RippleTrim),
    "roll": lambda p: st.one_of(
        st.builds(Roll, clip_id=rollable_clip_ids(p), by=deltas()),
        st.builds(Roll, clip_id=rollable_clip_ids(p), to=frames(p)),
    ),
    "slip": lambda p: st.builds(Slip, clip_id=clip_ids(p), by=deltas()),
    "slide": lambda p: st.builds(Slide, clip_id=clip_ids(p), by=deltas()),
    "lift": lambda p: st.builds(Lift, clip_ids=some_clip_ids(p)),
    "ripple_delete": lambda p: st.builds(RippleDelete, clip_ids=some_clip_ids(p)),
    "close_gap": lambda p: gaps(p).map(lambda g: CloseGap(track=g[0], at=g[1])),
    "ripple_delete_range": lambda p: st.one_of(
        st.builds(RippleDeleteRange, start=frames(p), end=frames(p)),
        st.just(RippleDeleteRange()),
    ),
    "lift_range": lambda p: st.one_of(
        st.builds(LiftRange, start=frames(p), end=frames(p)),
        st.just(LiftRange()),
    ),
    "link": lambda p: link_pairs(p).map(lambda ids: Link(*ids)),
    "unlink": lambda p: st.builds(Unlink, clip_id=clip_ids(p)),
    "add_track": lambda p: st.builds(
        AddTrack,
        kind=st.sampled_from(["video", "audio"]),
        name=st.one_of(st.none(), st.sampled_from(["V1", "Extra", "A9"])),
        index=st.one_of(st.none(), st.integers(-1, len(p.tracks) + 1)),
    ),
    "remove_track": lambda p: st.builds(RemoveTrack, track=tracks(p)),
    "reorder_track": lambda p: st.builds(
        ReorderTrack, track=tracks(p), index=st.integers(-1, len(p.tracks))
    ),
    "track_flags": lambda p: st.builds(
        SetTrackFlags,
        track=tracks(p),
        locked=st.one_of(st.none(), st.booleans()),
        muted=st.one_of(st.none(), st.booleans()),
        solo=st.one_of(st.none(), st.booleans()),
        name=st.one_of(st.none(), st.sampled_from(["V1", "Renamed"])),
    ),
    "add_marker": lambda p: st.builds(
        AddMarker, at=frames(p), name=st.sampled_from(["", "beat", "end"])
    ),
    "remove_marker": lambda p: st.builds(RemoveMarker, marker_id=markers(p)),
    "edit_marker": lambda p: st.builds(
        EditMarker,
        marker_id=markers(p),
        at=st.one_of(st.none(), frames(p)),
        name=st.one_of(st.none(), st.just("moved")),
        note=st.one_of(st.none(), st.sampled_from(["", "check the level"])),
    ),
    "set_marks": lambda p: st.one_of(
        st.builds(
            SetMarks,
            mark_in=st.one_of(st.none(), frames(p)),
            mark_out=st.one_of(st.none(), frames(p)),
        ),
        st.just(SetMarks(clear=True)),
    ),
    "add_text": lambda p: st.builds(
        AddText,
        text=st.sampled_from(["Hi", "Chapter two"]),
        at=frames(p),
        duration=st.integers(0, 40),
        track=optional_tracks(p),
    ),
    "edit_text": lambda p: st.builds(
        EditText,
        clip_id=text_clip_ids(p),
        text=st.one_of(st.none(), st.just("edited")),
        size=st.one_of(st.none(), st.integers(0, 100)),
    ),
    # Gain and fades on audio clips (and, through the link, video ones); blades, trims, rolls
    # and slides after them must keep every clip's fades inside it (`engine.validate`).
    "set_audio": lambda p: st.builds(
        SetAudio,
        clip_id=clip_ids(p),
        gain_db=st.one_of(st.none(), st.sampled_from([-60.0, -6.0, 0.0, 3.5, 24.0])),
        fade_in=st.one_of(st.none(), st.integers(0, 45)),
        fade_out=st.one_of(st.none(), st.integers(0, 45)),
    ),
    "set_transform": lambda p: st.builds(
        SetTransform,
        clip_id=clip_ids(p),
        x=st.one_of(st.none(), st.sampled_from([-100_000.0, -12.5, 0.0, 640.0])),
        scale=st.one_of(st.none(), st.sampled_from([0.01, 1.0, 2.5, 100.0])),
        opacity=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0])),
    ),
    # These timelines hold no TTS takes, so a take switch is refused here (which must leave
    # the project as it was); switching between real takes is tests/engine/test_tts.py's.
    "select_take": lambda p: st.builds(
        SelectTake,
        clip=clip_ids(p),
        asset=st.sampled_from(["a_1", "a_2", "a_9"]),
    ),
    # An asset given another file: as long as the media, shorter than its clips play or of
    # another kind (both refused); the clips keep their ranges.
    "relink_media": lambda p: st.builds(
        lambda a, length, kind: RelinkMedia(
            (
                msgspec.structs.replace(
                    a,
                    kind=kind or a.kind,
                    hash="e" * 64,
                    media=msgspec.structs.replace(a.media, duration_frames=length),
                ),
            )
        ),
        st.sampled_from(p.assets),
        st.sampled_from([1, 60, 10_000]),
        st.sampled_from([None, "image"]),
    ),
    # Cues in any order, overlapping or not (refused then); placed again, they replace.
    "place_captions": lambda p: st.builds(
        PlaceCaptions,
        cues=st.lists(
            st.builds(
                CaptionCue,
                text=st.sampled_from(["so today", "we are", " "]),
                at=frames(p),
                duration=st.integers(1, 30),
            ),
            max_size=4,
        ).map(lambda cues: tuple(sorted(cues, key=lambda c: c.at))),
    ),
}


def ops_for(p: Project) -> OpStrategy:
    return st.sampled_from(sorted(BUILDERS)).flatmap(lambda name: BUILDERS[name](p))


# -- the machine ----------------------------------------------------------------------------


def all_ids(p: Project) -> list[str]:
    return [
        *(a.id for a in p.assets),
        *(f.id for f in p.folders),
        *(t.id for t in p.tracks),
        *(c.id for t in p.tracks for c in t.clips),
        *(m.id for m in p.markers),
    ]


def clip_states(p: Project) -> set[tuple[str, object]]:
    return {(c.id, (t.id, c)) for t in p.tracks for c in t.clips}


class TimelineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.project = start()
        self.initial = encode_project(self.project)
        self.undo_stack: list[tuple[Batch, Project]] = []

    @initialize(locked=st.sampled_from([("V3",), ("V3", "A1"), ("A2",)]))
    def begin(self, locked: tuple[str, ...]) -> None:
        """Start with V3 locked, or also A1 (locked linked partners), or only A2."""
        self.project = start(locked)
        self.initial = encode_project(self.project)

    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        op = data.draw(ops_for(self.project), label="op")
        before = self.project
        try:
            result = op.apply(before)
        except OpError:
            return
        locked_before = {t.id: t.clips for t in before.tracks if t.locked}
        after_tracks = {t.id: t for t in result.project.tracks}
        for track_id, clips in locked_before.items():
            assert track_id in after_tracks, f"{op} removed locked track {track_id}"
            assert after_tracks[track_id].clips == clips, f"{op} changed locked track {track_id}"
        # History stores the steps as JSON: redo replays the forward steps, undo the inverse.
        forward = decode_op(msgspec.json.encode(result.forward))
        assert forward.apply(before).project == result.project
        inverse = decode_op(msgspec.json.encode(result.inverse))
        assert inverse.apply(result.project).project == before
        changed = clip_states(before) ^ clip_states(result.project)
        assert {cid for cid, _ in changed} <= result.touched, f"{op} did not report every change"
        self.undo_stack.append((result.inverse, before))
        self.project = result.project

    @precondition(lambda self: bool(self.undo_stack))
    @rule()
    def undo(self) -> None:
        inverse, before = self.undo_stack.pop()
        self.project = inverse.apply(self.project).project
        assert self.project == before

    @invariant()
    def valid(self) -> None:
        assert problems(self.project) == []

    @invariant()
    def ids_unique(self) -> None:
        ids = all_ids(self.project)
        assert len(ids) == len(set(ids))

    @invariant()
    def markers_sorted(self) -> None:
        marks: tuple[Marker, ...] = self.project.markers
        assert list(marks) == sorted(marks, key=lambda m: (m.frame, m.id))

    def teardown(self) -> None:
        while self.undo_stack:
            inverse, before = self.undo_stack.pop()
            self.project = inverse.apply(self.project).project
            assert self.project == before
        assert encode_project(self.project) == self.initial


QUICK = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_random_op_sequences_keep_the_timeline_valid() -> None:
    run_state_machine_as_test(TimelineMachine, settings=QUICK)


@pytest.mark.slow
def test_random_op_sequences_keep_the_timeline_valid_long() -> None:
    run_state_machine_as_test(
        TimelineMachine,
        settings=settings(QUICK, max_examples=600, stateful_step_count=60),
    )


def test_the_machine_reaches_every_op() -> None:
    """Every op family has a builder, so no op silently drops out of the random sequences."""
    from engine.ops import ALL, PlaceCaptions

    tags = {cls.__struct_config__.tag for cls in (*ALL, PlaceCaptions, RelinkMedia)} - {"batch"}
    assert tags == set(BUILDERS)
