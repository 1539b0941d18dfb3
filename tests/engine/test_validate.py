"""The invariant checker: its fast path and its detailed pass must always agree."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import (
    Asset,
    Clip,
    Marker,
    MediaInfo,
    Project,
    TextProps,
    Track,
    new_project,
)
from engine.timebase import Rate
from engine.validate import _detailed, _fast_ok, problems

H = "ab" * 32


def base_project(n: int = 6) -> Project:
    """V1 and A1 with linked pairs, V2 with a text clip; every invariant holds."""
    p = new_project("v", rate=Rate(30))
    video = Asset(
        id="a_1",
        kind="video",
        name="v.mp4",
        hash=H,
        ext="mp4",
        media=MediaInfo(format="mp4", size_bytes=1, duration_frames=1000),
    )
    audio = Asset(
        id="a_2",
        kind="audio",
        name="v.m4a",
        hash=H,
        ext="m4a",
        media=MediaInfo(format="mp4", size_bytes=1, duration_frames=1000),
    )
    v = tuple(
        Clip(
            id=f"c_{10 + 2 * i}",
            kind="media",
            name=f"v{i}",
            start=i * 50,
            duration=40,
            source_in=i,
            asset_id="a_1",
            linked_id=f"c_{11 + 2 * i}",
        )
        for i in range(n)
    )
    a = tuple(
        Clip(
            id=f"c_{11 + 2 * i}",
            kind="media",
            name=f"a{i}",
            start=i * 50,
            duration=40,
            source_in=i,
            asset_id="a_2",
            linked_id=f"c_{10 + 2 * i}",
        )
        for i in range(n)
    )
    title = Clip(id="c_9", kind="text", name="t", start=0, duration=30, text=TextProps(text="hi"))
    v1, a1 = p.tracks
    return msgspec.structs.replace(
        p,
        assets=(video, audio),
        next_id=100,
        tracks=(
            Track(id="t_3", kind="video", name="V2", clips=(title,)),
            msgspec.structs.replace(v1, clips=v),
            msgspec.structs.replace(a1, clips=a),
        ),
    )


def mutate(p: Project, which: int, track: int, index: int, value: int) -> Project:
    """One small, possibly invalidating change to ``p``."""
    t = p.tracks[track % len(p.tracks)]
    if not t.clips:
        return p
    i = index % len(t.clips)
    c = t.clips[i]
    field = [
        "start",
        "duration",
        "source_in",
        "linked_id",
        "asset_id",
        "id",
        "kind",
        "next_id",
        "selection",
        "text",
        "marker",
    ][which]
    if field in ("start", "duration", "source_in"):
        c = msgspec.structs.replace(c, **{field: max(getattr(c, field) + value, 1)})
    elif field == "linked_id":
        c = msgspec.structs.replace(c, linked_id=None if value % 2 else f"c_{10 + value % 14}")
    elif field == "asset_id":
        c = msgspec.structs.replace(c, asset_id=["a_1", "a_2", "a_9", None][value % 4])
    elif field == "id":
        c = msgspec.structs.replace(c, id=f"c_{value % 30}")
    elif field == "kind":
        c = msgspec.structs.replace(c, kind=["media", "text", "remotion"][value % 3])
    elif field == "text":
        c = msgspec.structs.replace(c, text=None)
    elif field == "next_id":
        return msgspec.structs.replace(p, next_id=max(1, 10 + value))
    elif field == "marker":
        marker = Marker(id=f"c_{value % 30}" if value % 2 else f"m_{value % 120}", frame=5)
        return msgspec.structs.replace(p, markers=(*p.markers, marker))
    elif field == "selection":
        ed = msgspec.structs.replace(p.editor, selection=(f"c_{value % 30}",))
        return msgspec.structs.replace(p, editor=ed)
    clips = (*t.clips[:i], c, *t.clips[i + 1 :])
    tracks = list(p.tracks)
    tracks[track % len(p.tracks)] = msgspec.structs.replace(t, clips=clips)
    return msgspec.structs.replace(p, tracks=tuple(tracks))


def test_valid_project_has_no_problems() -> None:
    assert _fast_ok(base_project())
    assert problems(base_project()) == []


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.integers(0, 2), st.integers(0, 20), st.integers(-60, 60)),
        min_size=1,
        max_size=3,
    )
)
def test_fast_path_agrees_with_detailed_pass(changes: list[tuple[int, int, int, int]]) -> None:
    """Whatever the change, the fast check says OK exactly when no problem is found."""
    p = base_project()
    for change in changes:
        p = mutate(p, *change)
    assert _fast_ok(p) == (not _detailed(p)), _detailed(p)


def test_each_invariant_is_reported_with_its_path() -> None:
    p = base_project()
    overlapping = mutate(p, 0, 1, 0, 20)  # V1 clip 0 pushed onto clip 1
    assert problems(overlapping)[0][0] == "$.tracks[1].clips[1].start"
    unaligned = mutate(p, 1, 2, 0, 5)  # A1 clip 0 longer than its linked video
    assert any("not aligned" in m for _, m in problems(unaligned))
    too_long = mutate(p, 1, 1, 5, 2000)
    assert any("has 1000 frames" in m for _, m in problems(too_long))
