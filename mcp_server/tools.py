"""The MCP server's tools: the registry's, as generated from it, and the changeset and job
tools, each with an input schema, an output schema and a handler."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from engine.errors import ReelcutError, UsageError
from mcp_server import reads

if TYPE_CHECKING:
    from mcp.server import ServerRequestContext

    from mcp_server.server import ReelcutMCP

Run = Callable[["ReelcutMCP", "ServerRequestContext", dict[str, Any]], Awaitable[dict[str, Any]]]
JOB_WAIT_LIMIT = 3600.0  # seconds jobs_wait waits at most
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

_REGISTRY_OUT = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "changeset": {"type": ["integer", "null"], "description": "where the change waits"},
        "applied": {"type": "boolean"},
        "result": {"type": "object"},
        "error": {"type": "string"},
    },
    "required": ["ok"],
}
_CHANGESET = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string"},
        "author": {"type": "string"},
        "reason": {"type": "string"},
        "error": {"type": ["string", "null"]},
    },
    "required": ["id", "status"],
}
_JOB = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "status": {"type": "string"},
        "progress": {"type": "number"},
        "message": {"type": "string"},
        "error": {"type": ["string", "null"]},
    },
    "required": ["id", "kind", "status"],
}


def registry_tools(auto_apply: bool) -> list[types.Tool]:
    """The registry's tools, their schemas and descriptions as the built-in agent has them."""
    from engine.tools import REGISTRY

    review = (
        " (Applied at once: this server auto-applies.)"
        if auto_apply
        else " (Proposed as a changeset that waits for the person's review; changes_show shows "
        "its diff.)"
    )
    return [
        types.Tool(
            name=t.name,
            description=t.description + (review if t.writes else ""),
            input_schema=t.schema,
            output_schema=_REGISTRY_OUT,
            annotations=types.ToolAnnotations(
                read_only_hint=not t.writes, destructive_hint=False, open_world_hint=False
            ),
        )
        for t in (REGISTRY[name] for name in sorted(REGISTRY))
        # A tool this server serves itself (jobs_wait, with progress notifications and
        # cancellation) takes the registry's place under the same name.
        if t.name not in EXTRA_TOOLS
    ]


@dataclass(frozen=True)
class Extra:
    spec: types.Tool
    run: Run


EXTRA_TOOLS: dict[str, Extra] = {}


def _extra(
    name: str,
    description: str,
    properties: dict[str, Any],
    required: list[str],
    output: dict[str, Any],
    *,
    read_only: bool,
) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        EXTRA_TOOLS[name] = Extra(
            types.Tool(
                name=name,
                description=description,
                input_schema={
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": False,
                },
                output_schema=output,
                annotations=types.ToolAnnotations(
                    read_only_hint=read_only, destructive_hint=False, open_world_hint=False
                ),
            ),
            run,
        )
        return run

    return register


def _id(args: dict[str, Any], key: str = "id") -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
        raise UsageError(f"{key} must be a whole number from 1 (got {value!r})")
    return value


def _force(args: dict[str, Any]) -> bool:
    value = args.get("force", False)
    if not isinstance(value, bool):
        raise UsageError(f"force must be true or false (got {value!r})")
    return value


# -- changesets ---------------------------------------------------------------------------------


