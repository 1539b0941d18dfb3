"""The scenario as jobs: start a pass, run a line, cancel, and the record of takes and costs.

`start` (the door's ``tts.start``) reads the scenario, plans the pass (`engine.tts.plan`),
queues a ``tts`` job per line to generate and places every line's clip as one undoable edit,
all under the door's write lock, so a job cannot land before its placeholder exists. A job's
idempotency key is ``tts/<take key>``: a take asked for twice is one job; a failed, dead or
cancelled one is queued again. The handler (`handlers`) speaks the line, stores the WAV
content-addressed in ``assets/`` and hands its landing (`engine.ops.LandTake`, author ``tts``)
to the project's lander (`engine.tts.landing`: takes that finish close together land as one
undo step, off the worker's path, and their waveforms are queued); its result is the take's
record (hash, length, provider, model, scenario version, tokens and cost), so a take made once
is never paid for again, even when its placeholder was undone meanwhile or the process died
before it landed.

Each pass snapshots the scenario text it read under ``.reelcut/tts/scenarios/<sha256>.json``
(`engine.tts.versions`), and every job records that version.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import secrets
import sqlite3
import time
import wave
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from engine.errors import ReelcutError
from engine.jobs import store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.jobs.store import Job
from engine.model import MediaInfo
from engine.ops import LandTake, PlaceTakes
from engine.timebase import frames_from_seconds
from engine.tts import versions
from engine.tts.landing import Landing, lander, settled
from engine.tts.plan import Made, Plan, plan
from engine.tts.providers import TTSFailed, choose, make, speak_ahead, voices_at_once
from engine.tts.takes import (
    PROVIDERS,
    Line,
    LocalVoice,
    Scenario,
    estimate_usage,
    model_for,
    read_scenario,
)

if TYPE_CHECKING:
    from engine.workspace import Workspace

KIND = "tts"
MAX_ATTEMPTS = 3


class NeedsConfirmation(ReelcutError):
    """A paid pass estimated above the project's budget: run it again confirmed."""

    exit_code = 1


def limit() -> int:
    """How many tts jobs a runner runs at once: twice the espeak-ng processes that speak at
    once (`engine.tts.providers.voices_at_once`, one a core), so that while one job stores and
    lands its take, the next has claimed its line and speaks as soon as a voice is free (the
    queue's own work off the speaking's path; ``bench/bench_tts.py``)."""
    return 2 * voices_at_once()


def job_key(take: str) -> str:
    # A "/" in the key: the runner's clean-up reads a key without one as a derivative's file.
    return f"tts/{take}"


# -- reading the record --------------------------------------------------------------------


def tts_jobs(conn: sqlite3.Connection) -> list[Job]:
    return store.of_kind(conn, KIND)


def made_takes(root: Path, jobs: list[Job]) -> dict[str, Made]:
    """The takes finished jobs made whose file is still in ``assets/``, by take key."""
    out: dict[str, Made] = {}
    for j in jobs:
        r = j.result if j.status == "succeeded" else None
        if not isinstance(r, dict) or "hash" not in r:
            continue
        media = msgspec.convert(r["media"], MediaInfo)
        path = root / "assets" / f"{r['hash']}.{r['ext']}"
        if not path.is_file() or path.stat().st_size != media.size_bytes:
            continue
        out[r["take"]] = Made(r["hash"], r["ext"], media)
    return out


def usage_summary(jobs: list[Job], batch: str | None = None) -> dict[str, Any]:
    """Tokens and dollars of the finished takes (of one pass, ``batch``)."""
    done = [
        j.result
        for j in jobs
        if j.status == "succeeded"
        and isinstance(j.result, dict)
        and (batch is None or j.payload.get("batch") == batch)
    ]
    return {
        "takes": len(done),
        "prompt_tokens": sum(r.get("prompt_tokens", 0) for r in done),
        "audio_tokens": sum(r.get("audio_tokens", 0) for r in done),
        "cost_usd": round(sum(r.get("cost_usd") or 0.0 for r in done), 6),
    }


# -- a pass -----------------------------------------------------------------------------------


