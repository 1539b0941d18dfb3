"""Transcription as jobs: one ``transcribe`` job per asset, its transcript a project file.

`start` (the door's ``transcribe.start``) picks the assets (the ones named, else every asset
with sound, a video whose sound was imported as its own audio asset counted once), checks the
provider can run (Google's credentials or endpoint, one clear line when not) and queues a job
per asset. A job's idempotency key names the asset's bytes, the provider and the known text,
so asking twice queues one job, and a transcript that exists is not made again unless
``force``. The handler (`handlers`) decodes the asset's sound with ffmpeg, hands it to the
provider (`engine.transcripts.providers`) with the words already known (a TTS take's line, or
the text given), writes ``transcripts/<asset-id>.json`` atomically under the door's write lock
and announces it on the stream. Its result records the words, the pieces, the billed time and
the cost (Cloud Speech's price per minute; pocketsphinx is free).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

from engine.errors import ReelcutError, UsageError
from engine.jobs import store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.jobs.store import Job
from engine.model import Asset, Project
from engine.transcripts.document import (
    SCHEMA_VERSION,
    Transcript,
    read_transcript,
    transcript_path,
    write_transcript,
)
from engine.transcripts.providers import (
    PROVIDERS,
    USD_PER_MINUTE,
    TranscribeFailed,
    TranscribeUnavailable,
    make,
)

if TYPE_CHECKING:
    from engine.workspace import Workspace

KIND = "transcribe"
MAX_ATTEMPTS = 3


def limit() -> int:
    """pocketsphinx takes a core per job; Cloud Speech is network-bound but paid: two."""
    return 2


def register(ws: Workspace, handlers: dict[str, Handler], limits: dict[str, int]) -> None:
    """Add the ``transcribe`` handler (writing through ``ws``) and its limit to a runner's."""
    handlers.update(make_handlers(ws))
    limits[KIND] = limit()


def transcribe_jobs(conn: sqlite3.Connection) -> list[Job]:
    return store.of_kind(conn, KIND)


def has_sound(asset: Asset) -> bool:
    m = asset.media
    return asset.hash is not None and m is not None and bool(m.audio_codec or m.audio_channels)


def pick_assets(project: Project, named: list[str]) -> list[Asset]:
    """The assets ``named`` (ids, names or imported file names), or every asset with sound
    (a video whose sound is also its own audio asset is left to that asset)."""
    if named:
        out = []
        for name in named:
            found = [a for a in project.assets if name in (a.id, a.name, a.source_name)]
            if not found:
                raise UsageError(
                    f"no asset {name!r} in the project; `reelcut info DIR` lists them (ids "
                    "like a_3, or their names)"
                )
            a = found[0]
            if not has_sound(a):
                raise UsageError(f"asset {a.id} ({a.name}) has no sound to transcribe")
            out.append(a)
        return list({a.id: a for a in out}.values())
    demuxed = {a.derived_from for a in project.assets if a.derived_from}
    return [a for a in project.assets if has_sound(a) and a.id not in demuxed]


def known_texts(jobs: list[Job]) -> dict[str, tuple[str, str | None]]:
    """What each TTS take says, by the sha256 of its audio: ``(text, speaker name)``."""
    out: dict[str, tuple[str, str | None]] = {}
    for j in jobs:
        r = j.result
        if j.status == "succeeded" and isinstance(r, dict) and r.get("hash"):
            out[str(r["hash"])] = (str(j.payload.get("text") or ""), j.payload.get("speaker_name"))
    return out


def job_key(asset: Asset, provider: str, text: str | None) -> str:
    said = hashlib.sha256((text or "").encode("utf-8")).hexdigest()[:12] if text else "-"
    return f"transcribe/{asset.id}/{asset.hash}/{provider}/{said}"


async def _project(ws: Workspace) -> Project:
    if ws.has_session:
        return ws.project
    from engine.projectdir import ProjectDir

    return await asyncio.to_thread(ProjectDir(ws.root).load)


