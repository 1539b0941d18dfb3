"""Putting new material on the timeline: insert, overwrite, place on top, text clips."""

from __future__ import annotations

from fractions import Fraction

import msgspec

from engine.model import Asset, Clip, TextProps, Track
from engine.ops.base import (
    FontSize,
    Frame,
    Frames,
    Op,
    check_source,
    clear_range,
    media_track,
    ripple,
    split_pair,
)
from engine.ops.draft import Draft, OpError, PutTrack
from engine.timebase import frames_from_seconds

IMAGE_SECONDS = 5


class _Place(Op, frozen=True):
    asset_id: str
    at: Frame
    track: str | None = None
    """Track id or name; default: the first unlocked track of the asset's kind."""
    source_in: Frame = 0
    duration: Frames | None = None
    """Default: the rest of the media from ``source_in`` (5 s for a still)."""
    with_audio: bool = True
    """For a video with demuxed audio, also place that audio as a linked clip."""
    audio_track: str | None = None

    def _clips(self, d: Draft) -> list[tuple[str, Clip]]:
        """The clip(s) to place, with their track ids (video first, then its linked audio)."""
        asset = d.base.asset(self.asset_id)
        if asset is None:
            raise OpError(f"asset {self.asset_id!r} does not exist; `reelcut info DIR` lists them")
        if asset.kind in ("text", "callout"):
            raise OpError(f"{asset.kind} asset {asset.id} has no media; use add-text")
        duration = self.duration if self.duration is not None else _default_duration(d, asset, self)
        if self.at < 0:
            raise OpError(f"position {self.at} is before the start of the timeline")
        kind = "audio" if asset.kind == "audio" else "video"
        track = media_track(d, kind, self.track)
        name = asset.name.rsplit(".", 1)[0] if "." in asset.name else asset.name
        main = Clip(
            id=d.new_id("c"),
            kind="remotion" if asset.kind == "remotion" else "media",
            name=name,
            start=self.at,
            duration=duration,
            source_in=self.source_in,
            asset_id=asset.id,
        )
        check_source(d, main)
        placed = [(track.id, main)]
        audio = next((a for a in d.base.assets if a.derived_from == asset.id), None)
        if audio is not None and self.with_audio and asset.kind == "video":
            atrack = media_track(d, "audio", self.audio_track)
            pair = Clip(
                id=d.new_id("c"),
                kind="media",
                name=f"{name} (audio)",
                start=self.at,
                duration=duration,
                source_in=self.source_in,
                asset_id=audio.id,
                linked_id=main.id,
            )
            check_source(d, pair)
            placed = [
                (track.id, msgspec.structs.replace(main, linked_id=pair.id)),
                (atrack.id, pair),
            ]
        return placed


def _default_duration(d: Draft, asset: Asset, op: _Place) -> int:
    if asset.kind in ("image", "remotion") or asset.media is None:
        return frames_from_seconds(Fraction(IMAGE_SECONDS), d.rate)
    remaining = asset.media.duration_frames - op.source_in
    if remaining < 1:
        raise OpError(
            f"source in {op.source_in} is past the end of {asset.name} "
            f"({asset.media.duration_frames} frames)"
        )
    return remaining


class Insert(_Place, frozen=True, tag="insert"):
    """Insert media at a frame and push everything after it later (ripple), on every track.

    A clip under the insert point is cut in two. Insert N at frame 4::

        before  V1 [AAAA|BBBB]        after  V1 [AAAA|NN|BBBB]
                A1 [aaaa|bbbb]               A1 [aaaa|nn|bbbb]
    """

    def compile(self, d: Draft) -> str:
        placed = self._clips(d)
        for track_id, _ in placed:
            straddler = d.at(track_id, self.at)
            if straddler is not None and straddler.start < self.at:
                split_pair(d, d.track(track_id), straddler, self.at)
        ripple(d, self.at, placed[0][1].duration)
        for track_id, clip in placed:
            d.add(track_id, clip)
        return f"inserted {placed[0][1].name} ({placed[0][1].id}) at {d.tc(self.at)}"


class Overwrite(_Place, frozen=True, tag="overwrite"):
    """Place media at a frame over whatever is there; nothing else moves.

    Overwrite N (3 frames) at frame 3::

        before  V1 [AAAAA|BBB]        after  V1 [AAA|NNN|BB]
    """

    def compile(self, d: Draft) -> str:
        placed = self._clips(d)
        for track_id, clip in placed:
            clear_range(d, d.track(track_id), clip.start, clip.end)
        for track_id, clip in placed:
            d.add(track_id, clip)
        return f"placed {placed[0][1].name} ({placed[0][1].id}) at {d.tc(self.at)}"