def _payload(
    line: Line, key: str, ident: dict[str, Any], sc: Scenario, provider: str, model: str, batch: str
) -> dict[str, Any]:
    return {
        "take": key,
        "line": line.id,
        "index": line.index,
        "identity": ident,
        "speaker": line.speaker,
        "speaker_name": line.speaker_name,
        "text": line.text,
        "voice": line.voice,
        "local": [line.local.voice, line.local.pitch, line.local.rate],
        "style": line.style,
        "provider": provider,
        "model": model,
        "speakers": [list(s) for s in sc.speakers],
        "scenario": sc.sha256,
        "batch": batch,
    }


def estimate(root: Path, the_plan: Plan, provider: str, model: str) -> dict[str, Any]:
    """What the lines to generate should cost (nothing locally)."""
    if provider == "local":
        return {"cost_usd": 0.0, "prompt_tokens": 0, "audio_tokens": 0, "priced": True}
    from engine.agent.pricing import Usage, cost, prices

    prompt = audio = 0
    for line, _, _ in the_plan.generate:
        p, a = estimate_usage(line.text)
        prompt, audio = prompt + p, audio + a
    dollars = cost(model, Usage(prompt=prompt, output=audio), prices(root))
    return {
        "cost_usd": None if dollars is None else round(dollars, 6),
        "prompt_tokens": prompt,
        "audio_tokens": audio,
        "priced": dollars is not None,
    }


async def start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """A TTS pass (the door's ``tts.start``): params ``provider``, ``model``, ``lines`` (ids;
    default all), ``yes`` (confirm a paid pass over budget), ``dry_run``, ``ahead`` (default
    true: a local pass whose jobs this process runs starts speaking at once; false when the
    caller will not run them now, as ``reelcut tts --no-wait``)."""
    asked = params.get("provider")
    if asked is not None and asked not in PROVIDERS:
        raise ReelcutError(f"no TTS provider {asked!r}; use one of {', '.join(PROVIDERS)}")
    sc = await asyncio.to_thread(read_scenario, ws.root)
    provider = choose(asked, sc.provider)
    model = params.get("model") or model_for(provider, sc.model)
    if provider == "local":
        model = model_for("local", None)
    only = set(params["lines"]) if params.get("lines") else None
    if only is not None:
        unknown = sorted(only - {ln.id for ln in sc.lines})
        if unknown:
            raise ReelcutError(
                f"the scenario has no line {unknown[0]!r}; its lines are "
                + ", ".join(ln.id for ln in sc.lines)
            )
    db, events = await ws.services()
    batch = secrets.token_hex(4)
    await settled(ws)  # a take on its way to the timeline is not planned to land twice
    await _release_dead_workers(db)
    async with ws.writing:
        jobs = await db.read(tts_jobs)
        made = await asyncio.to_thread(made_takes, ws.root, jobs)
        project = ws.session.project
        the_plan = plan(project, sc, provider, model, made, only)
        cost = await asyncio.to_thread(estimate, ws.root, the_plan, provider, model)
        doc: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "scenario": sc.sha256,
            "batch": batch,
            "lines": len(sc.lines),
            "generate": [ln.id for ln, _, _ in the_plan.generate],
            "land": [t.take for t in the_plan.lands],
            "estimate": cost,
            "budget_usd": sc.budget_usd,
            "jobs": [],
            "change": None,
        }
        paid = provider != "local" and the_plan.generate
        over = cost["cost_usd"] is None or cost["cost_usd"] > sc.budget_usd
        if params.get("dry_run"):
            return doc
        if paid and over and not params.get("yes"):
            said = "unknown" if cost["cost_usd"] is None else f"${cost['cost_usd']:.4f}"
            raise NeedsConfirmation(
                f"{len(the_plan.generate)} line(s) with {model} should cost {said}, over the "
                f"budget of ${sc.budget_usd:.2f} (tts.budget_usd in the scenario); confirm "
                "with --yes (the editor asks)"
            )
        if provider == "local" and params.get("ahead", True) and _runs_here(ws):
            # Free: the first lines speak while the pass is written (a paid pass is confirmed
            # first, above); their jobs take the speech over (`providers.speak_ahead`).
            speak_ahead([line for line, _, _ in the_plan.generate[: limit()]])
        await asyncio.to_thread(versions.snapshot, ws.root, sc)

        def enqueue(conn: sqlite3.Connection) -> list[Job]:
            out = []
            for line, key, ident in the_plan.generate:
                payload = _payload(line, key, ident, sc, provider, model, batch)
                job, _ = store.enqueue(
                    conn, KIND, payload, key=job_key(key), max_attempts=MAX_ATTEMPTS
                )
                out.append(job)
            return out

        queued = await db.write(enqueue) if the_plan.generate else []
        ids = {j.payload["take"]: str(j.id) for j in queued}
        placements = tuple(
            msgspec.structs.replace(p, job=ids.get(p.take)) for p in the_plan.placements
        )
        change = None
        try:
            if the_plan.changes_timeline or the_plan.lands:
                session = ws.session

                def place() -> Any:
                    with session.group():
                        ch = None
                        if the_plan.changes_timeline:
                            ch = session.apply(PlaceTakes(placements), author="tts")
                        for land in the_plan.lands:
                            ch = session.apply(land, author="tts")
                    return ch

                change = await asyncio.to_thread(place)
        except BaseException:
            await db.write(lambda c: [store.request_cancel(c, j.id) for j in queued])
            events.committed()
            raise
        events.committed()
        doc["jobs"] = [{"job": j.id, "line": j.payload["line"], "status": j.status} for j in queued]
        doc["change"] = None if change is None else change.to_json()
    return doc


