"""Timeline operations as data. ``OPS`` maps each op's tag to its class; every op's docstring
shows its effect as a before/after diagram."""

from __future__ import annotations

from typing import Any

import msgspec

from engine.jsoncheck import json_path
from engine.ops.audio import SetAudio
from engine.ops.base import Batch, Op, Result
from engine.ops.captions import CaptionCue, PlaceCaptions
from engine.ops.cut import Blade, CloseGap, Lift, LiftRange, RippleDelete, RippleDeleteRange
from engine.ops.draft import OpError, Overlap
from engine.ops.generate import LandTake, PlaceTakes, SelectTake
from engine.ops.interchange import ImportTimeline
from engine.ops.link import Link, Unlink
from engine.ops.marks import AddMarker, EditMarker, RemoveMarker, SetMarks
from engine.ops.move import Move, Nudge
from engine.ops.place import AddText, EditText, Insert, Overwrite, PlaceOnTop
from engine.ops.relink import RelinkMedia
from engine.ops.tracks import AddTrack, RemoveTrack, ReorderTrack, SetTrackFlags
from engine.ops.transform import SetTransform
from engine.ops.trim import RippleTrim, Roll, Slide, Slip, Trim
from engine.timebase import MAX_FRAMES

ALL: tuple[type[Op], ...] = (
    Insert,
    Overwrite,
    PlaceOnTop,
    Move,
    Nudge,
    Blade,
    Trim,
    RippleTrim,
    Roll,
    Slip,
    Slide,
    Lift,
    RippleDelete,
    CloseGap,
    RippleDeleteRange,
    LiftRange,
    Link,
    Unlink,
    AddTrack,
    RemoveTrack,
    ReorderTrack,
    SetTrackFlags,
    AddMarker,
    RemoveMarker,
    EditMarker,
    SetMarks,
    AddText,
    EditText,
    SetAudio,
    SetTransform,
    SelectTake,
    Batch,
)
GENERATED: tuple[type[Op], ...] = (
    PlaceTakes,
    LandTake,
    PlaceCaptions,
    ImportTimeline,
    RelinkMedia,
)
"""Ops a TTS pass, the captions, import-timeline or a relink to another file make (their fields
are structs, so they have no `reelcut edit` form)."""
OPS: dict[str, type[Op]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (*ALL, *GENERATED)
}

AnyOp = (
    Insert
    | Overwrite
    | PlaceOnTop
    | Move
    | Nudge
    | Blade
    | Trim
    | RippleTrim
    | Roll
    | Slip
    | Slide
    | Lift
    | RippleDelete
    | CloseGap
    | RippleDeleteRange
    | LiftRange
    | Link
    | Unlink
    | AddTrack
    | RemoveTrack
    | ReorderTrack
    | SetTrackFlags
    | AddMarker
    | RemoveMarker
    | EditMarker
    | SetMarks
    | AddText
    | EditText
    | SetAudio
    | SetTransform
    | SelectTake
    | PlaceTakes
    | LandTake
    | PlaceCaptions
    | ImportTimeline
    | RelinkMedia
    | Batch
)


def decode_op(data: bytes | dict[str, Any]) -> Op:
    """An op from JSON (``{"op": "move", ...}``); raise OpError naming the bad field."""
    try:
        if isinstance(data, bytes):
            op: Op = msgspec.json.decode(data, type=AnyOp)
        else:
            op = msgspec.convert(data, AnyOp)
    except msgspec.ValidationError as exc:
        raise OpError(f"invalid operation: {exc}") from None
    _check_bounds(op)
    return op


def _check_bounds(op: Op) -> None:
    """Refuse a recorded batch with an integer beyond `MAX_FRAMES` anywhere in it.

    An op's own fields are bounded by their types (`engine.ops.base.Frame` and the rest), but a
    batch (the form of undo and redo, which ``--op-json`` and the door also take) carries model
    structs whose integers have no upper bound, and project.json stores 64-bit integers only: a
    marker put at frame 10**30 by a batch was saved. Walked without recursion.
    """
    if not isinstance(op, Batch):
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(msgspec.to_builtins(op), ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_FRAMES:
            raise OpError(
                f"invalid operation: {json_path(path)} {node} is beyond the longest timeline "
                f"({MAX_FRAMES} frames)"
            )


__all__ = [
    "ALL",
    "OPS",
    "AddMarker",
    "AddText",
    "AddTrack",
    "AnyOp",
    "Batch",
    "Blade",
    "CaptionCue",
    "CloseGap",
    "EditMarker",
    "EditText",
    "ImportTimeline",
    "Insert",
    "LandTake",
    "Lift",
    "LiftRange",
    "Link",
    "Move",
    "Nudge",
    "Op",
    "OpError",
    "Overlap",
    "Overwrite",
    "PlaceCaptions",
    "PlaceOnTop",
    "PlaceTakes",
    "RemoveMarker",
    "RemoveTrack",
    "ReorderTrack",
    "Result",
    "RippleDelete",
    "RippleDeleteRange",
    "RippleTrim",
    "Roll",
    "SelectTake",
    "SetAudio",
    "SetMarks",
    "SetTrackFlags",
    "SetTransform",
    "Slide",
    "Slip",
    "Trim",
    "Unlink",
    "decode_op",
]
