"""`reelcut export DIR OUT`: render the timeline to a file, as a job with progress and ETA.

The export goes through the project's door: the editor renders it when it has the project
open (its job list shows it), else this command holds the project and renders it here. Either
way this command follows the job to its end; Ctrl+C cancels it (no file is left under OUT's
name). ``--json`` prints one document at the end.
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

from engine.export.presets import PRESETS
from engine.projectdir import ProjectDir


def add_export_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export", help="render the timeline to a video or audio file, or write it for other editors"
    )
    p.add_argument("dir", type=Path)
    p.add_argument(
        "out",
        type=Path,
        help="the file to write: .mp4, .mov, .webm or .wav (rendered); .otio, .edl (CMX 3600), "
        ".xml (Final Cut 7 / Premiere) or .fcpxml (the timeline, for other editors)",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="; ".join(f"{p.name}: {p.description}" for p in PRESETS.values())
        + " (rendered media only)",
    )
    p.add_argument(
        "--range",
        metavar="A-B|marks",
        help="frames or timecodes A-B (B exclusive), or 'marks' for the in/out marks",
    )
    p.add_argument(
        "--no-captions",
        dest="captions",
        action="store_false",
        help="leave the Captions track out of the picture (it is burned in by default)",
    )
    p.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        help="render in N frame ranges side by side (jobs on the queue), joined without a seam",
    )
    p.add_argument(
        "--lossless",
        action="store_true",
        help="copy the source's video stream (one track, cuts on keyframes); refused with the "
        "reason when the timeline does not allow it",
    )
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON document at the end")


def cmd_export(args: argparse.Namespace) -> int:
    from tui.interchange_cli import export_timeline, is_interchange

    if is_interchange(Path(args.out)):
        return export_timeline(args)
    ProjectDir(args.dir).load()  # a clear line when DIR is not a project
    params = {
        "out": str(Path(args.out).absolute()),
        "preset": args.preset,
        "range": args.range,
        "force": args.force,
        "chunks": args.chunks,
        "lossless": args.lossless,
        "captions": args.captions,
    }
    try:
        return asyncio.run(_export(Path(args.dir), params, args.json))
    except KeyboardInterrupt:
        return 130


async def _export(root: Path, params: dict[str, Any], as_json: bool) -> int:
    from engine.control import Client
    from engine.door import hold
    from engine.events import EventStream
    from engine.export import render
    from engine.jobs import Runner
    from engine.state.adb import AsyncDB

    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    wake = asyncio.Event()
    unlisten = events.listen(lambda e: wake.set() if e.topic == "job" else None)
    try:
        client = await asyncio.to_thread(Client.connect, root)
        if client is not None:  # the editor renders it; follow its job from here
            try:
                job = await asyncio.to_thread(client.call, "export.start", params)

                async def cancel() -> None:
                    await asyncio.to_thread(client.call, "jobs.cancel", {"id": job["id"]})

                return await _follow(db, wake, job, cancel, as_json)
            finally:
                client.close()
        runner = Runner(db, events, root, render.handlers(db, events), render.limits())
        async with hold(root, "reelcut export", db=db, events=events, runner=runner) as ws:
            job = await ws.call("export.start", params)
            await runner.start()
            try:

                async def stop() -> None:
                    await runner.cancel(job["id"])
                    # Until it has ended: a chunked export cancels its chunk jobs as it ends,
                    # and stopping the runner first would put them back in the queue.
                    await _ended(db, int(job["id"]))

                return await _follow(db, wake, job, stop, as_json)
            finally:
                await runner.stop()
    finally:
        unlisten()
        await events.close()
        await db.close()


async def _follow(
    db: Any, wake: asyncio.Event, job: dict[str, Any], cancel: Any, as_json: bool
) -> int:
    """Progress with an ETA on stderr until the job ends; the outcome on stdout."""
    from engine.jobs import store

    job_id = int(job["id"])
    started = time.monotonic()
    shown = 0.0
    tty = sys.stderr.isatty()
    try:
        while True:
            current = await db.read(lambda c: store.get(c, job_id))
            if current.status in store.FINISHED:
                break
            now = time.monotonic()
            if current.status == "running" and now - shown >= (0.2 if tty else 2.0):
                shown = now
                _progress(current.progress, now - started, tty)
            with contextlib.suppress(TimeoutError):  # a job event, or look again in a second
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            wake.clear()
    except (KeyboardInterrupt, asyncio.CancelledError):
        await cancel()
        print(
            f"\nexport cancelled; nothing was written to {job['payload']['out']}", file=sys.stderr
        )
        return 130
    if tty:
        print(file=sys.stderr)
    seconds = time.monotonic() - started
    out = job["payload"]["out"]
    if as_json:
        print(json.dumps({"job": current.to_json(), "out": out, "seconds": round(seconds, 3)}))
    elif current.status == "succeeded":
        frames = job["payload"]["last"] - job["payload"]["first"]
        print(f"exported {frames} frames to {out} in {seconds:.1f} s")
    if current.status != "succeeded":
        reason = current.error or current.status
        print(f"reelcut: export failed: {reason}; nothing was written to {out}", file=sys.stderr)
        return 1
    return 0


async def _ended(db: Any, job_id: int, timeout: float = 30.0) -> None:
    from engine.jobs import store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await db.read(lambda c: store.get(c, job_id))
        if current is None or current.status in store.FINISHED:
            return
        await asyncio.sleep(0.05)


def _progress(fraction: float, elapsed: float, tty: bool) -> None:
    eta = f", about {elapsed / fraction - elapsed:.0f} s left" if fraction > 0.02 else ""
    line = f"exporting: {fraction * 100:5.1f}%{eta}"
    print(f"\r{line}\033[K" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