def _runs_here(ws: Workspace) -> bool:
    """Whether this process's runner speaks the lines (a holder that serves tts jobs)."""
    runner = ws.runner
    return runner is not None and KIND in getattr(runner, "handlers", {})


async def _release_dead_workers(db: Any) -> None:
    """Lines a killed process was speaking go back to the queue now, not when its lease runs
    out (15 s): a pass after a crash resumes at once (`engine.jobs.runner.holder_alive`)."""
    from engine.jobs.runner import holder_alive

    running = [j for j in await db.read(tts_jobs) if j.status == "running"]
    dead = [(j.id, j.worker) for j in running if j.worker is not None and not holder_alive(j)]
    if dead:
        await db.write(lambda c: [store.expire_lease(c, i, w) for i, w in dead])


async def cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Cancel the queued and running TTS jobs (of ``lines``, or all): the door's
    ``tts.cancel``. Their placeholders stay, drawn cancelled; `start` queues them again."""
    only = set(params.get("lines") or ()) or None
    db, events = await ws.services()
    jobs = await db.read(tts_jobs)
    live = [
        j
        for j in jobs
        if j.status in ("queued", "running") and (only is None or j.payload.get("line") in only)
    ]
    runner = ws.runner
    done = []
    for j in live:
        if runner is not None and any(r.id == j.id for r in runner.running):
            await runner.cancel(j.id)
        got = await db.write(lambda c, jid=j.id: store.request_cancel(c, jid))  # type: ignore[misc]
        if got is not None:
            done.append({"job": got.id, "line": got.payload.get("line"), "status": got.status})
    events.committed()
    return {"cancelled": done}


async def status(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Every line's take on the timeline and its job's state, and the costs so far."""
    from engine.tts.plan import line_clips

    db, _ = await ws.services()
    await settled(ws)
    jobs = await db.read(tts_jobs)
    by_id = {j.id: j for j in jobs}
    project = ws.project if ws.has_session else None
    lines = []
    if project is not None:
        for line_id, (clip, asset) in line_clips(project).items():
            gen = asset.generation
            assert gen is not None
            job = by_id.get(int(gen.job_id)) if gen.job_id and gen.job_id.isdigit() else None
            lines.append(
                {
                    "line": line_id,
                    "clip": clip.id,
                    "asset": asset.id,
                    "take": gen.take,
                    "stage": effective_stage(gen.stage, job),
                    "progress": 1.0 if gen.stage == "ready" else (job.progress if job else 0.0),
                    "error": job.error if job and gen.stage != "ready" else None,
                    "job": job.id if job else None,
                    "duration": clip.duration,
                }
            )
    return {"lines": lines, "usage": usage_summary(jobs)}


def effective_stage(stage: str, job: Job | None) -> str:
    """A clip's stage: ``ready`` from the project; else from its job (queued, running,
    failed for failed or dead, cancelled), ``queued`` when the job is unknown."""
    if stage == "ready" or job is None:
        return stage
    if job.status in ("failed", "dead"):
        return "failed"
    if job.status == "succeeded":
        return "made"  # made, not on the timeline (its landing was refused or undone)
    return job.status


# -- one line ---------------------------------------------------------------------------------


def handlers(ws: Workspace) -> dict[str, Handler]:
    """The ``tts`` handler, landing takes through ``ws`` (the holder's door)."""

    async def speak(ctx: JobContext) -> dict[str, Any]:
        return await run_line(ws, ctx)

    return {KIND: speak}