class PlaceOnTop(_Place, frozen=True, tag="place_on_top"):
    """Place media over what is there without touching it: on the nearest track above
    ``track`` (default: the first track of the asset's kind) that is empty over the range, or
    on a new track above them all when none is. Video tracks above are the ones listed before
    (the list runs top-down); an audio pair goes on the nearest free audio track below its own.

    Place N (2 frames) on top at frame 1::

        before  V2 [ BBB ]            after  V2 [ BBB ]
                V1 [AAAAA]                   V3 [ NN  ]   (new)
                                             V2 [ BBB ]
                                             V1 [AAAAA]
    """

    def compile(self, d: Draft) -> str:
        placed = self._clips(d)
        where: list[str] = []
        for i, (track_id, clip) in enumerate(placed):
            free = _free_track(d, track_id, clip.start, clip.end)
            if free != track_id:
                placed[i] = (free, clip)
            where.append(d.track(free).name)
        for track_id, clip in placed:
            d.add(track_id, clip)
        return (
            f"placed {placed[0][1].name} ({placed[0][1].id}) on top at {d.tc(self.at)} "
            f"on {' and '.join(where)}"
        )


def _free_track(d: Draft, track_id: str, start: int, end: int) -> str:
    """The track for a clip over ``[start, end)`` placed on top of ``track_id``: that track
    when it is empty there, else the nearest empty unlocked one of its kind on top of it
    (above for video, below for audio), else a new one made on the outside of its kind."""
    base = d.track(track_id)
    if not base.locked and not d.overlapping(base.id, start, end):
        return base.id
    index = d.track_index(base.id)
    tracks = d.tracks
    same = [i for i, t in enumerate(tracks) if t.kind == base.kind]
    above = range(index - 1, -1, -1) if base.kind == "video" else range(index + 1, len(tracks))
    for i in above:
        t = tracks[i]
        if t.kind == base.kind and not t.locked and not d.overlapping(t.id, start, end):
            return t.id
    taken = {t.name for t in tracks}
    n = len(same) + 1
    while f"{base.kind[0].upper()}{n}" in taken:
        n += 1
    new = Track(id=d.new_id("t"), kind=base.kind, name=f"{base.kind[0].upper()}{n}")
    d.apply([PutTrack(same[0] if base.kind == "video" else same[-1] + 1, new)])
    return new.id


class AddText(Op, frozen=True, tag="add_text"):
    """Add a text clip on a video track over a free range.

    before  V2 [    ]             after  V2 [TT  ]
    """

    text: str
    at: Frame
    duration: Frames
    track: str | None = None
    size: FontSize = 64
    color: str = "#ffffff"
    name: str | None = None

    def compile(self, d: Draft) -> str:
        track = media_track(d, "video", self.track)
        if self.duration < 1:
            raise OpError("a text clip needs a duration of at least one frame")
        if self.at < 0:
            raise OpError(f"position {self.at} is before the start of the timeline")
        clip = Clip(
            id=d.new_id("c"),
            kind="text",
            name=self.name or self.text[:32],
            start=self.at,
            duration=self.duration,
            text=TextProps(text=self.text, size=self.size, color=self.color),
        )
        d.add(track.id, clip)
        return f"added text {clip.name!r} ({clip.id}) on {track.name} at {d.tc(self.at)}"


class EditText(Op, frozen=True, tag="edit_text"):
    """Change a text clip's text, size, colour or name; its place on the timeline stays."""

    clip_id: str
    text: str | None = None
    size: FontSize | None = None
    color: str | None = None
    name: str | None = None

    def compile(self, d: Draft) -> str:
        track, clip = d.find(self.clip_id)
        if clip.kind != "text" or clip.text is None:
            raise OpError(f"clip {clip.id} is a {clip.kind} clip, not a text clip")
        if self.size is not None and self.size < 1:
            raise OpError("text size must be at least 1")
        props = msgspec.structs.replace(
            clip.text,
            **{
                k: v
                for k, v in (("text", self.text), ("size", self.size), ("color", self.color))
                if v is not None
            },
        )
        after = msgspec.structs.replace(clip, text=props, name=self.name or clip.name)
        d.replace(track.id, clip, after)
        return f"edited text clip {clip.id}"
