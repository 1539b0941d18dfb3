"""Timeline tools: read the timeline and edit it with the engine's ops, so every result is a
valid project. Each edit proposes a new project.json in the changeset and records its op, so a
review can say what happened ("cut 2 clip(s) at 00:00:04:00") and a front end can replay it.

An edit tool's arguments are its op's fields (`EDITS` names the op): `op_arguments` generates
their JSON schema from the op struct, so types, bounds, required fields, enums and defaults are
the op's and a field added to an op reaches its tool. Frame numbers are bounded by their types
(`engine.ops.base.Frame`: 0 to `engine.timebase.MAX_FRAMES`), so a position such as ``1e29`` or
``10**30`` is refused by the schema, and a whole number written ``300.0`` is not an integer.
Two tables add what the structs do not say: `TIMECODE_FIELDS`, where a tool takes a field
differently on purpose (positions are frames (``150``) or timecode (``"00:00:05:00"``) at the
project's rate, converted before the op is built; the frames keep the op's bounds), and
`FIELD_NOTES`, a description for the model and the bounds a call must keep.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import msgspec

from engine.model import Project
from engine.ops import (
    AddText,
    Blade,
    Insert,
    Lift,
    Move,
    Op,
    OpError,
    Overwrite,
    RippleDelete,
    SetAudio,
    SetTransform,
    Trim,
    decode_op,
)
from engine.projectfile import decode_project, encode_project
from engine.timebase import format_timecode, parse_position
from engine.tools.registry import Handler, Outcome, ToolContext, ToolError, tool

PROJECT = "project.json"
TIMECODE = {"type": "string", "pattern": r"^\d{1,2}:\d{2}:\d{2}[:;]\d{2}$"}
SIGNED_TIMECODE = {"type": "string", "pattern": r"^[+-]?\d{1,2}:\d{2}:\d{2}[:;]\d{2}$"}
POSITION = "a frame number, or timecode HH:MM:SS:FF"

# Where a tool's argument differs from its op's field on purpose: the op holds frames, and a
# model may write a timecode instead (`_editor` converts it at the project's rate). Each field
# is the op's integer (its bounds included) or this string, with this description.
TIMECODE_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "at": (TIMECODE, POSITION),
    "to": (TIMECODE, POSITION),
    "source_in": (TIMECODE, POSITION),
    "duration": (TIMECODE, "a number of frames (at least 1), or timecode HH:MM:SS:FF"),
    "by": (SIGNED_TIMECODE, "frames (signed), or a signed timecode"),
}

# What the op structs do not say about a field, merged into the generated schema: a description
# written for the model, and bounds a model's call must keep. Only narrowing keywords here
# (a test holds this): the type, the enum and whether the field is required stay the op's.
ID = r"^[A-Za-z0-9_.-]{1,64}$"
FIELD_NOTES: dict[str, dict[str, Any]] = {
    "asset_id": {"pattern": ID, "description": "an asset id from asset_list"},
    "clip_id": {"pattern": ID, "description": "a clip id from timeline_read"},
    "clip_ids": {
        "items": {"pattern": ID},
        "minItems": 1,
        "maxItems": 200,
        "description": "clip ids from timeline_read",
    },
    "track": {
        "description": "a track name such as 'V1' or an id such as 't_1' (default: the first "
        "unlocked track of the right kind)"
    },
    "audio_track": {
        "description": "the track for a video's own audio, a name or id (default: the first "
        "unlocked audio track)"
    },
    "with_audio": {"description": "also place a video's own audio, linked to it"},
    "mode": {
        "description": "at the destination: 'overwrite' cuts away what is there, 'insert' "
        "pushes everything later on every track, 'free' refuses to touch other clips"
    },
    "edge": {"description": "the clip's in edge (its start) or out edge (its end)"},
    "text": {"minLength": 1, "maxLength": 2000, "description": "the words shown"},
    "size": {"description": "the font size in pixels"},
    "color": {"pattern": "^#[0-9a-fA-F]{6}$", "description": "the text colour, #rrggbb"},
    "gain_db": {"description": "the clip's gain in decibels (-6 is half the amplitude)"},
    "fade_in": {"description": "frames over which the sound rises from silence at the start"},
    "fade_out": {"description": "frames over which the sound falls to silence at the end"},
    "x": {"description": "pixels right of the canvas's centre"},
    "y": {"description": "pixels below the canvas's centre"},
    "scale": {"description": "size, 1 = fitted to the canvas"},
    "rotation": {"description": "degrees clockwise"},
    "opacity": {"description": "0 (invisible) to 1 (opaque)"},
    "name": {
        "maxLength": 200,
        "description": "the clip's name (default: the first 32 characters of the text)",
    },
}


def op_arguments(op: type[Op]) -> dict[str, Any]:
    """The JSON schema of a tool's arguments for ``op``: the struct's own schema
    (`msgspec.json.schema`) made self-contained, without the ``op`` tag, with `TIMECODE_FIELDS`
    in place of those fields and `FIELD_NOTES` merged into the others.

    An optional field whose default is None is left out rather than sent as null, so its schema
    is the non-null type; a default is shown where the tool's schema accepts it.
    """
    generated = msgspec.json.schema(op)
    struct = _resolve(generated, generated.get("$defs", {}))
    tag = op.__struct_config__.tag_field
    properties: dict[str, Any] = {}
    for name, field in struct["properties"].items():
        if name == tag:
            continue
        field = _without_null(field)
        if name in TIMECODE_FIELDS:
            timecode, about = TIMECODE_FIELDS[name]
            frames = {k: v for k, v in field.items() if k not in ("default", "description")}
            default = {"default": field["default"]} if "default" in field else {}
            prop = {"oneOf": [frames, timecode], "description": about, **default}
        else:
            prop = _merge(field, FIELD_NOTES.get(name, {}))
        if "default" in prop and not jsonschema.Draft202012Validator(prop).is_valid(
            prop["default"]
        ):
            # Blade's clip_ids default to () ("every clip there"), which the bounds refuse as an
            # argument: leaving the argument out is how a model asks for it.
            del prop["default"]
        properties[name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in struct.get("required", ()) if name != tag],
        "additionalProperties": False,
    }


def _resolve(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/X"}`` replaced by X itself, and no ``$defs``."""
    if isinstance(node, list):
        return [_resolve(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _resolve(v, defs, seen) for k, v in node.items() if k not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if ref is not None:
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise ValueError(f"{name} refers to itself; a tool's arguments cannot be recursive")
        out = {**_resolve(defs[name], defs, (*seen, name)), **out}
    return out


def _without_null(field: dict[str, Any]) -> dict[str, Any]:
    """``T | None = None`` as plain ``T``: leaving the argument out gives None."""
    branches = field.get("anyOf", ())
    kept = [b for b in branches if b != {"type": "null"}]
    if "default" not in field or field["default"] is not None or len(kept) != 1:
        return field
    rest = {k: v for k, v in field.items() if k not in ("anyOf", "default")}
    return {**kept[0], **rest}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra``'s keys, nested objects merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        inner = out.get(key)
        if isinstance(inner, dict) and isinstance(value, dict):
            value = _merge(inner, value)
        out[key] = value
    return out


async def _project(ctx: ToolContext) -> Project:
    text = await ctx.read(PROJECT)
    if text is None:
        raise ToolError("this folder has no project.json; it is not a reelcut project")
    return decode_project(text.encode("utf-8"))


def _frames(project: Project, value: int | str) -> int:
    return value if isinstance(value, int) else parse_position(value, project.rate)


def _delta(project: Project, value: int | str) -> int:
    if isinstance(value, int):
        return value
    sign = -1 if value.startswith("-") else 1
    return sign * parse_position(value.lstrip("+-"), project.rate)


def _editor(op: type[Op]) -> Handler:
    """The handler of the tool that applies ``op``: build it from the checked arguments
    (timecodes made frames), apply it and propose the new project.json."""

    async def edit(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
        project = await _project(ctx)
        fields = {
            name: (_delta if TIMECODE_FIELDS[name][0] is SIGNED_TIMECODE else _frames)(
                project, value
            )
            if name in TIMECODE_FIELDS
            else value
            for name, value in args.items()
        }
        try:
            # decode_op, not the constructor: it also refuses frames beyond the longest timeline.
            built = decode_op({"op": op.__struct_config__.tag, **fields})
            result = built.apply(project)
        except OpError as exc:
            raise ToolError(str(exc)) from None
        if not result.forward.steps:  # as the session does: no change, nothing proposed
            return Outcome({"summary": f"{result.summary} (no change)", "touched": []})
        touched = sorted(result.touched)
        return Outcome(
            {"summary": result.summary, "touched": touched[:200]},
            {PROJECT: encode_project(result.project).decode("utf-8")},
            {"op": json.loads(msgspec.json.encode(built)), "summary": result.summary},
        )

    return edit


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
    from engine.session import fit_view, read_view

    project = await _project(ctx)
    view = read_view(ctx.root)  # the person's playhead: the view is not in project.json
    return Outcome(summary(fit_view(project, view) if view is not None else project))


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


# Each edit tool, the op it applies, and what it does, said for a model.
EDITS: dict[str, tuple[type[Op], str]] = {
    "timeline_insert": (
        Insert,
        "Insert media at a position and push everything after it later on every unlocked track "
        "(ripple). A video with sound brings its linked audio unless with_audio is false.",
    ),
    "timeline_overwrite": (
        Overwrite,
        "Place media at a position over whatever is there; nothing else moves.",
    ),
    "timeline_blade": (
        Blade,
        "Cut clips in two at a position: the given clips, or every clip there on unlocked tracks.",
    ),
    "timeline_move": (
        Move,
        "Move clips (with their linked partners) by a delta or so the first starts at a "
        "position, optionally to another track; mode 'overwrite' (default), 'insert' or 'free'.",
    ),
    "timeline_trim": (
        Trim,
        "Move a clip's in or out edge to a position or by a delta; neighbours do not move.",
    ),
    "timeline_ripple_delete": (
        RippleDelete,
        "Remove clips (and their linked partners) and close the gap on every unlocked track.",
    ),
    "timeline_lift": (Lift, "Remove clips (and their linked partners), leaving a gap."),
    "timeline_add_text": (
        AddText,
        "Add a text clip (a title) at a position for a duration, on a video track.",
    ),
    "timeline_set_audio": (
        SetAudio,
        "Set a clip's gain (dB) and fade-in / fade-out lengths (frames); fields left out stay. "
        "A linked video clip's sound is its audio clip's. The fades must fit in the clip.",
    ),
    "timeline_set_transform": (
        SetTransform,
        "Move, scale, rotate or fade a clip on a video track (a picture or a title); fields "
        "left out stay.",
    ),
}


def _register_edits() -> None:
    for name, (op, description) in EDITS.items():
        tool(name, description, schema=op_arguments(op), writes=True)(_editor(op))


_register_edits()
