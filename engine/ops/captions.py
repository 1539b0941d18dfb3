"""Captions on the timeline: text clips on a video track of their own, set in one edit.

The captions track is the video track named `CAPTIONS_TRACK`; it is made on top of the other
video tracks when the project has none. `PlaceCaptions` replaces every clip on it with one
text clip per cue (the timeline's words grouped by `engine.transcripts.captions`, or the cues
of an imported .srt/.vtt file), so making captions again never stacks a second set. Each cue
is a text clip like any other: edited with `EditText`, moved, trimmed, and drawn by the page
and by the export; leaving the track out of an export (``--no-captions``) leaves the captions
out of the picture.
"""

from __future__ import annotations

import msgspec

from engine.model import Clip, Color, Project, TextProps, Track, Transform
from engine.ops.base import FontSize, Frame, Frames, Op, Result, clear_range
from engine.ops.draft import Draft, OpError, PutTrack

CAPTIONS_TRACK = "Captions"
"""The name of the video track caption clips live on."""
BACKGROUND = "#000000a0"
"""A translucent box behind each caption, so it reads over any picture."""


class CaptionCue(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One caption: its text over ``[at, at + duration)`` frames."""

    text: str
    at: Frame
    duration: Frames


class PlaceCaptions(Op, frozen=True, tag="place_captions"):
    """Replace the captions track's clips with one text clip per cue (the track is made on
    top of the video tracks when there is none). Cues are in time order and never overlap.

    before  Captions [old ][old]          after  Captions [so today][we are going]
            V1       [AAAAAAAAAAAAAA]                V1       [AAAAAAAAAAAAAA]
    """

    cues: tuple[CaptionCue, ...]
    size: FontSize | None = None
    """Font size in pixels (default: a twentieth of the picture's height)."""
    color: Color = "#ffffff"

    def compile(self, d: Draft) -> str:
        previous = 0
        for n, cue in enumerate(self.cues):
            if not tidy(cue.text):
                raise OpError(f"caption {n + 1} has no text; give each cue its words")
            if cue.duration < 1 or cue.at < 0:
                raise OpError(f"caption {n + 1} needs a position >= 0 and at least one frame")
            if cue.at < previous:
                raise OpError(
                    f"caption {n + 1} starts at {d.tc(cue.at)}, before caption {n} ends "
                    f"({d.tc(previous)}); cues go in time order without overlapping"
                )
            previous = cue.at + cue.duration
        track = _captions_track(d)
        for old in list(d.clips(track.id)):
            if old.kind != "text":
                # Only captions are replaced: a picture put on the track (and the sound linked
                # to it) is the user's, never removed as a side effect.
                raise OpError(
                    f"the {track.name} track holds {old.kind} clip {old.name!r} at "
                    f"{d.tc(old.start)}; move it to another track, then place the captions"
                )
            d.remove(track.id, old)
        height = d.base.height
        size = self.size or max(12, height // 20)
        # Centred text moved down to the lower part of the picture, where captions sit.
        place = Transform(y=float(round(height * 0.5 - size * 1.6)))
        for cue in self.cues:
            text = tidy(cue.text)
            d.add(
                track.id,
                Clip(
                    id=d.new_id("c"),
                    kind="text",
                    name=text.replace("\n", " ")[:32],
                    start=cue.at,
                    duration=cue.duration,
                    transform=place,
                    text=TextProps(text=text, size=size, color=self.color, background=BACKGROUND),
                ),
            )
        return f"placed {len(self.cues)} caption(s) on {track.name}"


def tidy(text: str) -> str:
    """A cue's text as a caption clip holds it: its lines, each with single spaces."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _captions_track(d: Draft) -> Track:
    for t in d.tracks:
        if t.name == CAPTIONS_TRACK:
            if t.kind != "video":
                raise OpError(
                    f"track {CAPTIONS_TRACK} is an audio track; rename it so captions can have "
                    "a video track of that name"
                )
            if t.locked:
                raise OpError(f"track {CAPTIONS_TRACK} is locked; unlock it to place captions")
            return t
    video = [i for i, t in enumerate(d.tracks) if t.kind == "video"]
    track = Track(id=d.new_id("t"), kind="video", name=CAPTIONS_TRACK)
    d.apply([PutTrack(video[0] if video else 0, track)])
    return track


def lift_captions(project: Project, start: int, end: int) -> Result | None:
    """``project`` with ``[start, end)`` emptied on an unlocked captions track (clips across
    its edges cut there), so a ripple delete of that range is not blocked by a caption; None
    when no caption is there."""
    d = Draft(project)
    track = next(
        (t for t in d.tracks if t.name == CAPTIONS_TRACK and t.kind == "video" and not t.locked),
        None,
    )
    if track is None or not d.overlapping(track.id, start, end):
        return None
    clear_range(d, track, start, end)
    return Result(d, f"lifted {d.tc(start)}-{d.tc(end)} from {CAPTIONS_TRACK}")


def without_captions(project: Project) -> Project:
    """``project`` with its captions track left out (an export without burned-in captions)."""
    tracks = tuple(
        t for t in project.tracks if not (t.name == CAPTIONS_TRACK and t.kind == "video")
    )
    return msgspec.structs.replace(project, tracks=tracks)


def caption_clips(tracks: tuple[Track, ...]) -> tuple[Clip, ...]:
    """The text clips on the captions track, in time order (none without the track)."""
    for t in tracks:
        if t.name == CAPTIONS_TRACK and t.kind == "video":
            return tuple(c for c in t.clips if c.kind == "text" and c.text is not None)
    return ()
