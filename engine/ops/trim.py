"""Changing where clips start and end: trim, ripple trim, roll, slip and slide.

Each applies to a clip and, identically, to its linked partner, so pairs stay aligned.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from engine.model import Clip, Track
from engine.ops.base import Frame, Offset, Op, check_source, ripple
from engine.ops.draft import Draft, OpError

Edge = Literal["in", "out"]


def _delta(d: Draft, clip: Clip, edge: Edge, to: int | None, by: int | None) -> int:
    if (to is None) == (by is None):
        raise OpError("give either --to POSITION or --by FRAMES")
    if by is not None:
        return by
    assert to is not None
    return to - (clip.start if edge == "in" else clip.end)


def _trimmed(clip: Clip, edge: Edge, delta: int, *, keep_start: bool = False) -> Clip:
    """``clip`` with its in or out edge moved by ``delta`` frames (later is positive)."""
    if edge == "out":
        return msgspec.structs.replace(clip, duration=clip.duration + delta)
    return msgspec.structs.replace(
        clip,
        start=clip.start if keep_start else clip.start + delta,
        source_in=clip.source_in + delta,
        duration=clip.duration - delta,
    )


def _pair(d: Draft, clip_id: str) -> list[tuple[Track, Clip]]:
    t, c = d.find(clip_id)
    partner = d.partner(c)
    return [(t, c)] + ([partner] if partner is not None else [])


def _with_partners(
    d: Draft, changes: list[tuple[Track, Clip, Clip]]
) -> list[tuple[Track, Clip, Clip]]:
    """``changes`` plus the same change for every changed clip's linked partner not already in
    them: a roll or slide also moves the edges of its neighbours, and their partners must follow
    or the pairs would fall out of sync."""
    out = list(changes)
    seen = {before.id for _, before, _ in changes}
    for _, before, after in changes:
        partner = d.partner(before)
        if partner is None or partner[1].id in seen:
            continue
        pt, pc = partner
        seen.add(pc.id)
        moved = msgspec.structs.replace(
            pc,
            start=after.start,
            duration=after.duration,
            source_in=pc.source_in + after.source_in - before.source_in,
        )
        out.append((pt, pc, moved))
    return out


def _replace_all(d: Draft, changes: list[tuple[Track, Clip, Clip]]) -> None:
    changes = _with_partners(d, changes)
    for _, _, after in changes:
        check_source(d, after)
    # Shrinking first frees the room that growing needs.
    for t, before, after in sorted(changes, key=lambda x: x[2].duration - x[1].duration):
        d.replace(t.id, d.find(before.id)[1], after)


class Trim(Op, frozen=True, tag="trim"):
    """Move a clip's in or out point; neighbours do not move (a gap opens or closes).

    before  V1 [AAAA BB]   trim A out by -2   after  V1 [AA   BB]
    """

    clip_id: str
    edge: Edge
    to: Frame | None = None
    by: Offset | None = None

    def compile(self, d: Draft) -> str:
        pair = _pair(d, self.clip_id)
        delta = _delta(d, pair[0][1], self.edge, self.to, self.by)
        _replace_all(d, [(t, c, _trimmed(c, self.edge, delta)) for t, c in pair])
        return f"trimmed the {self.edge} point of {self.clip_id} by {delta:+d} frames"


class RippleTrim(Op, frozen=True, tag="ripple_trim"):
    """Trim a clip and move everything after it by the same amount, on every track.

    before  V1 [AAAABB]   ripple trim A out by -2   after  V1 [AABB  ]
    """

    clip_id: str
    edge: Edge
    to: Frame | None = None
    by: Offset | None = None

    def compile(self, d: Draft) -> str:
        pair = _pair(d, self.clip_id)
        clip = pair[0][1]
        delta = _delta(d, clip, self.edge, self.to, self.by)
        # The clip keeps its start; its length changes by ``change`` and so does everything after.
        change = delta if self.edge == "out" else -delta
        changes = [(t, c, _trimmed(c, self.edge, delta, keep_start=True)) for t, c in pair]
        for _, _, after in changes:
            check_source(d, after)
        old_end = clip.end
        if change > 0:
            ripple(d, old_end, change)
            _replace_all(d, changes)
        else:
            _replace_all(d, changes)
            ripple(d, old_end, change)
        return f"ripple-trimmed the {self.edge} point of {clip.id} by {delta:+d} frames"


class Roll(Op, frozen=True, tag="roll"):
    """Move the cut between a clip and the clip right after it; total length is unchanged.
    A linked partner with no clip right after it has its end moved the same way (into the
    gap after it, or out of it).

    before  V1 [AAAABB]   roll A|B by +1   after  V1 [AAAAAB]
            A1 [aaaa  ]                           A1 [aaaaa ]
    """

    clip_id: str
    """The clip on the left of the cut."""
    to: Frame | None = None
    by: Offset | None = None

    def compile(self, d: Draft) -> str:
        changes = []
        for i, (t, left) in enumerate(_pair(d, self.clip_id)):
            _, right = d.neighbours(t.id, left)
            delta = _delta(d, left, "out", self.to, self.by)
            if right is None or right.start != left.end:
                if i == 0:
                    raise OpError(
                        f"clip {left.id} has no clip right after it on {t.name} to roll "
                        f"against; use trim instead"
                    )
                # The linked partner ends in a gap (a still's cut over a pattern's sound):
                # its end follows the cut, as NLEs roll a linked edit.
                changes.append((t, left, _trimmed(left, "out", delta)))
                continue
            changes += [
                (t, left, _trimmed(left, "out", delta)),
                (t, right, _trimmed(right, "in", delta)),
            ]
        _replace_all(d, changes)
        return f"rolled the cut after {self.clip_id} by {changes[0][2].end - changes[0][1].end:+d}"


class Slip(Op, frozen=True, tag="slip"):
    """Show a different part of the media in the same place: the source range moves, the clip
    does not.

        before  V1 [a1a2a3]   slip by +2   after  V1 [a3a4a5]
    """

    clip_id: str
    by: Offset

    def compile(self, d: Draft) -> str:
        changes = [
            (t, c, msgspec.structs.replace(c, source_in=c.source_in + self.by))
            for t, c in _pair(d, self.clip_id)
        ]
        _replace_all(d, changes)
        return f"slipped {self.clip_id} by {self.by:+d} frames"


class Slide(Op, frozen=True, tag="slide"):
    """Move a clip between its neighbours: the one before ends later (or earlier) and the one
    after starts later (or earlier), so nothing else moves.

        before  V1 [AA|BB|CC]   slide B by +1   after  V1 [AAA|BB|C]
    """

    clip_id: str
    by: Offset

    def compile(self, d: Draft) -> str:
        if not self.by:
            raise OpError("slide by at least one frame")
        changes: list[tuple[Track, Clip, Clip]] = []
        for t, clip in _pair(d, self.clip_id):
            before, after = d.neighbours(t.id, clip)
            moved = msgspec.structs.replace(clip, start=clip.start + self.by)
            if moved.start < 0:
                raise OpError(f"clip {clip.id} would slide before the start of the timeline")
            changes.append((t, clip, moved))
            if before is not None and before.end == clip.start:
                changes.append((t, before, _trimmed(before, "out", self.by)))
            if after is not None and after.start == clip.end:
                changes.append((t, after, _trimmed(after, "in", self.by)))
        changes = _with_partners(d, changes)
        for _, _, c in changes:
            check_source(d, c)
        # Make room on the side the clip moves towards, then move it, then fill behind it.
        order = sorted(
            changes,
            key=lambda x: (
                x[2].duration - x[1].duration,
                x[2].start if self.by < 0 else -x[2].start,
            ),
        )
        for t, old, new in order:
            d.replace(t.id, d.find(old.id)[1], new)
        return f"slid {self.clip_id} by {self.by:+d} frames"
