"""Where a visual clip sits on the canvas: its transform (position, scale, rotation, opacity).

The page and the export draw it the same way (about the canvas's centre, as CSS does); a clip
without a transform is fitted, centred and opaque, which is what the default values say, so
setting them all back stores no transform at all.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from engine.model import Transform
from engine.ops.base import Op
from engine.ops.draft import Draft, OpError

Pixels = Annotated[float, msgspec.Meta(ge=-100_000, le=100_000)]
"""An offset from the canvas's centre, in project pixels."""
Scale = Annotated[float, msgspec.Meta(gt=0, le=100)]
"""A size factor: 1 is fitted to the canvas."""
Degrees = Annotated[float, msgspec.Meta(ge=-3600, le=3600)]
Opacity = Annotated[float, msgspec.Meta(ge=0, le=1)]

_NONE = Transform()


class SetTransform(Op, frozen=True, tag="set_transform"):
    """Move, scale, rotate or fade a clip on a video track; what is left out stays.

    before  canvas [  A  ]   set-transform --x 100 --scale 0.5   after  canvas [    a ]
    """

    clip_id: str
    x: Pixels | None = None
    y: Pixels | None = None
    scale: Scale | None = None
    rotation: Degrees | None = None
    opacity: Opacity | None = None

    def compile(self, d: Draft) -> str:
        track, clip = d.find(self.clip_id)
        if track.kind != "video":
            raise OpError(
                f"clip {clip.id} is on audio track {track.name}; a transform places a picture "
                f"(name a clip on a video track)"
            )
        old = clip.transform or _NONE
        changes = {
            name: float(value) + 0.0  # no -0.0 in the file
            for name in ("x", "y", "scale", "rotation", "opacity")
            if (value := getattr(self, name)) is not None
        }
        new = msgspec.structs.replace(old, **changes)
        d.replace(
            track.id, clip, msgspec.structs.replace(clip, transform=new if new != _NONE else None)
        )
        return (
            f"placed {clip.id}: x {new.x:g}, y {new.y:g}, scale {new.scale:g}, rotation "
            f"{new.rotation:g}, opacity {new.opacity:g}"
        )
