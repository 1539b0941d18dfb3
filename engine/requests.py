"""The door's requests: what `Workspace.call(method, params)` does for each method.

Each request takes JSON params and returns a JSON value (or raises a `ReelcutError`, which the
control socket sends back as the same refusal), so a command gives the same output whether the
project's holder runs it or the command opened the project itself. `NEEDS_SESSION` names the
requests that change the timeline through the session; the others work on changesets, jobs and
runs, and must work while project.json is broken.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError
from engine.projectfile import PROJECT_FILE

if TYPE_CHECKING:
    from engine.agent.store import Run
    from engine.session import Change
    from engine.workspace import Workspace

Handler = Callable[["Workspace", dict[str, Any]], Awaitable[Any]]
METHODS: dict[str, Handler] = {}
NEEDS_SESSION = frozenset(
    {
        "edit",
        "undo",
        "redo",
        "import",
        "tts.start",
        "tts.status",
        "tts.takes",
        "tts.select",
        "captions.place",
        "timeline.import",
        "relink",
    }
)
NO_JOB = "no job {id}; `reelcut jobs DIR list --all` shows them"


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


def _change_json(change: Change | None) -> dict[str, Any] | None:
    return None if change is None else change.to_json()


@method("edit")
async def _edit(ws: Workspace, params: dict[str, Any]) -> dict[str, Any] | None:
    from engine.ops import decode_op

    op = decode_op(params["op"])
    author = str(params.get("author") or "cli")
    return _change_json(await ws.change(lambda: ws.session.apply(op, author=author)))


@method("undo")
async def _undo(ws: Workspace, params: dict[str, Any]) -> dict[str, Any] | None:
    return _change_json(await ws.change(ws.session.undo))


@method("redo")
async def _redo(ws: Workspace, params: dict[str, Any]) -> dict[str, Any] | None:
    return _change_json(await ws.change(ws.session.redo))


@method("import")
async def _import(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Import files (absolute paths) and queue their derivatives; a subtitle file (.srt, .vtt)
    becomes the captions track's clips instead (`_place_captions`)."""
    from engine.jobs.media import queue_derivatives
    from engine.media.importer import import_files, separate_placement
    from engine.transcripts.captions import FORMATS

    given = [Path(f) for f in params["files"]]
    files = [f for f in given if f.suffix.lower() not in FORMATS]
    place = bool(params.get("place", True))
    session = ws.session

    def go() -> tuple[Change | None, list[Any], Any]:
        before = session.project
        project, results = import_files(session.dir, before, files, place=place)
        change = None
        if any(r.assets for r in results):
            names = ", ".join(r.source for r in results if r.assets)
            placed = ", ".join(r.source for r in results if r.clips)
            # The assets stay in the bin; the clips are one undo step (issue 19).
            with_assets, placing = separate_placement(before, project)
            label = f"placed {placed} on the timeline"
            change = session.save_import(with_assets, placing, f"imported {names}", label)
        return change, results, session.project

    async with ws.writing:
        change, results, project = await asyncio.to_thread(go)
    asset_ids = {a for r in results for a in r.assets}
    queued: list[int] = []
    if asset_ids:
        db, events = await ws.services()
        queued = [j.id for j in await queue_derivatives(db, ws.root, project, asset_ids)]
        events.committed()
    made = iter([dict(r.__dict__) for r in results])
    out: list[dict[str, Any]] = []
    said = _change_json(change)
    for f in given:
        if f in files:
            out.append(next(made))
            continue
        row: dict[str, Any] = {"source": f.name, "assets": [], "clips": [], "error": None}
        row["already_imported"] = False
        try:
            doc = await _place_captions(ws, {"from": str(f)})
        except ReelcutError as exc:
            row["error"] = str(exc)
        else:
            row |= {"clips": doc["clips"], "captions": doc["cues"]}
            said = said or doc["change"]
        out.append(row)
    return {"results": out, "jobs_queued": queued, "change": said}


