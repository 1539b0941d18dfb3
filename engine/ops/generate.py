"""Generated audio on the timeline: scenario lines placed as takes, takes landing, a take chosen.

A TTS pass (`engine.tts`) places every line of the scenario on one shared audio track,
``Dialogue`` (one track for all speakers: a dialogue's lines take turns, so they never need to
overlap, and the scene reads top to bottom in one row). A line whose take is not made yet is a
*placeholder*: a clip of an asset without bytes whose `Generation` says which job makes it, as
long as the estimate of its speech. When the job's audio lands, the asset gets its bytes and
the clip its real length, as one undoable edit.

How neighbours react to a clip changing length (`resize`), on its own track only: the clips
that follow it back to back (each starting where the one before ended, as lines placed "after
the last line" do) move with its end, earlier or later; a clip further on that the longer
clip would now overlap is pushed just clear of it, and the ones touching it follow; a clip
past a gap wide enough stays where it is (an explicit start keeps its place when it can).
Linked clips are never moved by this (a dialogue clip has no partner; a pair would come apart).
"""

from __future__ import annotations

import msgspec

from engine.model import Asset, Clip, Ext, Generation, Id, MediaInfo, Sha256, Track
from engine.ops.base import Frame, Frames, Op
from engine.ops.draft import Draft, OpError, PutTrack

DIALOGUE_TRACK = "Dialogue"


class Placement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One scenario line, in scenario order: the existing ``clip`` left as it is (``keep``) or
    switched to this take, or a new clip; showing the ready asset ``reuse`` or a new
    placeholder. A new clip starts at ``start`` when the line gives one, else where the
    previous line's clip ends; if that range is taken, at the first free range after it."""

    line: str
    take: str
    name: str
    duration: Frames
    start: Frame | None = None
    clip: Id | None = None
    keep: bool = False
    reuse: Id | None = None
    job: str | None = None


class PlaceTakes(Op, frozen=True, tag="place_takes"):
    """Put scenario lines on the dialogue track: new clips, or lines already there switched
    to a new take; a placeholder asset is made for each take not ready yet.

    Before:  Dialogue [l_1 ready ]
    After:   Dialogue [l_1 ready ][l_2 queued ~2s][l_3 queued ~3s]
    """

    placements: tuple[Placement, ...]
    track: str = DIALOGUE_TRACK

    def compile(self, d: Draft) -> str:
        track = _dialogue_track(d, self.track)
        queued = placed = 0
        cursor = 0  # where the previous line's clip ends
        for p in self.placements:
            if p.keep and p.clip is not None:
                cursor = d.find(p.clip)[1].end
                continue
            placed += 1
            if p.reuse is not None:
                asset = d.current_asset(p.reuse)
                if asset is None:
                    raise OpError(f"asset {p.reuse} is not in the project any more")
                asset_id = asset.id
            else:
                asset_id = d.new_id("a")
                d.set_asset(
                    None,
                    Asset(
                        id=asset_id,
                        kind="audio",
                        name=p.name,
                        generation=Generation(
                            stage="queued", job_id=p.job, line=p.line, take=p.take
                        ),
                    ),
                )
                queued += 1
            if p.clip is not None:
                t, c = d.find(p.clip)
                new = msgspec.structs.replace(
                    c, asset_id=asset_id, duration=p.duration, source_in=0, name=p.name
                )
                resize(d, t, c, new)
                cursor = new.end
            else:
                start = _free_start(d, track, cursor if p.start is None else p.start, p.duration)
                clip = Clip(
                    id=d.new_id("c"),
                    kind="media",
                    name=p.name,
                    start=start,
                    duration=p.duration,
                    asset_id=asset_id,
                )
                d.add(track.id, clip)
                cursor = clip.end
        return f"placed {placed} scenario line(s) on {track.name} ({queued} to generate)"


