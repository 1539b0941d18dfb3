"""Tracks: add, remove, reorder, lock, mute, solo and rename."""

from __future__ import annotations

from typing import Literal

import msgspec

from engine.model import Track
from engine.ops.base import Op
from engine.ops.draft import Draft, DropTrack, MoveTrack, OpError, PutTrack, SetTrackHeader


class AddTrack(Op, frozen=True, tag="add_track"):
    """Add an empty track (named V3, A2, ... unless named) at ``index`` (default: after the
    last track of its kind)."""

    kind: Literal["video", "audio"]
    name: str | None = None
    index: int | None = None

    def compile(self, d: Draft) -> str:
        same = [i for i, t in enumerate(d.tracks) if t.kind == self.kind]
        name = self.name or f"{self.kind[0].upper()}{len(same) + 1}"
        if any(t.name == name for t in d.tracks):
            raise OpError(f"a track named {name} already exists")
        index = self.index if self.index is not None else (same[-1] + 1 if same else len(d.tracks))
        if not 0 <= index <= len(d.tracks):
            raise OpError(f"track position {index} is out of range (0-{len(d.tracks)})")
        track = Track(id=d.new_id("t"), kind=self.kind, name=name)
        d.apply([PutTrack(index, track)])
        return f"added {self.kind} track {name} ({track.id})"


class RemoveTrack(Op, frozen=True, tag="remove_track"):
    """Remove a track with its clips; clips linked to them lose their link."""

    track: str

    def compile(self, d: Draft) -> str:
        t = d.track_by_ref(self.track)
        if t.locked:
            raise OpError(f"track {t.name} is locked; unlock it before removing it")
        for c in d.clips(t.id):
            partner = d.partner(c)
            if partner is not None:
                pt, pc = partner
                d.replace(pt.id, pc, msgspec.structs.replace(pc, linked_id=None))
        index = d.track_index(t.id)
        current = msgspec.structs.replace(d.tracks[index], clips=tuple(d.clips(t.id)))
        d.apply([DropTrack(index, current)])
        return f"removed track {t.name} and its {len(current.clips)} clip(s)"


class ReorderTrack(Op, frozen=True, tag="reorder_track"):
    """Move a track to another position in the track list (0 is the top)."""

    track: str
    index: int

    def compile(self, d: Draft) -> str:
        t = d.track_by_ref(self.track)
        if not 0 <= self.index < len(d.tracks):
            raise OpError(f"track position {self.index} is out of range (0-{len(d.tracks) - 1})")
        d.apply([MoveTrack(d.track_index(t.id), self.index)])
        return f"moved track {t.name} to position {self.index}"


class SetTrackFlags(Op, frozen=True, tag="track_flags"):
    """Lock, mute, solo or rename a track (unset fields stay as they are)."""

    track: str
    locked: bool | None = None
    muted: bool | None = None
    solo: bool | None = None
    name: str | None = None

    def compile(self, d: Draft) -> str:
        t = d.track_by_ref(self.track)
        changes = {
            k: v
            for k, v in (
                ("locked", self.locked),
                ("muted", self.muted),
                ("solo", self.solo),
                ("name", self.name),
            )
            if v is not None
        }
        if not changes:
            raise OpError(
                "nothing to change; give --lock/--unlock, --mute/--unmute, "
                "--solo/--unsolo or --name"
            )
        if "name" in changes and any(x.name == self.name and x.id != t.id for x in d.tracks):
            raise OpError(f"a track named {self.name} already exists")
        header = msgspec.structs.replace(t, clips=())
        d.apply([SetTrackHeader(header, msgspec.structs.replace(header, **changes))])
        return f"{t.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items())
