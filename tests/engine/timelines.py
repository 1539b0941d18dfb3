"""Synthetic timelines for op tests: no media files needed, every invariant holds."""

from __future__ import annotations

import msgspec

from engine.model import Asset, Clip, MediaInfo, Project, TextProps, Track, new_project
from engine.timebase import Rate

MEDIA_FRAMES = 10_000


def asset(asset_id: str, kind: str, derived_from: str | None = None) -> Asset:
    ext = {"video": "mp4", "audio": "m4a", "image": "png"}[kind]
    return Asset(
        id=asset_id,
        kind=kind,
        name=f"{asset_id}.{ext}",
        hash=(asset_id[-1] * 64)[:64] if asset_id[-1] in "0123456789abcdef" else "f" * 64,
        ext=ext,
        derived_from=derived_from,
        media=MediaInfo(
            format="mp4", size_bytes=1, duration_frames=0 if kind == "image" else MEDIA_FRAMES
        ),
    )


ASSETS = (
    asset("a_1", "video"),
    asset("a_2", "audio", derived_from="a_1"),
    asset("a_3", "audio"),
    asset("a_4", "image"),
)


def timeline(
    spec: dict[str, list[tuple[int, int]]], *, linked: bool = True, locked: tuple[str, ...] = ()
) -> Project:
    """A project from ``{"V1": [(start, duration), ...], "A1": [...], ...}``.

    With ``linked``, the i-th clip of V1 and of A1 form a linked pair when their ranges match.
    Clip ids are ``c_<n>`` in track order; source_in is 100 so slips both ways are possible.
    """
    p = new_project("t", rate=Rate(30))
    n = 10
    tracks = []
    for ti, (name, ranges) in enumerate(spec.items()):
        kind = "video" if name.startswith("V") else "audio"
        clips = []
        for start, duration in ranges:
            aid = "a_1" if kind == "video" else ("a_2" if name == "A1" else "a_3")
            clips.append(
                Clip(
                    id=f"c_{n}",
                    kind="media",
                    name=f"{name}.{len(clips)}",
                    start=start,
                    duration=duration,
                    source_in=100,
                    asset_id=aid,
                )
            )
            n += 1
        tracks.append(
            Track(id=f"t_{ti + 1}", kind=kind, name=name, locked=name in locked, clips=tuple(clips))
        )
    if linked and "V1" in spec and "A1" in spec:
        v1 = next(t for t in tracks if t.name == "V1")
        a1 = next(t for t in tracks if t.name == "A1")
        pairs = {(c.start, c.duration): c for c in a1.clips}
        vnew, anew = [], {c.id: c for c in a1.clips}
        for c in v1.clips:
            partner = pairs.get((c.start, c.duration))
            if partner is not None:
                c = msgspec.structs.replace(c, linked_id=partner.id)
                anew[partner.id] = msgspec.structs.replace(partner, linked_id=c.id)
            vnew.append(c)
        tracks = [
            msgspec.structs.replace(t, clips=tuple(vnew))
            if t is v1
            else msgspec.structs.replace(t, clips=tuple(anew[c.id] for c in a1.clips))
            if t is a1
            else t
            for t in tracks
        ]
    return msgspec.structs.replace(p, assets=ASSETS, tracks=tuple(tracks), next_id=n + 100)


def with_title(p: Project, track: str, start: int, duration: int) -> Project:
    tracks = []
    for t in p.tracks:
        if t.name == track:
            title = Clip(
                id="c_99",
                kind="text",
                name="title",
                start=start,
                duration=duration,
                text=TextProps(text="hello"),
            )
            t = msgspec.structs.replace(
                t, clips=tuple(sorted((*t.clips, title), key=lambda c: c.start))
            )
        tracks.append(t)
    return msgspec.structs.replace(p, tracks=tuple(tracks))


def layout(p: Project, track: str) -> list[tuple[int, int]]:
    """``(start, duration)`` of every clip on the named track."""
    t = next(t for t in p.tracks if t.name == track)
    return [(c.start, c.duration) for c in t.clips]


def clip(p: Project, clip_id: str) -> Clip:
    return next(c for t in p.tracks for c in t.clips if c.id == clip_id)


def show(p: Project, *, sources: bool = False) -> list[str]:
    """Every track as one line, ``"V1: c_10[0,10) c_11[10,20)"``, in display order.

    With ``sources`` each clip also shows its first source frame (``c_10[0,10)@100``).
    """
    lines = []
    for t in p.tracks:
        clips = " ".join(
            f"{c.id}[{c.start},{c.end})" + (f"@{c.source_in}" if sources else "") for c in t.clips
        )
        lines.append(f"{t.name}: {clips}".rstrip())
    return lines


def links(p: Project) -> set[tuple[str, str]]:
    """The linked pairs, each as its two clip ids in string order (``("c_10", "c_12")``)."""
    return {
        (min(c.id, c.linked_id), max(c.id, c.linked_id))
        for t in p.tracks
        for c in t.clips
        if c.linked_id
    }


def edited(p: Project, clip_id: str, **changes: object) -> Project:
    """``p`` with the fields of one clip replaced (no other clip changes)."""
    tracks = tuple(
        msgspec.structs.replace(
            t,
            clips=tuple(
                msgspec.structs.replace(c, **changes) if c.id == clip_id else c for c in t.clips
            ),
        )
        for t in p.tracks
    )
    return msgspec.structs.replace(p, tracks=tracks)
