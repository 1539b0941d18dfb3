"""The tools that start background work and wait for it: speech, transcription, export.

They change no file themselves, so they propose no changeset: each asks the project's door
(`ToolContext.door`) for what the command line would do (``tts.start``, ``transcribe.start``,
``export.start``, ``jobs.wait``), and the jobs run on the holder's queue, their progress on
the event stream (the editor's chat panel follows the jobs a run started). A paid TTS pass
over the scenario's budget is refused with the estimate, never confirmed by the model: the
person runs it (`reelcut tts DIR --yes`, or the editor's prompt). An export writes only inside
the project's ``exports/`` folder, named by a path relative to the project (no ``..``, no
link on the way), never outside it.
"""

from __future__ import annotations

import os
from typing import Any

from engine import sandbox
from engine.errors import ReelcutError
from engine.jobs.wait import MAX_JOBS, MAX_WAIT
from engine.tools.registry import Door, Outcome, ToolContext, ToolError, tool

EXPORTS = "exports"
LINE_IDS = {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 500}


def _door(ctx: ToolContext, name: str) -> Door:
    if ctx.door is None:
        raise ToolError(
            f"{name} starts background jobs and needs the project's door: run it from the "
            f"editor's agent or `reelcut tool DIR {name} ...` (a headless `reelcut chat` has "
            "no runner for them)"
        )
    return ctx.door


@tool(
    "tts_generate",
    "Queue speech for the scenario's lines (scripts/Scenario_TTS.json) that have no current "
    "take: each becomes a placeholder clip on the Dialogue track at once and a job that makes "
    "its audio. Give `lines` (line ids) to limit it; `provider` local (espeak-ng, free) or "
    "gemini (paid; refused over the scenario's budget until the person confirms). Returns the "
    "job ids: wait for them with jobs_wait.",
    {
        "lines": LINE_IDS,
        "provider": {"type": "string", "enum": ["local", "gemini"]},
    },
    writes=False,
    uses_door=True,
)
async def tts_generate(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    door = _door(ctx, "tts_generate")
    params: dict[str, Any] = {"provider": args.get("provider")}
    if args.get("lines"):
        params["lines"] = list(args["lines"])
    doc = await door.call("tts.start", params)  # never confirmed here: the person confirms
    return Outcome(
        {
            "jobs": [{"job": j["job"], "line": j["line"]} for j in doc["jobs"]],
            "generating": doc["generate"],
            "landed_from_earlier_takes": len(doc["land"]),
            "provider": doc["provider"],
            "model": doc["model"],
            "estimate_usd": doc["estimate"]["cost_usd"],
        },
        meta={"started": [j["job"] for j in doc["jobs"]]},
    )


@tool(
    "jobs_wait",
    f"Wait until the given jobs end, at most `timeout` seconds (default and limit "
    f"{MAX_WAIT:.0f}); returns each job's status, progress and error, and `finished` (false: "
    "some still run; call again to wait more). A TTS job reported ended has its clip on the "
    "timeline.",
    {
        "ids": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "minItems": 1,
            "maxItems": MAX_JOBS,
        },
        "timeout": {"type": "integer", "minimum": 0, "maximum": int(MAX_WAIT)},
    },
    ["ids"],
    writes=False,
    uses_door=True,
)
async def jobs_wait(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    door = _door(ctx, "jobs_wait")
    got = await door.call("jobs.wait", {"ids": args["ids"], "timeout": args.get("timeout")})
    return Outcome(got)


@tool(
    "transcribe",
    "Queue transcription (words with their times) for assets with sound: `assets` (ids or "
    "names; default every one with sound and no transcript yet), `provider` local "
    "(pocketsphinx, offline) or google. Returns the job ids: wait with jobs_wait, then read "
    "the words with transcript_read.",
    {
        "assets": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 100},
        "provider": {"type": "string", "enum": ["local", "google"]},
        "force": {"type": "boolean", "description": "again, even where a transcript exists"},
    },
    writes=False,
    uses_door=True,
)
async def transcribe(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    door = _door(ctx, "transcribe")
    params: dict[str, Any] = {k: args[k] for k in ("assets", "provider", "force") if k in args}
    doc = await door.call("transcribe.start", params)
    return Outcome(
        {k: doc[k] for k in ("jobs", "skipped") if k in doc},
        meta={"started": [j["job"] for j in doc.get("jobs", [])]},
    )


@tool(
    "export",
    "Start rendering the timeline to a file inside the project's exports/ folder (path "
    "relative to the project, such as exports/cut.mp4; the extension picks the preset: .mp4, "
    ".mov, .webm, .wav, ...). `range` as A-B in frames or timecode, or in-out for the marks; "
    "`force` replaces an existing file once the export is whole. Returns the export's job id: "
    "wait with jobs_wait.",
    {
        "path": {"type": "string", "maxLength": 500},
        "preset": {"type": "string", "maxLength": 50},
        "range": {"type": "string", "maxLength": 50},
        "force": {"type": "boolean"},
    },
    ["path"],
    writes=False,
    uses_door=True,
)
async def export(ctx: ToolContext, args: dict[str, Any]) -> Outcome:
    door = _door(ctx, "export")
    rel = export_path(ctx, str(args["path"]))
    params: dict[str, Any] = {
        "out": str(ctx.root / rel),
        **{k: args[k] for k in ("preset", "range", "force") if k in args},
    }
    job = await door.call("export.start", params)
    return Outcome(
        {"job": job["id"], "path": rel, "status": job["status"]}, meta={"started": [job["id"]]}
    )


def export_path(ctx: ToolContext, path: str) -> str:
    """``path`` as a checked file name inside ``exports/`` (made when missing), or ToolError."""
    try:
        rel = sandbox.normalize(ctx.root, path)
    except ReelcutError as exc:
        raise ToolError(str(exc)) from None
    parts = rel.split("/")
    if parts[0] != EXPORTS or len(parts) < 2:
        raise ToolError(
            f"export only into the project's {EXPORTS}/ folder: give a path such as "
            f"{EXPORTS}/cut.mp4 (got {path!r})"
        )
    try:
        if not sandbox.exists(ctx.root, EXPORTS):
            os.mkdir(ctx.root / EXPORTS)
        folder = "/".join(parts[:-1])
        if not sandbox.exists(ctx.root, folder):
            raise ToolError(f"{folder}/ does not exist; export into {EXPORTS}/ or a folder in it")
        sandbox.exists(ctx.root, rel)  # refuses a link in the file's place
    except ToolError:
        raise
    except ReelcutError as exc:
        raise ToolError(str(exc)) from None
    return rel