async def start(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Queue transcriptions (the door's ``transcribe.start``): params ``assets`` (ids or names;
    default all with sound), ``provider`` (google | local, default local), ``language``,
    ``model``, ``speakers`` (diarization up to N), ``text`` (the words, known: aligned rather
    than recognized; one asset only), ``force`` (again, even when a transcript exists)."""
    provider = str(params.get("provider") or "local")
    if provider not in PROVIDERS:
        raise UsageError(f"no transcription provider {provider!r}; use {' or '.join(PROVIDERS)}")
    project = await _project(ws)
    assets = pick_assets(project, list(params.get("assets") or ()))
    given = params.get("text")
    if given is not None and len(assets) != 1:
        raise UsageError("--text gives the words of one asset; name exactly one asset")
    if provider == "google":
        try:
            await asyncio.to_thread(make, "google")  # credentials or endpoint, checked now
        except TranscribeFailed as exc:
            raise TranscribeFailed(str(exc)) from None
    db, events = await ws.services()
    from engine.tts.jobs import tts_jobs

    known = known_texts(await db.read(tts_jobs))
    force = bool(params.get("force"))
    batch = secrets.token_hex(4)
    plans: list[tuple[Asset, dict[str, Any], str, bool]] = []
    skipped: list[dict[str, Any]] = []
    for a in assets:
        text, speaker = (
            (str(given), None) if given is not None else known.get(a.hash or "", ("", None))
        )
        source = "given" if given is not None else ("tts" if text else None)
        exists = await asyncio.to_thread(_current, ws, a, text if given is None else None)
        if exists and not force and given is None:
            skipped.append({"asset": a.id, "path": transcript_path(a.id), "why": "exists"})
            continue
        payload = {
            "asset": a.id,
            "name": a.name,
            "hash": a.hash,
            "ext": a.ext,
            "provider": provider,
            "language": str(params.get("language") or "en-US"),
            "model": str(params.get("model") or ""),
            "speakers": int(params.get("speakers") or 0),
            "text": text or None,
            "text_source": source,
            "speaker": speaker,
            "batch": batch,
        }
        plans.append(
            (a, payload, job_key(a, provider, text), force or given is not None or not exists)
        )

    def enqueue(conn: sqlite3.Connection) -> list[Job]:
        return [
            store.enqueue(conn, KIND, payload, key=key, max_attempts=MAX_ATTEMPTS, again=again)[0]
            for _, payload, key, again in plans
        ]

    queued = await db.write(enqueue) if plans else []
    events.committed()
    return {
        "provider": provider,
        "batch": batch,
        "estimate": estimate(provider, [a for a, _, _, _ in plans]),
        "jobs": [
            {
                "job": j.id,
                "asset": j.payload["asset"],
                "status": j.status,
                "aligned": bool(j.payload.get("text")),
            }
            for j in queued
        ],
        "skipped": skipped,
    }


def estimate(provider: str, assets: list[Asset]) -> dict[str, float]:
    """What the jobs will cost before they run: the seconds of sound and, for Cloud Speech,
    dollars at its price per minute. Each request is billed in whole seconds (rounded up), so
    the bill recorded per job can be a second a piece more."""
    seconds = sum((a.media.duration_us if a.media else 0) for a in assets) / 1e6
    usd = seconds / 60 * USD_PER_MINUTE if provider == "google" else 0.0
    return {"audio_seconds": round(seconds, 3), "cost_usd": round(usd, 6)}


def _current(ws: Workspace, a: Asset, known: str | None) -> bool:
    """Whether ``a`` has a transcript of its bytes as they are (aligned, when its words are
    known)."""
    try:
        t = read_transcript(ws.root, a.id)
    except ReelcutError:
        return False  # unreadable: made again
    if t is None or t.asset_hash != a.hash:
        return False
    return not known or t.method == "aligned"


async def cancel(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Cancel the queued and running transcriptions (of ``assets``, or all)."""
    only = set(params.get("assets") or ()) or None
    db, events = await ws.services()
    live = [
        j
        for j in await db.read(transcribe_jobs)
        if j.status in ("queued", "running") and (only is None or j.payload.get("asset") in only)
    ]
    done = []
    for j in live:
        if ws.runner is not None and any(r.id == j.id for r in ws.runner.running):
            await ws.runner.cancel(j.id)
        got = await db.write(lambda c, jid=j.id: store.request_cancel(c, jid))  # type: ignore[misc]
        if got is not None:
            done.append({"job": got.id, "asset": got.payload.get("asset"), "status": got.status})
    events.committed()
    return {"cancelled": done}


# -- one asset ----------------------------------------------------------------------------------


def make_handlers(ws: Workspace) -> dict[str, Handler]:
    async def transcribe(ctx: JobContext) -> dict[str, Any]:
        return await run_asset(ws, ctx)

    return {KIND: transcribe}


async def run_asset(ws: Workspace, ctx: JobContext) -> dict[str, Any]:
    from engine.errors import MediaError
    from engine.transcripts.audio import RATE, decode_pcm

    p = ctx.job.payload
    path = ws.root / "assets" / f"{p['hash']}.{p['ext']}"
    if not path.is_file():
        raise JobFailed(f"asset {p['asset']} ({p['name']}): its file assets/{path.name} is missing")
    t0 = time.monotonic()
    ctx.report(0.01, "reading the sound")
    try:
        pcm = await decode_pcm(path, str(p["name"]))
        provider = make(
            str(p["provider"]),
            language=str(p.get("language") or "en-US"),
            model=str(p.get("model") or ""),
            speakers=int(p.get("speakers") or 0),
        )
    except (MediaError, TranscribeFailed) as exc:
        raise JobFailed(str(exc)) from None
    stop = threading.Event()
    try:
        heard = await provider.transcribe(pcm, p.get("text"), ctx.report, stop)
    except TranscribeFailed as exc:
        raise JobFailed(str(exc)) from None
    except TranscribeUnavailable:
        raise
    finally:
        stop.set()  # a recognizer thread still running stops at its next piece
    speaker = p.get("speaker")
    words = tuple(
        w if w.speaker is not None or not speaker else _with_speaker(w, str(speaker))
        for w in heard.words
    )
    transcript = Transcript(
        schema_version=SCHEMA_VERSION,
        asset_id=str(p["asset"]),
        asset_hash=p.get("hash"),
        provider=p["provider"],
        method=heard.method,  # type: ignore[arg-type]
        model=heard.model,
        language=str(p.get("language") or "en-US"),
        duration_ms=len(pcm) // 2 * 1000 // RATE,
        words=words,
    )
    ctx.report(0.97, "writing the transcript")
    async with ws.writing:
        rel, digest = await asyncio.to_thread(write_transcript, ws.root, transcript)
    await ws.file_saved(rel, digest)
    cost = (
        round(heard.billed_seconds / 60 * USD_PER_MINUTE, 6) if p["provider"] == "google" else 0.0
    )
    ctx.report(1.0, f"{len(words)} words in {rel}")
    return {
        "asset": p["asset"],
        "path": rel,
        "sha256": digest,
        "words": len(words),
        "method": heard.method,
        "provider": p["provider"],
        "model": heard.model,
        "pieces": heard.pieces,
        "requests": heard.requests,
        "billed_seconds": heard.billed_seconds,
        "cost_usd": cost,
        "audio_seconds": round(len(pcm) / 2 / RATE, 3),
        "seconds": round(time.monotonic() - t0, 3),
        "notes": heard.notes,
    }


def _with_speaker(w: Any, speaker: str) -> Any:
    import msgspec

    return msgspec.structs.replace(w, speaker=speaker)


def usage_summary(jobs: list[Job]) -> dict[str, Any]:
    done = [j.result for j in jobs if j.status == "succeeded" and isinstance(j.result, dict)]
    return {
        "transcripts": len(done),
        "billed_seconds": round(sum(r.get("billed_seconds", 0.0) for r in done), 3),
        "cost_usd": round(sum(r.get("cost_usd") or 0.0 for r in done), 6),
    }
