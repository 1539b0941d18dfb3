"""`reelcut changes DIR list|show ID|diff ID|replay ID|apply ID [--force]|revert ID [--force]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.changes.ledger import Ledger
from engine.changes.replay import read_replay
from engine.errors import UsageError
from engine.projectdir import ProjectDir
from engine.timebase import Rate, format_timecode
from tui.cli_args import id_arg


def add_changes_parser(sub: Any) -> None:
    p = sub.add_parser(
        "changes", help="review, replay (timeline steps), apply and revert changesets (agent edits)"
    )
    p.add_argument("dir", type=Path)
    p.add_argument("action", choices=("list", "show", "diff", "replay", "apply", "revert"))
    p.add_argument("id", type=id_arg("changeset"), nargs="?", help="the changeset (all but list)")
    p.add_argument("--force", action="store_true", help="overwrite files that changed since")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_changes(args: argparse.Namespace) -> int:
    # A clear error when DIR is not a project, without parsing project.json: review and revert
    # must work when a changeset (or anything else) left it invalid.
    ProjectDir(args.dir).require()
    if args.action != "list" and args.id is None:
        raise UsageError(
            f"changes {args.action} needs a changeset id: reelcut changes DIR {args.action} ID "
            "(`reelcut changes DIR list` shows them)"
        )
    if args.action in ("apply", "revert"):
        return _apply_or_revert(args)
    return asyncio.run(_run(args))


def _apply_or_revert(args: argparse.Namespace) -> int:
    """Through the project's door: its holder (the editor) when it is open, so the editor
    shows the change at once; else here, under the writer lock."""
    from engine.door import door

    with door(Path(args.dir), f"reelcut changes {args.action}") as d:
        done = d.call(f"changes.{args.action}", {"id": args.id, "force": args.force})
    if args.json:
        print(json.dumps(done, indent=2))
    else:
        print(f"changeset {done['id']}: {done['status']}")
    return 0


async def _run(args: argparse.Namespace) -> int:
    reading = args.action in ("list", "show", "diff", "replay")
    ledger = await Ledger.open(Path(args.dir), reconcile=not reading)
    try:
        return await _action(ledger, args)
    finally:
        await ledger.close()


async def _action(ledger: Ledger, args: argparse.Namespace) -> int:
    store = ledger.store
    if args.action == "list":
        rows = await store.recent()
        if args.json:
            print(json.dumps([asdict(cs) for cs in rows], indent=2))
            return 0
        for cs in rows:
            files = await store.files(cs.id)
            print(f"{cs.id:>5}  {cs.status:<8} {cs.author:<8} {len(files)} file(s)  {cs.reason}")
        if not rows:
            print("no changesets yet")
        return 0
    cs = await ledger._get(args.id)
    if args.action == "replay":
        return await _replay(ledger, cs.id, args)
    if args.action in ("show", "diff"):
        files = await store.files(cs.id)
        if args.action == "diff":
            diff = "".join(f.diff for f in files)
            if args.json:
                print(json.dumps({"id": cs.id, "diff": diff}, indent=2, ensure_ascii=False))
            else:
                sys.stdout.write(diff)
            return 0
        events = await store.tool_events(cs.id)
        if args.json:
            print(
                json.dumps(
                    {**asdict(cs), "files": [asdict(f) for f in files], "tool_calls": events},
                    indent=2,
                )
            )
            return 0
        print(f"changeset {cs.id}: {cs.status} by {cs.author}  {cs.reason}")
        if cs.error:
            print(f"  last error: {cs.error}")
        for f in files:
            kind = (
                "new" if f.base_hash is None else "deleted" if f.after_hash is None else "changed"
            )
            print(f"  {kind:<8} {f.path}  {f.before_bytes} -> {f.after_bytes} bytes")
        for e in events:
            said = e["audit"].get("meta", {}).get("summary")
            status = ("ok" + (f": {said}" if said else "")) if e["ok"] else f"failed: {e['error']}"
            print(f"  tool {e['tool']} {status}")
        return 0
    raise AssertionError(f"changes {args.action} goes through the door")


async def _replay(ledger: Ledger, cs_id: int, args: argparse.Namespace) -> int:
    """The changeset's timeline steps as the editor's `p` replays them; a report, so exit 0
    whether they fit or not."""
    replay = await read_replay(ledger, cs_id)
    if args.json:
        print(json.dumps(replay.to_json(), indent=2, ensure_ascii=False))
        return 0
    if not replay.steps:
        print(f"changeset {cs_id} has no timeline operations to replay")
        return 0
    n = len(replay.steps)
    for step in replay.steps:
        where = _where(step.frame, replay.rate)
        if step.fits or step is replay.failed:
            print(f"{step.index}/{n}{where}: {step.summary}")
        else:
            print(f"{step.index}/{n}{where} (not replayed): {step.summary}")
        if step is replay.failed:
            print(
                f"step {step.index}/{n} does not fit: {step.error}; "
                f"`reelcut changes {args.dir} diff {cs_id}` shows the file changes"
            )
    return 0


def _where(frame: int | None, rate: Rate | None) -> str:
    """Where a step happens (` at 00:00:02:05 (frame 65)`), in timecode when the rate is known."""
    if frame is None:
        return ""
    if rate is None:
        return f" at frame {frame}"
    return f" at {format_timecode(frame, rate)} (frame {frame})"


def add_tool_parsers(sub: Any) -> None:
    p = sub.add_parser("tools", help="the tool registry with argument schemas")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("tool", help="run one tool on a project; prints its audit payload")
    p.add_argument("dir", type=Path)
    p.add_argument("name")
    p.add_argument("arguments", nargs="?", default="{}", help="the arguments as JSON")
    p.add_argument("--apply", action="store_true", help="apply the changeset now")
    p.add_argument(
        "--changeset", type=id_arg("changeset"), help="add to this changeset (default: a new one)"
    )
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")


def cmd_tools(args: argparse.Namespace) -> int:
    from engine.tools import REGISTRY

    tools = [REGISTRY[name] for name in sorted(REGISTRY)]
    if args.json:
        print(json.dumps([t.to_json() for t in tools], indent=2))
        return 0
    for t in tools:
        params = ", ".join(
            f"{k}{'' if k in t.schema['required'] else '?'}" for k in t.schema["properties"]
        )
        print(f"{t.name}({params}){'  [writes]' if t.writes else ''}\n    {t.description}")
    return 0


def cmd_tool(args: argparse.Namespace) -> int:
    from engine.jsoncheck import parse_json
    from engine.tools import ToolError, run_tool

    ProjectDir(args.dir).load()
    # Strict and depth-bounded before decoding (no NaN, no repeated key, no RecursionError).
    arguments, problem = parse_json(args.arguments)
    if problem is not None:
        raise ToolError(f"the arguments are not JSON reelcut takes: {problem}")

    if args.apply:  # it writes the project's files: through the door
        from engine.door import door

        params = {
            "name": args.name,
            "arguments": arguments,
            "changeset": args.changeset,
            "apply": True,
            "author": "cli",
        }
        with door(Path(args.dir), "reelcut tool --apply") as d:
            return _tool_out(d.call("tool", params))

    async def go() -> dict[str, Any]:
        ledger = await Ledger.open(Path(args.dir))
        try:
            return await run_tool(
                ledger,
                args.name,
                arguments,
                changeset_id=args.changeset,
                apply=args.apply,
                author="cli",
            )
        finally:
            await ledger.close()

    return _tool_out(asyncio.run(go()))  # a HashMismatch is reported by main, as JSON


def _tool_out(out: dict[str, Any]) -> int:
    from engine.tools import ToolError

    if not out["ok"]:  # a failure document like every other command's (the call is on record)
        out = {**out, "exit_code": ToolError.exit_code}
    print(json.dumps(out, indent=2, ensure_ascii=False))
    if not out["ok"]:
        print(f"reelcut: {' '.join(str(out['error']).split())}", file=sys.stderr)
        return ToolError.exit_code
    return 0