@_extra(
    "changes_list",
    "List the project's changesets, newest first: id, status (pending, ready, applied, "
    "reverted, failed), author and the files each changes.",
    {},
    [],
    {
        "type": "object",
        "properties": {"changesets": {"type": "array", "items": _CHANGESET}},
        "required": ["changesets"],
    },
    read_only=True,
)
async def _changes_list(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return {"changesets": await reads.changesets(mcp.root)}


@_extra(
    "changes_show",
    "Show one changeset: its files, its unified diff (the first 64 KiB) and its tool calls.",
    {"id": ID},
    ["id"],
    _CHANGESET,
    read_only=True,
)
async def _changes_show(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return await reads.changeset(mcp.root, _id(args))


@_extra(
    "changes_apply",
    "Apply a changeset: every file is checked against the hash it was proposed over and all "
    "are written or none. force overwrites files changed since (only when the person asks).",
    {"id": ID, "force": {"type": "boolean", "default": False}},
    ["id"],
    _CHANGESET,
    read_only=False,
)
async def _changes_apply(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    done: dict[str, Any] = await mcp.call("changes.apply", {"id": _id(args), "force": _force(args)})
    return done


@_extra(
    "changes_revert",
    "Revert an applied changeset: every file goes back if it is still what the changeset "
    "made it (force overwrites later changes).",
    {"id": ID, "force": {"type": "boolean", "default": False}},
    ["id"],
    _CHANGESET,
    read_only=False,
)
async def _changes_revert(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    done: dict[str, Any] = await mcp.call(
        "changes.revert", {"id": _id(args), "force": _force(args)}
    )
    return done


@_extra(
    "changes_replay",
    "The timeline operations of a changeset, step by step, replayed from the project as it "
    "was before them: whether each still fits.",
    {"id": ID},
    ["id"],
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "steps": {"type": "array", "items": {"type": "object"}},
            "fits": {"type": "boolean"},
        },
        "required": ["id", "steps", "fits"],
    },
    read_only=True,
)
async def _changes_replay(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return await reads.replay(mcp.root, _id(args))


# -- jobs ---------------------------------------------------------------------------------------


async def _jobs(mcp: ReelcutMCP, ids: list[int] | None, every: bool) -> list[dict[str, Any]]:
    from engine.jobs import store
    from engine.state.adb import AsyncDB

    db = await AsyncDB.open(mcp.root / ".reelcut")
    try:
        if ids is not None:

            def get(conn: Any) -> list[Any]:
                return [store.get(conn, i) for i in ids]

            found = await db.read(get)
            missing = [i for i, j in zip(ids, found, strict=True) if j is None]
            if missing:
                raise ReelcutError(f"no job {missing[0]}; jobs_list with all shows them")
            jobs = [j for j in found if j is not None]
        else:
            statuses = None if every else ["queued", "running"]
            jobs = await db.read(lambda c: store.recent(c, 500, statuses))
    finally:
        await db.close()
    return [_job_json(j.to_json()) for j in jobs]


def _job_json(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "kind", "status", "progress", "message", "error", "payload", "result")
    return {k: doc.get(k) for k in keep}


@_extra(
    "jobs_list",
    "List the background jobs (proxies, thumbnails, waveforms, agent runs): queued and running "
    "ones, or with all also the finished ones.",
    {"all": {"type": "boolean", "default": False}},
    [],
    {
        "type": "object",
        "properties": {"jobs": {"type": "array", "items": _JOB}},
        "required": ["jobs"],
    },
    read_only=True,
)
async def _jobs_list(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    every = args.get("all", False)
    if not isinstance(every, bool):
        raise UsageError(f"all must be true or false (got {every!r})")
    return {"jobs": await _jobs(mcp, None, every)}


@_extra(
    "jobs_queue",
    "Queue the media derivatives (proxy, thumbnails, waveform) that are missing or stale. "
    "They run in the editor when it is open, else with `reelcut jobs DIR run`.",
    {},
    [],
    {
        "type": "object",
        "properties": {"queued": {"type": "array", "items": _JOB}},
        "required": ["queued"],
    },
    read_only=False,
)
async def _jobs_queue(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    done = await mcp.call("jobs.queue", {})
    return {"queued": [_job_json(j) for j in done["queued"]]}


@_extra(
    "jobs_cancel",
    "Cancel a job: a queued one at once, a running one at its worker's next beat.",
    {"id": ID},
    ["id"],
    _JOB,
    read_only=False,
)
async def _jobs_cancel(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    return _job_json(await mcp.call("jobs.cancel", {"id": _id(args)}))


@_extra(
    "jobs_wait",
    "Wait until the given jobs finish, with progress notifications while they run; "
    "cancelling this call cancels the jobs. Returns them as they ended.",
    {
        "ids": {"type": "array", "items": ID, "minItems": 1, "maxItems": 100},
        "timeout": {"type": "number", "minimum": 0, "maximum": JOB_WAIT_LIMIT},
    },
    ["ids"],
    {
        "type": "object",
        "properties": {
            "jobs": {"type": "array", "items": _JOB},
            "finished": {"type": "boolean"},
        },
        "required": ["jobs", "finished"],
    },
    read_only=False,
)
async def _jobs_wait(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    raw = args.get("ids")
    if not isinstance(raw, list) or not raw:
        raise UsageError("ids must be a list of job ids")
    ids = [_id({"id": v}) for v in raw]
    timeout = args.get("timeout", JOB_WAIT_LIMIT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
    ):
        raise UsageError(f"timeout must be a number of seconds (got {timeout!r})")
    finished = {"succeeded", "failed", "cancelled", "dead"}
    jobs: list[dict[str, Any]] = await _jobs(mcp, ids, True)
    try:
        with anyio.move_on_after(min(float(timeout), JOB_WAIT_LIMIT)):
            while not all(j["status"] in finished for j in jobs):
                done = sum(1.0 if j["status"] in finished else j["progress"] for j in jobs)
                running = [j for j in jobs if j["status"] not in finished]
                await ctx.session.report_progress(
                    done, float(len(jobs)), f"job {running[0]['id']}: {running[0]['message']}"
                )
                await anyio.sleep(0.25)
                jobs = await _jobs(mcp, ids, True)
    except anyio.get_cancelled_exc_class():
        # The client cancelled the call: the jobs it waited for stop too.
        with anyio.CancelScope(shield=True):
            for j in jobs:
                if j["status"] not in finished:
                    with contextlib.suppress(ReelcutError):
                        await mcp.call("jobs.cancel", {"id": j["id"]})
        raise
    return {"jobs": jobs, "finished": all(j["status"] in finished for j in jobs)}


@_extra(
    "export_start",
    "Render the timeline (or a range) to a file as a job: out is an absolute path ending in "
    ".mp4 (H.264/AAC), .mov (ProRes 422 HQ), .webm (VP9/Opus) or .wav (audio only); range is "
    "'A-B' (frames or timecodes, B exclusive) or 'marks'. Follow it with jobs_wait.",
    {
        "out": {"type": "string", "minLength": 1, "maxLength": 4096},
        "range": {"type": "string", "maxLength": 64},
        "force": {"type": "boolean", "default": False},
    },
    ["out"],
    _JOB,
    read_only=False,
)
async def _export_start(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    out = args.get("out")
    if not isinstance(out, str) or not out.startswith("/"):
        raise UsageError(f"out must be an absolute path (got {out!r})")
    span = args.get("range")
    if span is not None and not isinstance(span, str):
        raise UsageError(f"range must be text like '0-300' or 'marks' (got {span!r})")
    job = await mcp.call("export.start", {"out": out, "range": span, "force": _force(args)})
    return _job_json(job)


@_extra(
    "timeline_export",
    "Write the timeline (or a range) for another editor: out is an absolute path ending in "
    ".otio, .edl (CMX 3600: one video track), .xml (Final Cut 7 / Premiere) or .fcpxml. "
    "warnings lists, one line each, what the format could not hold (text and Remotion clips, "
    "transforms, tracks an EDL has no room for).",
    {
        "out": {"type": "string", "minLength": 1, "maxLength": 4096},
        "range": {"type": "string", "maxLength": 64},
        "force": {"type": "boolean", "default": False},
    },
    ["out"],
    {"type": "object"},
    read_only=False,
)
async def _timeline_export(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    out = args.get("out")
    if not isinstance(out, str) or not out.startswith("/"):
        raise UsageError(f"out must be an absolute path (got {out!r})")
    params = {"out": out, "range": args.get("range"), "force": _force(args)}
    done: dict[str, Any] = await mcp.call("export.interchange", params)
    return done


@_extra(
    "timeline_import",
    "Build tracks from a .otio, .edl, .xml or .fcpxml file (an absolute path) as one undoable "
    "edit, relinking its media to the project's assets by hash, then by file name. Added beside "
    "the timeline's tracks unless replace (an empty timeline is replaced). not_relinked lists "
    "the clips left as gaps.",
    {
        "file": {"type": "string", "minLength": 1, "maxLength": 4096},
        "replace": {"type": "boolean", "default": False},
    },
    ["file"],
    {"type": "object"},
    read_only=False,
)
async def _timeline_import(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    file = args.get("file")
    if not isinstance(file, str) or not file.startswith("/"):
        raise UsageError(f"file must be an absolute path (got {file!r})")
    params = {"file": file, "replace": args.get("replace") is True, "author": "mcp"}
    done: dict[str, Any] = await mcp.call("timeline.import", params)
    return done


@_extra(
    "tts_start",
    "Speak the scenario (scripts/Scenario_TTS.json): every line without a current take becomes "
    "a job and a placeholder clip on the Dialogue track that fills in when its audio lands. "
    "provider 'local' (espeak-ng, free) or 'gemini'; lines limits it to those ids; dry_run says "
    "what a pass would do and cost. A paid pass over the project's budget is refused here: the "
    "person confirms it in reelcut. Follow the jobs with jobs_wait.",
    {
        "provider": {"type": "string", "enum": ["local", "gemini"]},
        "lines": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 64},
            "maxItems": 1000,
        },
        "dry_run": {"type": "boolean", "default": False},
    },
    [],
    {"type": "object"},
    read_only=False,
)
async def _tts_start(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    provider = args.get("provider")
    if provider is not None and provider not in ("local", "gemini"):
        raise UsageError(f"provider must be local or gemini (got {provider!r})")
    lines = args.get("lines")
    if lines is not None and (
        not isinstance(lines, list) or not all(isinstance(x, str) for x in lines)
    ):
        raise UsageError("lines must be a list of line ids")
    dry = args.get("dry_run", False)
    if not isinstance(dry, bool):
        raise UsageError(f"dry_run must be true or false (got {dry!r})")
    done: dict[str, Any] = await mcp.call(
        "tts.start", {"provider": provider, "lines": lines, "dry_run": dry, "yes": False}
    )
    return done


@_extra(
    "transcribe_start",
    "Transcribe the project's sound: one job per asset (default: every asset with sound that "
    "has no transcript of its bytes), writing transcripts/<asset>.json (words with source "
    "times). provider 'local' (offline; text the project knows, such as TTS lines, is aligned "
    "exactly) or 'google' (Cloud Speech). Follow the jobs with jobs_wait, then read the words "
    "with transcript_read.",
    {
        "assets": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 256},
            "maxItems": 1000,
        },
        "provider": {"type": "string", "enum": ["local", "google"]},
        "force": {"type": "boolean", "default": False},
    },
    [],
    {"type": "object"},
    read_only=False,
)
async def _transcribe_start(mcp: ReelcutMCP, ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    assets = args.get("assets") or []
    if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
        raise UsageError("assets must be a list of asset ids or names")
    provider = args.get("provider") or "local"
    if provider not in ("local", "google"):
        raise UsageError(f"provider must be local or google (got {provider!r})")
    done: dict[str, Any] = await mcp.call(
        "transcribe.start", {"assets": assets, "provider": provider, "force": _force(args)}
    )
    return done
