"""`reelcut transcribe DIR [ASSET...]`: the words of the project's sound, one job per asset.

Through the project's holder when one is open (the editor runs the jobs; this command follows
them), else as the holder, running the jobs itself until they end. Each asset's words land in
``transcripts/<asset-id>.json``. ``--provider local`` (the default) is pocketsphinx, offline; a
TTS take's known line, or ``--text FILE`` for one asset, is aligned rather than recognized.
``--provider google`` is Cloud Speech (``REELCUT_SPEECH_ENDPOINT`` or Google credentials).
``--cancel`` stops the queued and running transcriptions. Ctrl+C cancels the jobs this command
started. ``--json`` prints one document at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.projectdir import ProjectDir


def add_transcribe_parser(sub: Any) -> None:
    p = sub.add_parser(
        "transcribe", help="transcribe the project's sound (transcripts/<asset>.json)"
    )
    p.add_argument("dir", type=Path)
    p.add_argument(
        "assets", nargs="*", default=[], help="asset ids or names (default: every one with sound)"
    )
    p.add_argument("--provider", choices=("local", "google"), default="local")
    p.add_argument("--language", default="en-US", help="BCP-47 language (google)")
    p.add_argument("--model", help="the Cloud Speech model, e.g. latest_long (google)")
    p.add_argument("--speakers", type=int, default=0, help="label up to N speakers (google)")
    p.add_argument("--text", type=Path, help="a file with the words said (one asset): aligned")
    p.add_argument("--force", action="store_true", help="again, even where a transcript exists")
    p.add_argument("--no-wait", action="store_true", help="queue the jobs and return")
    p.add_argument("--cancel", action="store_true", help="cancel queued and running ones")
    p.add_argument("--json", action="store_true", help="print one JSON document at the end")


def cmd_transcribe(args: argparse.Namespace) -> int:
    ProjectDir(args.dir).load()  # a clear line when DIR is not a project
    root = Path(args.dir)
    if args.cancel:
        from engine.door import door

        with door(root, "reelcut transcribe --cancel") as d:
            doc = d.call("transcribe.cancel", {"assets": list(args.assets)})
        if args.json:
            _dump(doc)
        else:
            for c in doc["cancelled"]:
                print(f"{c['asset']}: job {c['job']} {c['status']}")
            if not doc["cancelled"]:
                print("no transcription is queued or running")
        return 0
    if args.speakers < 0 or args.speakers > 6:
        raise UsageError(f"--speakers {args.speakers} is out of range; give 0 to 6")
    params: dict[str, Any] = {
        "assets": list(args.assets),
        "provider": args.provider,
        "language": args.language,
        "model": args.model,
        "speakers": args.speakers,
        "force": args.force,
    }
    if args.text is not None:
        try:
            params["text"] = Path(args.text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--text {args.text}: cannot be read as UTF-8 text ({exc})") from None
    try:
        return asyncio.run(_run(root, params, args))
    except KeyboardInterrupt:
        return 130


async def _run(root: Path, params: dict[str, Any], args: argparse.Namespace) -> int:
    from engine.control import Client
    from engine.door import hold
    from engine.events import EventStream
    from engine.jobs import Runner, media
    from engine.state.adb import AsyncDB
    from engine.transcripts import jobs as transcribe

    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    shown: dict[int, float] = {}

    def show(event: Any) -> None:
        d = event.data
        if event.topic != "job" or d.get("kind") != transcribe.KIND or args.json:
            return
        now = time.monotonic()
        if event.kind == "progress" and now - shown.get(d["job"], 0) < 0.5:
            return
        shown[d["job"]] = now
        pct = f" {d['progress'] * 100:3.0f}%" if event.kind == "progress" else ""
        tail = f": {d['error']}" if d.get("error") else ""
        print(f"job {d['job']:>4} {event.kind:<10}{pct} {d.get('message') or ''}{tail}")

    unlisten = events.listen(show)
    try:
        client = await asyncio.to_thread(Client.connect, root)
        if client is not None:
            try:
                doc = await asyncio.to_thread(client.call, "transcribe.start", params)
                ids = {j["job"] for j in doc["jobs"]}
                _say_start(doc, args)
                if not args.no_wait:

                    async def cancel_remote() -> None:
                        await asyncio.to_thread(client.call, "transcribe.cancel", {})

                    await _until_done(db, events, ids, cancel_remote)
            finally:
                client.close()
        else:
            runner = Runner(db, events, root, media.handlers(), media.limits())
            async with hold(root, "reelcut transcribe", db=db, events=events, runner=runner) as ws:
                transcribe.register(ws, runner.handlers, runner.limits)
                doc = await ws.call("transcribe.start", params)
                ids = {j["job"] for j in doc["jobs"]}
                _say_start(doc, args)
                if not args.no_wait and ids:
                    await runner.start()
                    try:

                        async def cancel_here() -> None:
                            await ws.call("transcribe.cancel", {})

                        await _until_done(db, events, ids, cancel_here)
                    finally:
                        await runner.stop()
    finally:
        unlisten()
        await events.close()
    jobs = [j for j in await db.read(transcribe.transcribe_jobs) if j.id in ids]
    await db.close()
    doc["results"] = [
        {"job": j.id, "asset": j.payload.get("asset"), "status": j.status, "error": j.error}
        | (j.result if isinstance(j.result, dict) else {})
        for j in jobs
    ]
    doc["usage"] = transcribe.usage_summary(jobs)
    bad = [j for j in jobs if j.status in ("failed", "dead", "cancelled")]
    if args.json:
        _dump(doc)
    else:
        for r in doc["results"]:
            if r["status"] == "succeeded":
                how = r["method"] + (f", {r['pieces']} pieces" if r.get("pieces", 1) > 1 else "")
                print(f"{r['asset']}: {r['words']} words ({how}) in {r['path']}")
            else:
                print(f"{r['asset']}: {r['status']}{': ' + r['error'] if r['error'] else ''}")
        u = doc["usage"]
        waiting = sum(1 for j in jobs if j.status in ("queued", "running"))
        print(
            f"{u['transcripts']} transcript(s) made, {len(bad)} not, {waiting} still queued; "
            f"billed {u['billed_seconds']:.0f} s, ${u['cost_usd']:.4f}"
        )
    return 1 if bad else 0


def _say_start(doc: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        return
    for s in doc["skipped"]:
        print(f"{s['asset']}: {s['path']} is up to date (--force makes it again)")
    n = len(doc["jobs"])
    if n:
        est = doc["estimate"]
        cost = f", about ${est['cost_usd']:.4f}" if doc["provider"] == "google" else ""
        print(
            f"transcribing {n} asset(s) with {doc['provider']}: "
            f"{est['audio_seconds']:.0f} s of sound{cost}"
        )
    elif not doc["skipped"]:
        print("no asset with sound to transcribe")


async def _until_done(db: Any, events: Any, ids: set[int], cancel: Any) -> None:
    """Until none of the jobs ``ids`` is queued or running (woken by job events, else every
    second); Ctrl+C cancels them."""
    from engine.jobs import store

    if not ids:
        return
    wake = asyncio.Event()
    unlisten = events.listen(lambda e: wake.set() if e.topic == "job" else None)

    def busy(conn: Any) -> bool:
        return any(
            (j := store.get(conn, i)) is not None and j.status in ("queued", "running") for i in ids
        )

    try:
        while await db.read(busy):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            wake.clear()
    except (KeyboardInterrupt, asyncio.CancelledError):
        await cancel()
        print("\ntranscription cancelled", file=sys.stderr)
        raise
    finally:
        unlisten()


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
