"""`reelcut jobs DIR list|show ID|cancel ID|retry ID|queue|run` and `reelcut events DIR`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError, UsageError
from engine.events import TOPICS, EventStream
from engine.jobs import Runner, media, store
from engine.jobs.store import Job
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from tui.cli_args import MAX_ID, id_arg, int_between


def add_jobs_parsers(sub: Any) -> None:
    p = sub.add_parser("jobs", help="background jobs: proxies, thumbnails, waveforms")
    p.add_argument("dir", type=Path)
    p.add_argument(
        "action",
        choices=("list", "show", "cancel", "retry", "queue", "run", "work"),
        help="run: process the queue headless until it is empty (`work` is the same)",
    )
    p.add_argument("id", type=id_arg("job"), nargs="?", help="the job (show, cancel, retry)")
    p.add_argument("--all", action="store_true", help="list: finished jobs too")
    p.add_argument(
        "--json", action="store_true", help="print JSON (run: one document when the queue is done)"
    )
    p = sub.add_parser("events", help="the event stream (JSON lines), from an id on")
    p.add_argument("dir", type=Path)
    p.add_argument(
        "--after", type=int_between(0, MAX_ID), default=0, help="print events after this id"
    )
    p.add_argument("--follow", action="store_true", help="keep printing new events")
    p.add_argument(
        "--topic", action="append", choices=sorted(TOPICS), help="only this topic (repeatable)"
    )


def cmd_jobs(args: argparse.Namespace) -> int:
    ProjectDir(args.dir).load()  # a clear error when DIR is not a project
    if args.action in ("show", "cancel", "retry") and args.id is None:
        raise UsageError(
            f"jobs {args.action} needs a job id: reelcut jobs DIR {args.action} ID "
            "(`reelcut jobs DIR list --all` shows them)"
        )
    if args.action in ("cancel", "retry", "queue"):
        return _through_the_door(Path(args.dir), args)
    return asyncio.run(_jobs(args))


def cmd_events(args: argparse.Namespace) -> int:
    ProjectDir(args.dir).load()
    try:
        return asyncio.run(_events(args))
    except KeyboardInterrupt:
        return 0


async def _jobs(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    adb = await AsyncDB.open(root / ".reelcut")
    try:
        if args.action == "list":
            statuses = None if args.all else ["queued", "running"]
            jobs = await adb.read(lambda c: store.recent(c, 500, statuses))
            counts = await adb.read(store.counts)
            if args.json:
                _print_json({"jobs": [j.to_json() for j in jobs], "counts": counts})
            else:
                for j in reversed(jobs):
                    print(_line(j))
                summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no jobs"
                print(summary)
            return 0
        if args.action == "show":
            job = await adb.read(lambda c: store.get(c, args.id))
            if job is None:
                raise ReelcutError(f"no job {args.id}; `reelcut jobs DIR list --all` shows them")
            _print_json(job.to_json()) if args.json else print(_detail(job))
            return 0
        return await _work(adb, root, args.json)
    finally:
        await adb.close()


def _through_the_door(root: Path, args: argparse.Namespace) -> int:
    """cancel, retry and queue: by the project's holder when it is open, else here under the
    writer lock (the same output either way)."""
    from engine.door import door

    params = {} if args.action == "queue" else {"id": args.id}
    with door(root, f"reelcut jobs {args.action}") as d:
        done = d.call(f"jobs.{args.action}", params)
    if args.json:
        _print_json(done)
    elif args.action == "queue":
        print(f"queued {len(done['queued'])} derivative job(s)")
    elif args.action == "retry":
        print(f"job {done['id']} queued again; `reelcut jobs {root} run` runs it")
    elif done["status"] == "cancelled":
        print(f"job {done['id']} cancelled")
    elif done["cancel_requested"] and done["status"] == "running":
        print(f"job {done['id']} is stopping (its worker stops it within a second)")
    else:
        print(f"job {done['id']} had already finished: {done['status']}")
    return 0


async def _work(adb: AsyncDB, root: Path, as_json: bool) -> int:
    """Run every queued media job to the end, printing progress as events arrive: here, as the
    project's holder, or, when a process holds it already (the editor), by following that
    holder's runner, which works the same queue."""
    from engine.control import Client
    from engine.door import hold

    events = EventStream(adb)
    await events.start()
    last_line: dict[int, float] = {}
    seen: list[dict[str, Any]] = []

    def show(event: Any) -> None:
        if event.topic != "job":
            return
        if as_json:
            seen.append(event.to_json())
            return
        d = event.data
        now = time.monotonic()
        if event.kind == "progress" and now - last_line.get(d["job"], 0) < 1.0:
            return
        last_line[d["job"]] = now
        tail = f": {d['error']}" if d.get("error") and event.kind != "running" else ""
        print(f"job {d['job']:>4} {d['kind']:<7} {event.kind:<10} {d['message']}{tail}", flush=True)

    unlisten = events.listen(show)
    try:
        client = await asyncio.to_thread(Client.connect, root)
        if client is not None:
            try:
                await asyncio.to_thread(client.call, "jobs.queue", {})
            finally:
                client.close()
            await _until_done(adb, events)
        else:
            from engine.export import render

            handlers = {**media.handlers(), **render.handlers(adb, events)}
            runner = Runner(adb, events, root, handlers, {**media.limits(), **render.limits()})
            async with hold(root, "reelcut jobs run", db=adb, events=events, runner=runner) as ws:
                from engine.tts import jobs as tts

                # Lines queued by `reelcut tts --no-wait` or the agent: spoken and landed here.
                runner.handlers.update(tts.handlers(ws))
                runner.limits[tts.KIND] = tts.limit()
                await ws.call("jobs.queue", {})
                await runner.start()
                try:
                    await runner.wait_idle()
                finally:
                    await runner.stop()
    finally:
        unlisten()
        await events.close()
    counts = await adb.read(store.counts)
    bad = counts.get("failed", 0) + counts.get("dead", 0)
    if as_json:
        _print_json({"events": seen, "counts": counts})
    else:
        print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no jobs")
    return 5 if bad else 0