class LandTake(Op, frozen=True, tag="land_take"):
    """A generated take's audio arrives: its placeholder assets get the bytes, and their clips
    their real length (neighbours as the module's docstring says).

    Before:  Dialogue [l_1 queued ~2s][l_2 ready]
    After:   Dialogue [l_1 ready 2.6s  ][l_2 ready]     (l_2 followed l_1's end)
    """

    take: str
    hash: Sha256
    ext: Ext
    media: MediaInfo

    def compile(self, d: Draft) -> str:
        landed = []
        for asset in list(d.assets):
            gen = asset.generation
            if gen is None or gen.take != self.take or gen.stage == "ready":
                continue
            ready = msgspec.structs.replace(
                asset,
                hash=self.hash,
                ext=self.ext,
                media=self.media,
                generation=msgspec.structs.replace(gen, stage="ready", progress=1.0, error=None),
            )
            d.set_asset(asset, ready)
            landed.append(asset.id)
        if not landed:
            raise OpError(f"no placeholder waits for take {self.take}; it was undone or removed")
        length = max(1, self.media.duration_frames)
        for t in list(d.tracks):
            for c in list(d.clips(t.id)):
                if c.asset_id in landed:
                    new = msgspec.structs.replace(c, duration=max(1, length - c.source_in))
                    resize(d, t, c, new)
        return f"take {self.take} landed: {d.tc(length)} long"


class SelectTake(Op, frozen=True, tag="select_take"):
    """Show another take of the same line in a clip: its asset changes, and its length
    becomes the take's (neighbours as the module's docstring says).

    Before:  Dialogue [l_2 take B  ][l_3]
    After:   Dialogue [l_2 take A ][l_3]
    """

    clip: Id
    asset: Id

    def compile(self, d: Draft) -> str:
        t, c = d.find(self.clip)
        asset = d.current_asset(self.asset)
        if asset is None:
            raise OpError(
                f"asset {self.asset!r} does not exist; `reelcut tts DIR takes` lists them"
            )
        old = d.current_asset(c.asset_id) if c.asset_id else None
        line = old.generation.line if old is not None and old.generation is not None else None
        gen = asset.generation
        if gen is None or gen.line is None or gen.line != line:
            raise OpError(
                f"asset {asset.id} is not a take of the line clip {c.id} speaks; "
                "`reelcut tts DIR takes` lists each line's takes"
            )
        if gen.stage != "ready" or asset.media is None:
            raise OpError(f"take {asset.id} has no audio yet ({gen.stage}); wait for its job")
        if c.asset_id == asset.id:
            return f"clip {c.id} already shows take {asset.id}"
        new = msgspec.structs.replace(
            c, asset_id=asset.id, source_in=0, duration=max(1, asset.media.duration_frames)
        )
        resize(d, t, c, new)
        return f"clip {c.id} shows take {asset.id} of line {line}"


def _dialogue_track(d: Draft, name: str) -> Track:
    for t in d.tracks:
        if t.name == name:
            if t.kind != "audio":
                raise OpError(f"track {name} is a video track; dialogue needs an audio track")
            return t
    audio = [i for i, t in enumerate(d.tracks) if t.kind == "audio"]
    track = Track(id=d.new_id("t"), kind="audio", name=name)
    d.apply([PutTrack(audio[-1] + 1 if audio else len(d.tracks), track)])
    return track


def _free_start(d: Draft, track: Track, start: int, duration: int) -> int:
    """The first start at or after ``start`` where ``duration`` frames are free on ``track``."""
    seq = d.clips(track.id)
    i = max(0, seq.bisect_left(start) - 1)
    while i < len(seq):
        c = seq[i]
        if c.end > start and c.start < start + duration:
            start = c.end
        elif c.start >= start + duration:
            break
        i += 1
    return start


def resize(d: Draft, track: Track, clip: Clip, new: Clip) -> None:
    """Replace ``clip`` by ``new`` (same start, another length or asset) and move the clips
    after it as the module's docstring says."""
    followers: list[tuple[Clip, Clip]] = []
    old_end, new_end = clip.end, new.end
    seq = d.clips(track.id)
    i = seq.bisect_left(clip.start)
    for j in range(i + 1, len(seq)):
        n = seq[j]
        if n.linked_id is not None:
            break
        if n.start == old_end or n.start < new_end:
            moved = msgspec.structs.replace(n, start=new_end)
        else:
            break
        if moved.start == n.start:
            break
        followers.append((n, moved))
        old_end, new_end = n.end, moved.end
    if new.end >= clip.end:  # growing: make room from the far end first
        for before, after in reversed(followers):
            d.replace(track.id, before, after)
        d.replace(track.id, clip, new)
    else:  # shrinking: the clip first, then pull the followers in order
        d.replace(track.id, clip, new)
        for before, after in followers:
            d.replace(track.id, before, after)
