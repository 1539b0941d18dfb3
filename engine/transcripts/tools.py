"""Agent tools for transcripts: read the timeline's words, and cut words from the timeline.

``transcript_read`` shows the words under the timeline, clip by clip, with each word's index
(what ``transcript_cut`` takes) and timecode. ``transcript_cut`` removes words, given by clip
and index, or as the text view edited (the words left out are cut), or every pause longer
than a threshold and every filler word (um, uh...): it proposes project.json cut through the
engine's ops (`engine.transcripts.timeline.cut_ops`), recording the primitives so a review
replays them, as the other timeline tools do. Both read through the changeset's overlay, so a
cut composes with the agent's other edits.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec

from engine.errors import UsageError
from engine.model import Project
from engine.ops import Batch, OpError
from engine.ops.captions import PlaceCaptions, caption_clips
from engine.projectfile import decode_project, encode_project
from engine.timebase import format_timecode
from engine.tools.registry import Outcome, ToolContext, ToolError, tool
from engine.transcripts.captions import frame_cues, parse
from engine.transcripts.document import (
    Transcript,
    TranscriptInvalid,
    decode_transcript,
    transcript_path,
)
from engine.transcripts.timeline import (
    FILLERS,
    ClipWords,
    TimelineWord,
    TranscriptEditRefused,
    cut_ops,
    deleted,
    ranges,
    render,
    timeline_words,
)

PROJECT = "project.json"


async def read_blocks(ctx: ToolContext) -> tuple[Project, list[ClipWords]]:
    """The project and the words under its timeline, as this changeset sees them."""
    project, transcripts = await read_transcripts(ctx)
    return project, timeline_words(project, transcripts)


async def read_transcripts(ctx: ToolContext) -> tuple[Project, dict[str, Transcript]]:
    """The project and its assets' transcripts, as this changeset sees them."""
    text = await ctx.read(PROJECT)
    if text is None:
        raise ToolError("this folder has no project.json; it is not a reelcut project")
    project = decode_project(text.encode("utf-8"))
    transcripts: dict[str, Transcript] = {}
    for a in project.assets:
        rel = transcript_path(a.id)
        try:
            body = await ctx.read(rel)
        except Exception:
            continue
        if body is None:
            continue
        try:
            transcripts[a.id] = decode_transcript(body, rel)
        except TranscriptInvalid as exc:
            raise ToolError(str(exc)) from None
    return project, transcripts


