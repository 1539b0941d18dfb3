"""Timeline tools: read the timeline and edit it with the engine's ops, so every result is a
valid project. Each edit proposes a new project.json in the changeset and records its op, so a
review can say what happened ("cut 2 clip(s) at 00:00:04:00") and a front end can replay it.

Positions are frames (``150``) or timecode (``"00:00:05:00"``) at the project's rate.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from engine import ops as O
from engine.model import Project
from engine.ops import Op, OpError
from engine.store import decode_project, encode_project
from engine.timebase import format_timecode, parse_position
from engine.tools.registry import Outcome, ToolContext, ToolError, tool

PROJECT = "project.json"
POSITION = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": r"^\d{1,2}:\d{2}:\d{2}[:;]\d{2}$"},
    ],
    "description": "a frame number, or timecode HH:MM:SS:FF",
}
DELTA = {
    "oneOf": [
        {"type": "integer"},
        {"type": "string", "pattern": r"^[+-]?\d{1,2}:\d{2}:\d{2}[:;]\d{2}$"},
    ],
    "description": "frames (signed), or a signed timecode",
}
CLIP_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}
CLIP_IDS = {"type": "array", "items": CLIP_ID, "minItems": 1, "maxItems": 200}
TRACK = {"type": "string", "description": "a track name such as 'V1' or an id such as 't_1'"}


async def _project(ctx: ToolContext) -> Project:
    text = await ctx.read(PROJECT)
    if text is None:
        raise ToolError("this folder has no project.json; it is not a reelcut project")
    return decode_project(text.encode("utf-8"))


def _frames(project: Project, value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return parse_position(value, project.rate)


def _delta(project: Project, value: int | str | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    sign = -1 if value.startswith("-") else 1
    return sign * parse_position(value.lstrip("+-"), project.rate)


async def _edit(ctx: ToolContext, make: Any) -> Outcome:
    project = await _project(ctx)
    op: Op = make(project)
    try:
        result = op.apply(project)
    except OpError as exc:
        raise ToolError(str(exc)) from None
    touched = sorted(result.touched)
    return Outcome(
        {"summary": result.summary, "touched": touched[:200]},
        {PROJECT: encode_project(result.project).decode("utf-8")},
        {"op": json.loads(msgspec.json.encode(op)), "summary": result.summary},
    )


def summary(project: Project) -> dict[str, Any]:
    """The timeline for a model: ids, timecodes and frames, one line per clip."""

    def tc(f: int) -> str:
        return format_timecode(f, project.rate)

    names = {a.id: a.name for a in project.assets}
    tracks = []
    for t in project.tracks:
        flags = "".join(f" {f}" for f in ("locked", "muted") if getattr(t, f))
        lines = []
        for c in t.clips:
            what = f"text {c.text.text!r}" if c.text else names.get(c.asset_id or "", "?")
            link = f" linked {c.linked_id}" if c.linked_id else ""
            lines.append(
                f"{c.id} {c.name!r} {tc(c.start)}-{tc(c.end)} (frames {c.start}+{c.duration}, "
                f"source in {c.source_in}) {what}{link}"
            )
        tracks.append({"track": f"{t.name} ({t.id}, {t.kind}{flags})", "clips": lines})
    return {
        "project": project.name,
        "rate": f"{project.rate.num}/{project.rate.den}",
        "duration": f"{tc(project.duration)} ({project.duration} frames)",
        "playhead": project.editor.playhead,
        "tracks": tracks,
        "markers": [f"{m.id} {m.name!r} at {tc(m.frame)} ({m.frame})" for m in project.markers],
    }


@tool(
    "timeline_read",
    "Read the timeline: every track and clip with ids, timecodes and frames, and the markers.",
    {},
    [],
    writes=False,
)
async def timeline_read(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return Outcome(summary(await _project(ctx)))


@tool(
    "asset_list",
    "List the media in the project (ids to use with timeline_insert / timeline_overwrite).",
    {},
    [],
    writes=False,
)
async def asset_list(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    project = await _project(ctx)
    return Outcome(
        {
            "assets": [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "name": a.name,
                    "frames": a.media.duration_frames if a.media else None,
                }
                for a in project.assets
            ]
        }
    )


_PLACE = {
    "asset_id": CLIP_ID,
    "at": POSITION,
    "track": TRACK,
    "source_in": POSITION,
    "duration": {"oneOf": [{"type": "integer", "minimum": 1}, POSITION]},
}


def _place(cls: type[O.Insert] | type[O.Overwrite], args: dict[str, Any]) -> Any:
    def make(p: Project) -> Op:
        return cls(
            asset_id=args["asset_id"],
            at=_frames(p, args["at"]) or 0,
            track=args.get("track"),
            source_in=_frames(p, args.get("source_in")) or 0,
            duration=_frames(p, args.get("duration")),
        )

    return make


@tool(
    "timeline_insert",
    "Insert media at a position and push everything after it later on every unlocked track "
    "(ripple). A video with sound brings its linked audio.",
    _PLACE,
    ["asset_id", "at"],
    writes=True,
)
async def timeline_insert(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(ctx, _place(O.Insert, args))


@tool(
    "timeline_overwrite",
    "Place media at a position over whatever is there; nothing else moves.",
    _PLACE,
    ["asset_id", "at"],
    writes=True,
)
async def timeline_overwrite(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(ctx, _place(O.Overwrite, args))


@tool(
    "timeline_blade",
    "Cut clips in two at a position: the given clips, or every clip there on unlocked tracks.",
    {"at": POSITION, "clip_ids": CLIP_IDS},
    ["at"],
    writes=True,
)
async def timeline_blade(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(
        ctx,
        lambda p: O.Blade(at=_frames(p, args["at"]) or 0, clip_ids=tuple(args.get("clip_ids", ()))),
    )


@tool(
    "timeline_move",
    "Move clips (with their linked partners) by a delta or so the first starts at a position, "
    "optionally to another track; mode 'overwrite' (default), 'insert' or 'free'.",
    {
        "clip_ids": CLIP_IDS,
        "by": DELTA,
        "to": POSITION,
        "track": TRACK,
        "mode": {"enum": ["overwrite", "insert", "free"]},
    },
    ["clip_ids"],
    writes=True,
)
async def timeline_move(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(
        ctx,
        lambda p: O.Move(
            clip_ids=tuple(args["clip_ids"]),
            by=_delta(p, args.get("by")),
            to=_frames(p, args.get("to")),
            track=args.get("track"),
            mode=args.get("mode", "overwrite"),
        ),
    )


@tool(
    "timeline_trim",
    "Move a clip's in or out edge to a position or by a delta; neighbours do not move.",
    {"clip_id": CLIP_ID, "edge": {"enum": ["in", "out"]}, "to": POSITION, "by": DELTA},
    ["clip_id", "edge"],
    writes=True,
)
async def timeline_trim(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(
        ctx,
        lambda p: O.Trim(
            clip_id=args["clip_id"],
            edge=args["edge"],
            to=_frames(p, args.get("to")),
            by=_delta(p, args.get("by")),
        ),
    )


@tool(
    "timeline_ripple_delete",
    "Remove clips (and their linked partners) and close the gap on every unlocked track.",
    {"clip_ids": CLIP_IDS},
    ["clip_ids"],
    writes=True,
)
async def timeline_ripple_delete(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(ctx, lambda p: O.RippleDelete(clip_ids=tuple(args["clip_ids"])))


@tool(
    "timeline_lift",
    "Remove clips (and their linked partners), leaving a gap.",
    {"clip_ids": CLIP_IDS},
    ["clip_ids"],
    writes=True,
)
async def timeline_lift(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    return await _edit(ctx, lambda p: O.Lift(clip_ids=tuple(args["clip_ids"])))


@tool(
    "timeline_add_text",
    "Add a text clip (a title) at a position for a duration, on a video track.",
    {
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "at": POSITION,
        "duration": {"oneOf": [{"type": "integer", "minimum": 1}, POSITION]},
        "track": TRACK,
        "size": {"type": "integer", "minimum": 1, "maximum": 1000},
        "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "name": {"type": "string", "maxLength": 200},
    },
    ["text", "at", "duration"],
    writes=True,
)
async def timeline_add_text(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    def make(p: Project) -> Op:
        return O.AddText(
            text=args["text"],
            at=_frames(p, args["at"]) or 0,
            duration=_frames(p, args["duration"]) or 1,
            track=args.get("track"),
            size=args.get("size", 64),
            color=args.get("color", "#ffffff"),
            name=args.get("name"),
        )

    return await _edit(ctx, make)
