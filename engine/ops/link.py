"""Linking a video clip with an audio clip so they move, cut and trim together."""

from __future__ import annotations

import msgspec

from engine.ops.base import Op
from engine.ops.draft import Draft, OpError


class Link(Op, frozen=True, tag="link"):
    """Link two aligned clips on tracks of different kinds.

    before  V1 [AA]  A1 [aa]   link   after  V1 [AA]=A1 [aa]
    """

    clip_id: str
    other_id: str

    def compile(self, d: Draft) -> str:
        t1, c1 = d.find(self.clip_id)
        t2, c2 = d.find(self.other_id)
        if t1.kind == t2.kind:
            raise OpError(
                f"{c1.id} and {c2.id} are both on {t1.kind} tracks; link a video "
                f"clip with an audio clip"
            )
        if (c1.start, c1.duration) != (c2.start, c2.duration):
            raise OpError(
                f"{c1.id} ({d.tc(c1.start)}-{d.tc(c1.end)}) and {c2.id} "
                f"({d.tc(c2.start)}-{d.tc(c2.end)}) are not aligned; trim them to "
                f"the same range first"
            )
        for c in (c1, c2):
            if c.linked_id is not None:
                raise OpError(f"{c.id} is already linked to {c.linked_id}; unlink it first")
        d.replace(t1.id, c1, msgspec.structs.replace(c1, linked_id=c2.id))
        d.replace(t2.id, c2, msgspec.structs.replace(c2, linked_id=c1.id))
        return f"linked {c1.id} with {c2.id}"


class Unlink(Op, frozen=True, tag="unlink"):
    """Break a clip's link so each half can be edited alone."""

    clip_id: str

    def compile(self, d: Draft) -> str:
        t, c = d.find(self.clip_id)
        partner = d.partner(c)
        if partner is None:
            raise OpError(f"{c.id} is not linked")
        d.replace(t.id, c, msgspec.structs.replace(c, linked_id=None))
        pt, pc = partner
        d.replace(pt.id, pc, msgspec.structs.replace(pc, linked_id=None))
        return f"unlinked {c.id} from {pc.id}"