@method("relink")
async def _relink(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Point asset ``asset`` at the file ``file`` (absolute path). The same bytes put a missing
    file back and change nothing else (`engine.media.status.relink`); other bytes become the
    asset's media as one undoable edit, with its derivatives queued
    (`engine.media.relink`): ``summary``, ``warnings``, ``change``, ``jobs_queued``."""
    from engine.jobs.media import queue_derivatives
    from engine.media import relink, status
    from engine.media.importer import _hash_file

    asset_id, source = str(params["asset"]), Path(str(params["file"]))
    author = str(params.get("author") or "cli")
    session = ws.session

    def go() -> tuple[str, list[str], Change | None]:
        project = session.project
        asset = project.asset(asset_id)
        if asset is not None and source.is_file() and asset.hash == _hash_file(source):
            return status.relink(ws.root, project, asset_id, source), [], None
        prepared = relink.prepare(ws.root, project, asset_id, source)
        try:
            change = session.apply(prepared.op, author=author)
        except BaseException:
            prepared.discard()
            raise
        summary = change.summary
        if prepared.warnings:
            summary += "; warning: " + "; ".join(prepared.warnings)
        return summary, prepared.warnings, change

    async with ws.writing:
        summary, warnings, change = await asyncio.to_thread(go)
    queued: list[int] = []
    if change is not None:
        db, events = await ws.services()
        ids = {asset_id} | {a.id for a in ws.project.assets if a.derived_from == asset_id}
        queued = [j.id for j in await queue_derivatives(db, ws.root, ws.project, ids)]
        events.committed()
    return {
        "summary": summary,
        "warnings": warnings,
        "change": _change_json(change),
        "jobs_queued": queued,
    }


@method("changes.apply")
async def _changes_apply(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    done = await ws.apply_changeset(int(params["id"]), force=bool(params.get("force")))
    return dataclasses.asdict(done)


@method("changes.revert")
async def _changes_revert(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    done = await ws.revert_changeset(int(params["id"]), force=bool(params.get("force")))
    return dataclasses.asdict(done)


@method("tool")
async def _tool(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    from engine.tools import REGISTRY, run_tool

    ledger = await ws.ledger()
    known = REGISTRY.get(str(params["name"]))
    # A tool that starts jobs and waits for them goes through the door itself (which takes the
    # write lock as it needs): holding the lock here would keep its jobs from landing.
    lock = contextlib.nullcontext() if known is not None and known.uses_door else ws.writing
    async with lock:
        out = await run_tool(
            ledger,
            str(params["name"]),
            params.get("arguments"),
            changeset_id=params.get("changeset"),
            apply=bool(params.get("apply")),
            author=str(params.get("author") or "cli"),
            door=ws,
        )
    if out.get("applied") and PROJECT_FILE in (out.get("audit") or {}).get("after", {}):
        with contextlib.suppress(ReelcutError):
            await ws.reload()
    cs = out.get("changeset")
    if isinstance(cs, int) and not out.get("applied") and (out.get("audit") or {}).get("after"):
        # A proposal joined the changeset: a review panel shows it again (its status may not
        # have changed, so the status events alone would not say so).
        _, events = await ws.services()
        await events.publish(
            "changeset",
            "proposed",
            {"changeset": cs, "status": "ready", "author": str(params.get("author") or "cli")},
        )
    return out


@method("chat.start")
async def _chat_start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Start an agent run that this holder's runner runs; the client follows its events."""
    return (await _start_run(ws, params)).to_json()


async def _start_run(ws: Workspace, params: dict[str, Any]) -> Run:
    from engine.agent import run as agent_run

    if ws.runner is None:
        raise ReelcutError(
            "the process holding the project runs no agent (reelcut serve does not); ask "
            "in the editor, or close it and run `reelcut chat` again"
        )
    db, events = await ws.services()
    run = await agent_run.start_run(
        db,
        events,
        ws.root,
        str(params["message"]),
        thread=params.get("thread"),
        model=params.get("model"),
        workflow=params.get("workflow"),
        thinking=params.get("thinking"),
        auto_apply=bool(params.get("auto_apply")),
        max_steps=int(params.get("max_steps") or agent_run.MAX_STEPS),
    )
    if run.job_id is not None:
        ws.runner.adopt(run.job_id)
    return run


@method("chat.attach")
async def _chat_attach(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """A run to follow; an orphaned one (no live worker) is resumed by this holder's runner."""
    from engine.agent import orphans
    from engine.agent import store as agent_store

    db, events = await ws.services()
    run_id = int(params["run"])
    run = await db.read(lambda c: agent_store.get_run(c, run_id))
    unrunnable = ws.runner is None and run.status not in agent_store.TERMINAL
    if unrunnable and await db.read(lambda c: orphans.orphaned(c, run)):
        raise ReelcutError(
            f"run {run_id} has no live worker, and the process holding the project runs no "
            "agent (reelcut serve does not); resume it in the editor, or stop the holder "
            "and attach again"
        )
    run, job_id, held_by = await db.write(lambda c: orphans.take_over(c, run_id))
    events.committed()
    if job_id is not None and ws.runner is not None:
        ws.runner.adopt(job_id)
    return {"run": run.to_json(), "resumed": job_id is not None, "held_by": held_by}


@method("chat.cancel")
async def _chat_cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    from engine.agent import orphans
    from engine.agent import store as agent_store

    db, events = await ws.services()
    run_id = int(params["run"])
    run = await db.read(lambda c: agent_store.get_run(c, run_id))
    runner = ws.runner
    if runner is not None and any(j.id == run.job_id for j in runner.running):
        await runner.cancel(run.job_id)  # ours: stops at once
        return (await orphans.wait_for_end(db, run_id, timeout=10.0)).to_json()
    return (await orphans.cancel_run(db, events, run_id)).to_json()


@method("ping")
async def _ping(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    revision = ws.revision
    return {"pid": os.getpid(), "root": str(ws.root), "revision": revision}


# -- jobs ---------------------------------------------------------------------------------------


@method("jobs.cancel")
async def _jobs_cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Ask a job to stop: a queued one ends at once, a running one at its worker's next beat."""
    from engine.jobs import store

    job_id = int(params["id"])
    db, events = await ws.services()
    job = await db.write(lambda c: store.request_cancel(c, job_id))
    if job is None:
        raise ReelcutError(NO_JOB.format(id=job_id))
    events.committed()
    return job.to_json()


@method("jobs.retry")
async def _jobs_retry(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Queue a failed, dead or cancelled job again."""
    from engine.jobs import store

    job_id = int(params["id"])
    db, events = await ws.services()
    job, queued_again = await db.write(lambda c: store.retry(c, job_id))
    if job is None:
        raise ReelcutError(NO_JOB.format(id=job_id))
    if not queued_again:
        raise ReelcutError(
            f"job {job.id} is {job.status}: only failed, dead or cancelled jobs are retried "
            "(`reelcut jobs DIR queue` rebuilds a missing derivative)"
        )
    events.committed()
    return job.to_json()


@method("jobs.wait")
async def _jobs_wait(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Wait until the jobs ``ids`` end, ``timeout`` seconds at most (bounded by
    `engine.jobs.wait.MAX_WAIT`): them, and whether all ended. A TTS take made is on the
    timeline when its job is reported ended."""
    from engine.jobs.wait import MAX_WAIT, wait_jobs
    from engine.tts.landing import settled

    ids = [int(i) for i in params["ids"]]
    db, events = await ws.services()
    timeout = params.get("timeout")
    jobs, ended = await wait_jobs(db, events, ids, MAX_WAIT if timeout is None else float(timeout))
    await settled(ws)
    return {"jobs": [j.brief() for j in jobs], "finished": ended}


@method("jobs.queue")
async def _jobs_queue(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Queue the media derivatives that are missing or stale for the project as it is."""
    from engine.jobs.media import queue_derivatives
    from engine.projectdir import ProjectDir

    project = ws.project if ws.has_session else await asyncio.to_thread(ProjectDir(ws.root).load)
    db, events = await ws.services()
    queued = await queue_derivatives(db, ws.root, project)
    if queued:
        events.committed()
    return {"queued": [j.to_json() for j in queued]}


# -- export -------------------------------------------------------------------------------------


@method("export.start")
async def _export_start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Check an export and queue it as a job that this holder's runner renders."""
    from engine.export import render
    from engine.jobs import store
    from engine.projectdir import ProjectDir
    from engine.session import read_view

    if ws.has_session:
        project = ws.project
        marks = (project.editor.mark_in, project.editor.mark_out)
    else:
        project = await asyncio.to_thread(ProjectDir(ws.root).load)
        view = read_view(ws.root)
        marks = (view.mark_in, view.mark_out) if view is not None else (None, None)
    req = render.request(
        ws.root,
        project,
        Path(str(params["out"])),
        preset=params.get("preset"),
        span=params.get("range"),
        marks=marks,
        force=bool(params.get("force")),
        captions=bool(params.get("captions", True)),
    )
    how = await asyncio.to_thread(render.options, ws.root, project, req, params)
    payload = {**req.to_json(), **how}
    # Queued for a runner: this holder's (the editor's, `reelcut export`'s), else the next one
    # that starts (`reelcut jobs DIR run`, the editor).
    db, events = await ws.services()
    job, _ = await db.write(lambda c: store.enqueue(c, render.KIND, payload, max_attempts=1))
    events.committed()
    return job.to_json()


# -- text to speech (engine.tts) ----------------------------------------------------------------


@method("tts.start")
async def _tts_start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Plan a TTS pass over the scenario, queue its lines and place their clips."""
    from engine.tts import jobs as tts

    return await tts.start(ws, params)


@method("tts.cancel")
async def _tts_cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    from engine.tts import jobs as tts

    return await tts.cancel(ws, params)


@method("tts.status")
async def _tts_status(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    from engine.tts import jobs as tts

    return await tts.status(ws, params)


@method("tts.takes")
async def _tts_takes(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Every line's takes in the pool, and which one its clip shows."""
    from engine.tts import pool

    return {"lines": pool.takes(ws.session.project)}


@method("tts.select")
async def _tts_select(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Show another take of a line on its clip (one undo step)."""
    from engine.tts import pool

    return await pool.select(ws, params)


# -- transcripts (engine.transcripts) -----------------------------------------------------------


@method("transcribe.start")
async def _transcribe_start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Queue one transcription job per asset (engine.transcripts.jobs.start)."""
    from engine.transcripts import jobs as transcribe

    return await transcribe.start(ws, params)


@method("transcribe.cancel")
async def _transcribe_cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    from engine.transcripts import jobs as transcribe

    return await transcribe.cancel(ws, params)


async def _timeline_words(ws: Workspace) -> tuple[Any, list[Any]]:
    from engine.projectdir import ProjectDir
    from engine.transcripts.document import read_transcripts
    from engine.transcripts.timeline import timeline_words

    project = ws.project if ws.has_session else await asyncio.to_thread(ProjectDir(ws.root).load)
    ids = [a.id for a in project.assets]
    found = await asyncio.to_thread(read_transcripts, ws.root, ids)
    return project, timeline_words(project, found)


@method("transcript.view")
async def _transcript_view(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The words under the timeline as the text view a person edits (and its clips)."""
    from engine.transcripts.timeline import render

    project, blocks = await _timeline_words(ws)
    return {
        "view": render(project, blocks),
        "clips": [{"clip": b.clip_id, "asset": b.asset_id, "words": len(b.words)} for b in blocks],
    }


@method("captions.write")
async def _captions_write(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The timeline's captions written to ``out`` (.srt or .vtt): the caption clips when there
    are any (``from`` "captions"), else the words' cues (``from`` "words")."""
    from engine.ops.captions import caption_clips
    from engine.transcripts import captions

    project, blocks = await _timeline_words(ws)
    out = Path(str(params["out"]))
    n = await asyncio.to_thread(
        captions.write, project, blocks, out, force=bool(params.get("force"))
    )
    placed = len(caption_clips(project.tracks))
    return {
        "out": str(out),
        "cues": n,
        "clips": placed or len(blocks),
        "from": "captions" if placed else "words",
    }


@method("captions.place")
async def _place_captions(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Set the captions track's clips in one undoable edit: from the timeline's words, or
    from the subtitle file ``from`` (.srt or .vtt)."""
    from engine.errors import UsageError
    from engine.ops.captions import PlaceCaptions, caption_clips
    from engine.transcripts import captions

    source = params.get("from")
    if source:
        cues = await asyncio.to_thread(captions.read, ws.project, Path(str(source)))
        what = f"captions from {Path(str(source)).name}"
    else:
        project, blocks = await _timeline_words(ws)
        cues = captions.frame_cues(project, blocks)
        if not cues:
            raise UsageError(
                "no clip on the timeline has a transcript to caption; `reelcut transcribe DIR` "
                "first (or import an .srt/.vtt file)"
            )
        what = "captions of the timeline's words"
    op = PlaceCaptions(tuple(cues))
    author = str(params.get("author") or "cli")
    change = await ws.change(lambda: ws.session.apply(op, author=author))
    placed = caption_clips(ws.project.tracks)
    return {
        "cues": len(cues),
        "clips": [c.id for c in placed],
        "summary": what,
        "change": _change_json(change),
    }


# -- interchange (engine.interchange) -----------------------------------------------------------


@method("export.interchange")
async def _export_interchange(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """The timeline as .otio, .edl, .xml or .fcpxml, written now (no job: it takes no time)."""
    from engine.interchange import actions

    return await actions.export_interchange(ws, params)


@method("timeline.import")
async def _timeline_import(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Tracks from a timeline file, relinked to the project's media, as one undoable edit."""
    from engine.interchange import actions

    return await actions.import_timeline(ws, params)
