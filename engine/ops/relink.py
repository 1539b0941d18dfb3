"""An asset's media swapped for another file: relink to a different file, as NLEs do.

The asset keeps its id, its name and its clips (with their source ranges); its bytes, its
extension, its media description and the name of the file it came from become the new
file's. The old bytes stay in ``assets/`` (content-addressed, never modified), so undo puts
the old file back in place at once.
"""

from __future__ import annotations

from engine.model import Asset
from engine.ops.base import Op
from engine.ops.draft import Draft, OpError


class RelinkMedia(Op, frozen=True, tag="relink_media"):
    """Give each asset in ``assets`` (matched by id) its new file: a video and the sound
    demuxed from it relink together. Refused when a new file is of another kind, or shorter
    than the source frames the timeline's clips play from the asset.

    Before:  V1 [c_1 pattern.mp4 src 0-90]     a_3 -> assets/<sha of pattern.mp4>.mp4
    After:   V1 [c_1 pattern.mp4 src 0-90]     a_3 -> assets/<sha of longer-take.mp4>.mp4
    """

    assets: tuple[Asset, ...]

    def compile(self, d: Draft) -> str:
        if not self.assets:
            raise OpError("relink: no asset given")
        names = []
        for new in self.assets:
            old = d.current_asset(new.id)
            if old is None:
                raise OpError(f"asset {new.id!r} does not exist; the media bin lists them")
            check_stands_in(d, old, new)
            d.set_asset(old, new)
            names.append(old.name)
        return f"relinked {', '.join(names)} to {self.assets[0].source_name or 'a new file'}"


def used_frames(d: Draft, asset_id: str) -> int:
    """How far into its media the timeline's clips play asset ``asset_id`` (0 when unused)."""
    return max(
        (
            c.source_in + c.duration
            for t in d.tracks
            for c in d.clips(t.id)
            if c.asset_id == asset_id
        ),
        default=0,
    )


def check_stands_in(d: Draft, old: Asset, new: Asset) -> None:
    """Refuse ``new`` as ``old``'s media when it is of another kind, has no bytes, or is shorter
    than what the clips use."""
    if new.kind != old.kind:
        raise OpError(f"relink: {old.name} is {old.kind} and the new file is {new.kind}")
    if new.hash is None or new.ext is None or new.media is None:
        raise OpError(f"relink: the new file of {old.name} has no stored bytes")
    if new.kind not in ("video", "audio"):
        return
    need, have = used_frames(d, old.id), new.media.duration_frames
    if need > have:
        raise OpError(
            f"relink: {new.source_name or 'the new file'} is {d.tc(have)} long, but the "
            f"timeline plays {old.name} up to {d.tc(need)}; pick a file at least that long"
        )
