"""Moving clips in time and between tracks: move (overwrite, insert or free) and nudge."""

from __future__ import annotations

from typing import Literal

import msgspec

from engine.model import Clip, Track
from engine.ops.base import (
    Frame,
    Offset,
    Op,
    clear_range,
    ripple,
    split_pair,
    with_article,
    with_partners,
)
from engine.ops.draft import Draft, OpError, Overlap


class Move(Op, frozen=True, tag="move"):
    """Move clips (with their linked partners) by ``by`` frames, or so the earliest starts at
    ``to``, optionally onto another track of the same kind.

    ``mode`` says what happens at the destination: ``overwrite`` cuts away what is there,
    ``insert`` pushes everything from the destination later on every track, ``free`` refuses
    to touch other clips. Move C from 5 to 1, overwrite::

        before  V1 [AAAA CC ]         after  V1 [ACCA    ]
    """

    clip_ids: tuple[str, ...]
    by: Offset | None = None
    to: Frame | None = None
    track: str | None = None
    """Destination track for the named clips (partners stay on their own tracks)."""
    mode: Literal["overwrite", "insert", "free"] = "overwrite"

    def compile(self, d: Draft) -> str:
        if not self.clip_ids:
            raise OpError("name at least one clip to move")
        if (self.by is not None and self.to is not None) or (
            self.by is None and self.to is None and self.track is None
        ):
            raise OpError("give either --by FRAMES or --to POSITION (or a --track)")
        group = with_partners(d, self.clip_ids)
        named = {d.find(cid)[1].id for cid in self.clip_ids}
        first = min(c.start for _, c in group)
        delta = self.by if self.by is not None else (self.to - first if self.to is not None else 0)
        if first + delta < 0:
            raise OpError(f"that would move {group[0][1].id} before the start of the timeline")
        dest_track = _destination(d, group, named, self.track)
        moved: list[tuple[Track, Clip]] = []
        for t, c in group:
            target = dest_track if dest_track is not None and c.id in named else t
            if target.locked or t.locked:
                name = (target if target.locked else t).name
                raise OpError(
                    f"track {name} is locked; unlock it first "
                    f"(`reelcut edit DIR track-flags --track {name} --unlock`)"
                )
            moved.append((target, msgspec.structs.replace(c, start=c.start + delta)))
        lead = next(c for _, c in group if c.id in named)
        where = f" to {dest_track.name}" if dest_track is not None else ""
        summary = (
            f"moved {lead.name or lead.id} ({lead.id}) from {d.tc(lead.start)} to "
            f"{d.tc(lead.start + delta)}{where}"
        )
        stays = all(target.id == t.id for (t, _), (target, _) in zip(group, moved, strict=True))
        if delta == 0 and stays and self.mode != "insert":
            # Nothing moves (an insert-move still pushes what follows): no step is recorded,
            # and the session says "no change".
            return summary
        for t, c in group:
            d.remove(t.id, c)
        if self.mode == "overwrite":
            for t, c in moved:
                clear_range(d, t, c.start, c.end)
        elif self.mode == "insert":
            at = min(c.start for _, c in moved)
            span = max(c.end for _, c in moved) - at
            for t, _ in moved:
                straddler = d.at(t.id, at)
                if straddler is not None and straddler.start < at:
                    split_pair(d, t, straddler, at)
            ripple(d, at, span)
        for t, c in moved:
            d.add(t.id, c)
        return summary


def _destination(
    d: Draft, group: list[tuple[Track, Clip]], named: set[str], ref: str | None
) -> Track | None:
    if ref is None:
        return None
    dest = d.track_by_ref(ref)
    sources = {t.id for t, c in group if c.id in named}
    kinds = {t.kind for t, c in group if c.id in named}
    if len(sources) > 1:
        raise OpError("clips moved to another track must all come from one track")
    if kinds != {dest.kind}:
        raise OpError(
            f"{dest.name} is {with_article(dest.kind)} track; {next(iter(kinds))} clips "
            f"can only move to {next(iter(kinds))} tracks"
        )
    return dest


class Nudge(Op, frozen=True, tag="nudge"):
    """Move clips (and partners) by a few frames; refused if they would hit another clip.

    before  V1 [AA  BB]   nudge B by -1   after  V1 [AA BB ]
    """

    clip_ids: tuple[str, ...]
    by: Offset

    def compile(self, d: Draft) -> str:
        try:
            Move(self.clip_ids, by=self.by, mode="free").compile(d)
        except Overlap as exc:
            # A nudge never pushes or cuts a neighbour; say what does, in words the editor's
            # keys and `reelcut edit` both offer.
            raise OpError(
                f"{exc.where}; a nudge stops at a neighbour: trim or lift {exc.other} first, "
                f"select both to nudge them together, or move the clip (`move --mode insert` "
                f"or `--mode overwrite`)"
            ) from None
        return f"nudged {', '.join(self.clip_ids)} by {self.by:+d} frames"
