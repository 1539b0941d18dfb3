"""Cutting and removing: blade, lift, ripple delete, close gap, lift and ripple delete of a
range."""

from __future__ import annotations

from engine.model import Clip, Track
from engine.ops.base import Frame, Op, clear_range, ripple, split_pair, with_partners
from engine.ops.draft import Draft, OpError


class Blade(Op, frozen=True, tag="blade"):
    """Cut clips in two at a frame: the named clips, or every clip under the frame on every
    unlocked track. Linked partners are cut too; the right halves stay linked.

        before  V1 [AAAAAA]   blade at 2   after  V1 [AA|AAAA]
    """

    at: Frame
    clip_ids: tuple[str, ...] = ()

    def compile(self, d: Draft) -> str:
        if self.clip_ids:
            targets: list[tuple[Track, Clip]] = []
            for cid in self.clip_ids:
                t, c = d.find(cid)
                if not c.start < self.at < c.end:
                    raise OpError(
                        f"clip {c.id} spans {d.tc(c.start)}-{d.tc(c.end)}, so there "
                        f"is nothing to cut at {d.tc(self.at)}; pick a frame inside it"
                    )
                targets.append((t, c))
        else:
            targets = []
            for t in d.tracks:
                under = d.at(t.id, self.at)
                if under is not None and under.start < self.at and not t.locked:
                    targets.append((t, under))
            if not targets:
                raise OpError(f"no clip to cut at {d.tc(self.at)} on an unlocked track")
        cut: list[str] = []
        for t, c in targets:
            current = d.find(c.id)[1]
            if current.start < self.at < current.end:  # a partner may have been cut already
                cut += split_pair(d, t, current, self.at)
        return f"cut {len(cut) // 2} clip(s) at {d.tc(self.at)}"


class Lift(Op, frozen=True, tag="lift"):
    """Remove clips (and their partners), leaving a gap.

    before  V1 [AABBCC]   lift B   after  V1 [AA  CC]
    """

    clip_ids: tuple[str, ...]

    def compile(self, d: Draft) -> str:
        group = with_partners(d, self.clip_ids)
        for t, c in group:
            d.remove(t.id, c)
        return f"lifted {len(group)} clip(s)"


class RippleDelete(Op, frozen=True, tag="ripple_delete"):
    """Remove clips (and partners) and close the gap they leave, on every track.

    before  V1 [AABBCC]   ripple delete B   after  V1 [AACC  ]
    """

    clip_ids: tuple[str, ...]

    def compile(self, d: Draft) -> str:
        group = with_partners(d, self.clip_ids)
        done: set[str] = set()
        # Latest first: closing a later gap never moves an earlier clip.
        for t, c in sorted(group, key=lambda tc: -tc[1].start):
            if c.id in done:
                continue
            partner = d.partner(c)
            d.remove(t.id, c)
            done.add(c.id)
            if partner is not None:
                d.remove(partner[0].id, partner[1])
                done.add(partner[1].id)
            _close(d, c.start, c.end)
        return f"ripple-deleted {len(group)} clip(s)"


def _close(d: Draft, start: int, end: int) -> None:
    """Pull everything from ``end`` back to ``start`` on every unlocked track."""
    for t in d.tracks:
        if t.locked:
            continue
        for c in d.overlapping(t.id, start, end):
            raise OpError(
                f"{c.name or c.id} ({c.id}) on {t.name} is in the way at "
                f"{d.tc(max(c.start, start))}; the gap can only close where every "
                f"unlocked track is empty (lock {t.name} to leave it alone)"
            )
    ripple(d, end, start - end)


class CloseGap(Op, frozen=True, tag="close_gap"):
    """Close the gap that contains a frame on a track, pulling later material back.

    before  V1 [AA  BB]   close gap at 3   after  V1 [AABB  ]
    """

    track: str
    at: Frame

    def compile(self, d: Draft) -> str:
        t = d.track_by_ref(self.track)
        if t.locked:
            # The ripple leaves locked tracks alone, so this gap would stay while the rest moved.
            raise OpError(
                f"track {t.name} is locked, so its gap cannot close; unlock it first "
                f"(`reelcut edit DIR track-flags --track {t.name} --unlock`)"
            )
        if d.at(t.id, self.at) is not None:
            raise OpError(f"there is a clip at {d.tc(self.at)} on {t.name}, not a gap")
        before, after = d.before(t.id, self.at), d.after(t.id, self.at)
        start = before.end if before is not None else 0
        end = after.start if after is not None else None
        if end is None:
            raise OpError(f"nothing follows {d.tc(self.at)} on {t.name}; there is no gap to close")
        _close(d, start, end)
        return f"closed a {end - start}-frame gap on {t.name} at {d.tc(start)}"


class RippleDeleteRange(Op, frozen=True, tag="ripple_delete_range"):
    """Remove ``[start, end)`` (default: the in/out marks) from every unlocked track and close
    it up.

        before  V1 [AAAABBBB]   range 2-6   after  V1 [AABB    ]
                A1 [aaaabbbb]                      A1 [aabb    ]
    """

    start: Frame | None = None
    end: Frame | None = None

    def compile(self, d: Draft) -> str:
        start = self.start if self.start is not None else d.editor.mark_in
        end = self.end if self.end is not None else d.editor.mark_out
        if start is None or end is None:
            raise OpError("give --start and --end, or set in and out marks first")
        if end <= start:
            raise OpError(
                f"the range {d.tc(start)}-{d.tc(end)} is empty; the end must come after the start"
            )
        for t in d.tracks:
            if not t.locked:
                clear_range(d, t, start, end)
        _close(d, start, end)
        return f"removed {d.tc(start)}-{d.tc(end)} from every unlocked track"


class LiftRange(Op, frozen=True, tag="lift_range"):
    """Remove ``[start, end)`` (default: the in/out marks) from every unlocked track and leave
    the gap (an NLE's "lift" of the marked range; `RippleDeleteRange` is its "extract").

        before  V1 [AAAABBBB]   range 2-6   after  V1 [AA    BB]
                A1 [aaaabbbb]                      A1 [aa    bb]
    """

    start: Frame | None = None
    end: Frame | None = None

    def compile(self, d: Draft) -> str:
        start = self.start if self.start is not None else d.editor.mark_in
        end = self.end if self.end is not None else d.editor.mark_out
        if start is None or end is None:
            raise OpError("give --start and --end, or set in and out marks first")
        if end <= start:
            raise OpError(
                f"the range {d.tc(start)}-{d.tc(end)} is empty; the end must come after the start"
            )
        for t in d.tracks:
            if not t.locked:
                clear_range(d, t, start, end)
        return f"lifted {d.tc(start)}-{d.tc(end)} from every unlocked track"