def line_of(payload: dict[str, Any]) -> Line:
    voice, pitch, rate = payload["local"]
    return Line(
        index=int(payload.get("index", 0)),
        id=payload["line"],
        speaker=payload["speaker"],
        speaker_name=payload["speaker_name"],
        text=payload["text"],
        voice=payload["voice"],
        local=LocalVoice(voice, int(pitch), int(rate)),
        style=payload.get("style", ""),
    )


async def run_line(ws: Workspace, ctx: JobContext) -> dict[str, Any]:
    p = ctx.job.payload
    line = line_of(p)
    speakers = tuple(tuple(s) for s in p.get("speakers", ()))
    try:
        provider = make(p["provider"], p["model"], speakers)
    except ReelcutError as exc:
        raise JobFailed(str(exc)) from None
    t0 = time.monotonic()
    try:
        synth = await provider.synthesize(line, ctx.report)
    except TTSFailed as exc:
        raise JobFailed(str(exc)) from None
    ctx.report(0.85, "storing")
    rate = ws.project.rate if ws.has_session else None
    if rate is None:
        from engine.projectdir import ProjectDir

        rate = (await asyncio.to_thread(ProjectDir(ws.root).load)).rate
    sha, media = await asyncio.to_thread(_store_wav, ws.root, synth.wav, rate)
    cost = None
    if p["provider"] != "local":
        from engine.agent.pricing import Usage, prices
        from engine.agent.pricing import cost as price_of

        table = await asyncio.to_thread(prices, ws.root)
        cost = price_of(
            synth.model, Usage(prompt=synth.prompt_tokens, output=synth.audio_tokens), table
        )
    else:
        cost = 0.0
    result: dict[str, Any] = {
        "take": p["take"],
        "line": p["line"],
        "hash": sha,
        "ext": "wav",
        "media": msgspec.to_builtins(media),
        "seconds": media.duration_us / 1e6,
        "provider": p["provider"],
        "model": synth.model or p["model"],
        "scenario": p.get("scenario"),
        "batch": p.get("batch"),
        "prompt_tokens": synth.prompt_tokens,
        "audio_tokens": synth.audio_tokens,
        "cost_usd": cost,
        "speak_seconds": round(time.monotonic() - t0, 4),
    }
    ctx.report(0.95, "made; landing")
    # Off the worker's path: the slot speaks its next line while the take lands (in a batch).
    land = LandTake(take=p["take"], hash=sha, ext="wav", media=media)
    lander(ws).land(Landing(land, ctx.job.id, p["line"]))
    return result


def _store_wav(root: Path, wav: bytes, rate: Any) -> tuple[str, MediaInfo]:
    """The WAV content-addressed in ``assets/`` and its media info, read from the WAV header.

    Written under an importer's temp name and renamed (a killed worker's temp goes with the
    next open's sweep of ``assets/``), but not fsynced here: the lander fsyncs the takes it
    lands before project.json names them (`engine.tts.landing.sync_assets`), off the
    worker's path; a take whose file a crash lost or cut short is made again
    (`made_takes` checks the size)."""
    from engine.fsio.durable import create_temp, discard, install, write_all
    from engine.projectdir import IMPORT_TEMP_TARGET

    sha = hashlib.sha256(wav).hexdigest()
    assets = root / "assets"
    assets.mkdir(exist_ok=True)
    name = f"{sha}.wav"
    if not (assets / name).is_file():
        folder = os.open(assets, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd, tmp = create_temp(folder, IMPORT_TEMP_TARGET)
            try:
                try:
                    write_all(fd, wav)
                finally:
                    os.close(fd)
                install(folder, tmp, name)
            except BaseException:
                discard(folder, tmp)
                raise
        finally:
            os.close(folder)
    with wave.open(io.BytesIO(wav)) as w:
        frames, sr, ch = w.getnframes(), w.getframerate(), w.getnchannels()
    seconds = Fraction(frames, sr)
    media = MediaInfo(
        format="wav",
        size_bytes=len(wav),
        duration_us=int(seconds * 1_000_000),
        duration_frames=max(1, frames_from_seconds(seconds, rate)),
        audio_codec="pcm_s16le",
        audio_channels=ch,
        audio_rate=sr,
    )
    return sha, media