@tool(
    "transcript_read",
    "Read the words under the timeline, clip by clip in timeline order: each word's index (for "
    "transcript_cut), text, timecode and speaker, and the text view a person edits. Assets are "
    "transcribed by `reelcut transcribe` (transcripts/<asset-id>.json).",
    {},
    [],
    writes=False,
)
async def transcript_read(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    project, blocks = await read_blocks(ctx)

    def tc(f: int) -> str:
        return format_timecode(f, project.rate)

    return Outcome(
        {
            "clips": [
                {
                    "clip": b.clip_id,
                    "asset": b.asset_id,
                    "span": f"{tc(b.start)}-{tc(b.end)}",
                    "words": [
                        f"{w.index} {w.text!r} {tc(w.start)}"
                        + (f" ({w.speaker})" if w.speaker else "")
                        for w in b.words
                    ],
                }
                for b in blocks
            ],
            "view": render(project, blocks),
        }
    )


@tool(
    "transcript_cut",
    "Cut words from the timeline (ripple: later material closes up; linked partners are cut "
    "too). Give `words` (clip id and word index from transcript_read), or `view` (the text "
    "view from transcript_read with words deleted), and/or `fillers` (cut um, uh, er...) and "
    "`pauses_over_ms` (shorten every pause between words longer than this to that length). "
    "Caption clips, when there are any, are made again from the words left.",
    {
        "words": {
            "type": "array",
            "maxItems": 5000,
            "items": {
                "type": "object",
                "properties": {
                    "clip": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"},
                    "index": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                },
                "required": ["clip", "index"],
                "additionalProperties": False,
            },
        },
        "view": {"type": "string", "maxLength": 4_000_000},
        "fillers": {"type": "boolean"},
        "pauses_over_ms": {"type": "integer", "minimum": 100, "maximum": 600_000},
    },
    [],
    writes=True,
)
async def transcript_cut(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    project, transcripts = await read_transcripts(ctx)
    blocks = timeline_words(project, transcripts)
    if not blocks:
        raise ToolError(
            "no clip on the timeline has a transcript; run `reelcut transcribe DIR` first"
        )
    by_key = {(w.clip_id, w.index): w for b in blocks for w in b.words}
    gone: dict[tuple[str, int], TimelineWord] = {}
    for ref in args.get("words") or ():
        key = (ref["clip"], ref["index"])
        if key not in by_key:
            raise ToolError(
                f"clip {ref['clip']} has no word {ref['index']} on the timeline; "
                "transcript_read lists them"
            )
        gone[key] = by_key[key]
    if "view" in args:
        try:
            for w in deleted(blocks, args["view"]):
                gone[(w.clip_id, w.index)] = w
        except TranscriptEditRefused as exc:
            raise ToolError(f"view:{exc}") from None
    if args.get("fillers"):
        for w in by_key.values():
            if w.text.lower().strip(".,?!;:") in FILLERS:
                gone[(w.clip_id, w.index)] = w
    cuts = ranges(list(gone.values()), blocks)
    if args.get("pauses_over_ms"):
        cuts += pauses(project, blocks, int(args["pauses_over_ms"]), set(gone))
    if not cuts:
        return Outcome({"summary": "nothing to cut (no change)", "cut": []})
    try:
        after, batch, summary = cut_ops(project, _disjoint(cuts))
        if caption_clips(project.tracks):  # the captions follow the words that remain
            cues = frame_cues(after, timeline_words(after, transcripts))
            placed = PlaceCaptions(tuple(cues)).apply(after)
            after, batch = placed.project, Batch((*batch.steps, *placed.forward.steps))
            summary += f"; {len(cues)} caption(s) made again from the words left"
    except OpError as exc:
        raise ToolError(str(exc)) from None
    said = [w.text for w in sorted(gone.values(), key=lambda w: w.start)]
    return Outcome(
        {"summary": summary, "words": said[:200], "cut": [list(c) for c in cuts][:200]},
        {PROJECT: encode_project(after).decode("utf-8")},
        {
            "op": json.loads(msgspec.json.encode(batch)),
            "summary": f"{summary}: {' '.join(said)[:300]}",
        },
    )


@tool(
    "captions_place",
    "Put captions on the timeline as text clips on the Captions video track (made on top when "
    "missing), replacing the caption clips there: the timeline's words grouped into cues (at "
    "most 42 characters and 6 s, broken at sentence ends and pauses), or the cues of `srt` "
    "(SubRip text; WebVTT when it starts with WEBVTT). Each caption is then a text clip that "
    "timeline tools can edit; `reelcut captions DIR OUT.srt` writes them out.",
    {"srt": {"type": "string", "maxLength": 4_000_000}},
    [],
    writes=True,
)
async def captions_place(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    project, transcripts = await read_transcripts(ctx)
    try:
        if "srt" in args:
            text = str(args["srt"])
            fmt = "vtt" if text.lstrip("\ufeff").startswith("WEBVTT") else "srt"
            cues = parse(project, text, fmt, "srt")
        else:
            cues = frame_cues(project, timeline_words(project, transcripts))
            if not cues:
                raise ToolError(
                    "no clip on the timeline has a transcript to caption; run `reelcut "
                    "transcribe DIR` first, or give `srt`"
                )
        result = PlaceCaptions(tuple(cues)).apply(project)
    except (OpError, UsageError) as exc:
        raise ToolError(str(exc)) from None
    return Outcome(
        {"summary": result.summary, "captions": [c.text for c in cues][:200]},
        {PROJECT: encode_project(result.project).decode("utf-8")},
        {"op": json.loads(msgspec.json.encode(result.forward)), "summary": result.summary},
    )


def pauses(
    project: Project, blocks: list[ClipWords], over_ms: int, gone: set[tuple[str, int]]
) -> list[tuple[str, int, int]]:
    """The middle of every pause between two kept words of a clip (the words in ``gone`` are
    cut: they are part of the pause) longer than ``over_ms``, leaving ``over_ms`` of it, half
    before and half after."""
    keep = max(1, round(over_ms / 1000 * project.rate.num / project.rate.den))
    out = []
    for b in blocks:
        kept = [w for w in b.words if (w.clip_id, w.index) not in gone]
        for w1, w2 in itertools.pairwise(kept):
            gap = w2.start - w1.end
            if gap > keep:
                out.append((b.clip_id, w1.end + keep // 2, w2.start - (keep - keep // 2)))
    return out


def _disjoint(cuts: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Cuts of one clip merged where they touch or overlap."""
    out: list[tuple[str, int, int]] = []
    for c in sorted(cuts, key=lambda c: (c[0], c[1])):
        if out and out[-1][0] == c[0] and c[1] <= out[-1][2]:
            out[-1] = (c[0], out[-1][1], max(out[-1][2], c[2]))
        else:
            out.append(c)
    return out
