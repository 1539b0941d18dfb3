"""`reelcut tts DIR [run|status|cancel|versions|takes|select T|restore V]`: scenario to clips.

``run`` (the default) turns every line without a current take into a job and places every
line's clip at once (placeholders for the lines being made), through the project's holder
when one is open (the editor runs the jobs; this command follows them), else as the holder,
running the jobs itself until they end. ``--no-wait`` only queues. A paid pass estimated over
the scenario's ``tts.budget_usd`` needs ``--yes``. ``cancel`` stops the queued and running
lines (``--line`` to choose), ``status`` shows each line's take and state and the costs so far,
``versions`` lists the scenario versions passes read, ``takes`` every line's takes (``*`` the
one its clip shows), ``select TAKE --line L`` shows another take (one undo step), ``restore
VERSION`` proposes that version's scenario text and takes as one changeset (``--apply``).
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

from engine.errors import ReelcutError, UsageError
from engine.events import EventStream
from engine.jobs import Runner, media, store
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from engine.tts import jobs as tts


def add_tts_parser(sub: Any) -> None:
    p = sub.add_parser("tts", help="speak the scenario (scripts/Scenario_TTS.json) as clips")
    p.add_argument("dir", type=Path)
    p.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "status", "cancel", "versions", "takes", "select", "restore"),
        help="run (default): generate the lines without a current take",
    )
    p.add_argument(
        "target",
        nargs="?",
        help="select: the take (asset id or take key); restore: the version (from `versions`)",
    )
    p.add_argument("--provider", choices=("local", "gemini"), help="default: the scenario's")
    p.add_argument("--model", help="the Gemini TTS model (default: the scenario's)")
    p.add_argument("--line", action="append", help="only this line id (repeatable)")
    p.add_argument("--yes", action="store_true", help="confirm a paid pass over the budget")
    p.add_argument("--dry-run", action="store_true", help="say what a pass would do and cost")
    p.add_argument("--no-wait", action="store_true", help="queue the lines and return")
    p.add_argument("--apply", action="store_true", help="restore: apply the changeset at once")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_tts(args: argparse.Namespace) -> int:
    ProjectDir(args.dir).load()  # a clear error when DIR is not a project
    root = Path(args.dir)
    if args.action == "versions":
        return asyncio.run(_versions(root, args.json))
    if args.action in ("takes", "select", "restore"):
        return _takes(root, args)
    if args.target is not None:
        raise UsageError(f"tts {args.action} takes no {args.target!r}; see `reelcut tts --help`")
    params: dict[str, Any] = {}
    if args.line:
        params["lines"] = list(args.line)
    if args.action in ("status", "cancel"):
        from engine.door import door

        with door(root, f"reelcut tts {args.action}") as d:
            doc = d.call(f"tts.{args.action}", params)
        _print(doc, args.json, args.action)
        return 0
    params.update(provider=args.provider, model=args.model, yes=args.yes, dry_run=args.dry_run)
    if args.no_wait:  # nobody here runs the lines now: none is spoken ahead of its job
        params["ahead"] = False
    return asyncio.run(_run(root, params, args))


async def _run(root: Path, params: dict[str, Any], args: argparse.Namespace) -> int:
    from engine.control import Client
    from engine.door import hold

    adb = await AsyncDB.open(root / ".reelcut")
    events = EventStream(adb)
    await events.start()
    shown: dict[int, float] = {}
    lines: dict[int, str] = {}

    def show(event: Any) -> None:
        if event.topic != "job" or event.data.get("kind") != tts.KIND or args.json:
            return
        d = event.data
        now = time.monotonic()
        if event.kind == "progress" and now - shown.get(d["job"], 0) < 0.5:
            return
        shown[d["job"]] = now
        tail = f": {d['error']}" if d.get("error") and event.kind != "running" else ""
        pct = f"{d['progress'] * 100:3.0f}%" if event.kind == "progress" else ""
        line = lines.get(d["job"], "")
        print(f"line {line:<8} job {d['job']:>4} {event.kind:<10}{pct} {d['message']}{tail}")

    unlisten = events.listen(show)
    try:
        client = await asyncio.to_thread(Client.connect, root)
        if client is not None:
            try:
                doc = await asyncio.to_thread(client.call, "tts.start", params)
            finally:
                client.close()
            lines.update({j["job"]: j["line"] for j in doc["jobs"]})
            _say_start(doc, args)
            if not args.no_wait and not params.get("dry_run"):
                await _until_done(adb, events, {j["job"] for j in doc["jobs"]})
        else:
            runner = Runner(adb, events, root, media.handlers(), media.limits())
            async with hold(root, "reelcut tts", db=adb, events=events, runner=runner) as ws:
                runner.handlers.update(tts.handlers(ws))
                runner.limits[tts.KIND] = tts.limit()
                doc = await ws.call("tts.start", params)
                lines.update({j["job"]: j["line"] for j in doc["jobs"]})
                _say_start(doc, args)
                if not args.no_wait and not params.get("dry_run") and doc["jobs"]:
                    await runner.start()
                    try:
                        await _until_done(adb, events, {j["job"] for j in doc["jobs"]})
                    finally:
                        await runner.stop()
    finally:
        unlisten()
        await events.close()
    ids = [j["job"] for j in doc["jobs"]]
    jobs = [j for j in await adb.read(tts.tts_jobs) if j.id in ids]
    await adb.close()
    doc["results"] = [
        {
            "job": j.id,
            "line": j.payload.get("line"),
            "status": j.status,
            "error": j.error,
            "result": j.result,
        }
        for j in jobs
    ]
    doc["usage"] = tts.usage_summary(jobs)
    bad = [j for j in jobs if j.status in ("failed", "dead")]
    if args.json:
        _dump(doc)
    elif not params.get("dry_run"):
        u = doc["usage"]
        done = sum(1 for j in jobs if j.status == "succeeded")
        waiting = sum(1 for j in jobs if j.status in ("queued", "running"))
        print(
            f"{done} line(s) made, {len(bad)} failed, {waiting} still queued; "
            f"cost ${u['cost_usd']:.4f} ({u['audio_tokens']} audio tokens)"
        )
    return 1 if bad else 0


def _say_start(doc: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        return
    est = doc["estimate"]
    money = (
        "free"
        if doc["provider"] == "local"
        else ("unpriced" if est["cost_usd"] is None else f"about ${est['cost_usd']:.4f}")
    )
    verb = "would generate" if doc.get("jobs") is None or args.dry_run else "generating"
    print(
        f"{doc['lines']} line(s) in the scenario; {verb} {len(doc['generate'])} with "
        f"{doc['provider']} ({doc['model']}), {money}; "
        f"{len(doc['land'])} take(s) made before"
    )


async def _until_done(adb: AsyncDB, events: EventStream, ids: set[int]) -> None:
    """Wait until none of the jobs ``ids`` is queued or running."""
    if not ids:
        return

    def busy(conn: Any) -> bool:
        return any(
            (j := store.get(conn, i)) is not None and j.status in ("queued", "running") for i in ids
        )

    feed = events.subscribe(topics=["job"])
    try:
        while await adb.read(busy):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(feed), timeout=1.0)
    finally:
        await feed.aclose()  # type: ignore[attr-defined]


async def _versions(root: Path, as_json: bool) -> int:
    from engine.tts import versions

    adb = await AsyncDB.open(root / ".reelcut")
    try:
        jobs = await adb.read(tts.tts_jobs)
    finally:
        await adb.close()
    found = await asyncio.to_thread(versions.list_versions, root, jobs)
    if as_json:
        _dump({"versions": found})
        return 0
    for v in found:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v["saved_at"]))
        print(f"{v['short']}  {when}  {v['takes']} take(s)  lines {', '.join(v['lines'])}")
    if not found:
        print("no TTS pass yet; `reelcut tts DIR` makes one")
    return 0


def _takes(root: Path, args: argparse.Namespace) -> int:
    """``takes`` (every line's takes, * on the current one), ``select TAKE --line L`` and
    ``restore VERSION [--apply]`` (one changeset: the scenario text and its takes)."""
    from engine.door import door

    if args.action == "takes" and args.target is not None:
        raise UsageError(f"tts takes takes no {args.target!r}; see `reelcut tts --help`")
    if args.action != "takes" and args.target is None:
        what = "the take (asset id or take key)" if args.action == "select" else "the version"
        raise UsageError(f"tts {args.action}: give {what}; `reelcut tts DIR takes|versions`")
    if args.action == "select" and len(args.line or ()) != 1:
        raise UsageError("tts select: give the line with --line (one)")
    with door(root, f"reelcut tts {args.action}") as d:
        if args.action == "takes":
            doc = d.call("tts.takes", {})
        elif args.action == "select":
            doc = d.call("tts.select", {"line": args.line[0], "take": args.target})
        else:
            doc = d.call(
                "tool",
                {
                    "name": "tts_restore",
                    "arguments": {"version": args.target},
                    "apply": bool(args.apply),
                    "author": "cli",
                },
            )
    if args.json:
        _dump(doc)
    if args.action == "restore" and not doc.get("ok"):
        raise RestoreRefused(str(doc.get("error") or "the restore was refused"))
    if args.json:
        return 0
    if args.action == "restore":
        cs = doc.get("changeset")
        print(doc["result"]["summary"])
        if cs is not None:
            verb = "applied" if doc.get("applied") else "proposed"
            print(
                f"changeset {cs} {verb}; review with `reelcut changes {args.dir} show {cs}`"
                + ("" if doc.get("applied") else f", apply with `... apply {cs}`")
            )
        return 0
    if args.action == "select":
        print(doc["change"]["summary"] if doc["change"] else "no change")
    for ln in doc["takes"] if args.action == "select" else doc["lines"]:
        print(f"{ln['line']}  (clip {ln['clip'] or '-'})")
        for t in ln["takes"]:
            mark = "*" if t["current"] else " "
            secs = "" if t["frames"] is None else f"  {t['frames']} frames"
            print(f"  {mark} {t['asset']:<10} {(t['take'] or '')[:12]}  {t['stage']}{secs}")
    return 0


class RestoreRefused(ReelcutError):
    """The restore could not be proposed (no such version, a broken one): exit 12, as a tool."""

    exit_code = 12


def _print(doc: dict[str, Any], as_json: bool, action: str) -> None:
    if as_json:
        _dump(doc)
        return
    if action == "cancel":
        for c in doc["cancelled"]:
            print(f"line {c['line']}: job {c['job']} {c['status']}")
        if not doc["cancelled"]:
            print("no TTS job is queued or running")
        return
    for ln in doc["lines"]:
        err = f"  {ln['error']}" if ln["error"] else ""
        pct = f" {ln['progress'] * 100:.0f}%" if ln["stage"] == "running" else ""
        print(f"{ln['line']:<10} {ln['clip']:<8} {ln['stage']}{pct}{err}")
    u = doc["usage"]
    print(f"{u['takes']} take(s) made; cost ${u['cost_usd']:.4f}")


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