async def _until_done(adb: AsyncDB, events: EventStream) -> None:
    """Wait until no media job is queued or running (another process's runner works them)."""
    from engine.export import render

    kinds = set(media.handlers()) | set(render.handlers()) | {"tts"}

    def busy(conn: Any) -> bool:
        return any(j.kind in kinds for j in store.recent(conn, 500, ["queued", "running"]))

    feed = events.subscribe(topics=["job"])
    try:
        while await adb.read(busy):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(feed), timeout=1.0)
    finally:
        await feed.aclose()  # type: ignore[attr-defined]


async def _events(args: argparse.Namespace) -> int:
    adb = await AsyncDB.open(Path(args.dir) / ".reelcut")
    events = EventStream(adb)
    await events.start()
    try:
        # Without --follow: what is stored now, then exit. The stream goes quiet (idle 0) once
        # its backlog is read, whatever topic the newest event has.
        idle = None if args.follow else 0.0
        async for event in events.watch(after=args.after, topics=args.topic, idle=idle):
            if event is None:
                break
            print(json.dumps(event.to_json()), flush=True)
        return 0
    finally:
        await events.close()
        await adb.close()


def _line(j: Job) -> str:
    pct = f"{j.progress * 100:5.1f}%"
    what = j.payload.get("asset", "")
    return f"{j.id:>5}  {j.kind:<7} {what:<8} {j.status:<9} {pct}  {j.message}"


def _detail(j: Job) -> str:
    rows = [
        ("job", j.id),
        ("kind", j.kind),
        ("status", j.status),
        ("progress", f"{j.progress * 100:.1f}% {j.message}".rstrip()),
        ("attempts", f"{j.attempts} of {j.max_attempts}"),
        ("payload", json.dumps(j.payload)),
        ("result", json.dumps(j.result) if j.result is not None else ""),
        ("error", j.error or ""),
        ("created", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_at))),
    ]
    return "\n".join(f"{k:<9} {v}" for k, v in rows if v != "")


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
