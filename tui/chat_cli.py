"""`reelcut chat DIR "message"`: one agent run, headless, streamed to stdout.

The run is queued as a job like any other and worked by a runner in this process (serving only
agent runs), so it is the same run the editor would show: the same events, the same changeset
left for `reelcut changes`. Text streams as it arrives; thoughts are shown dimmed on a
terminal (left out when piped, unless ``--thoughts``); each tool call is one line. ``--jsonl``
prints the run's events as JSON lines as they come; ``--json`` prints one document when the run
ends: the run, its events, usage, cost and changesets. Ctrl+C cancels the run (nothing of an
unfinished step is applied) and exits 130.

``--list`` shows every thread with its usage and cost, and each run with its status; a run whose
worker is gone (the editor quit, a process was killed) is marked *orphaned*. ``--attach RUN``
follows a run from its start; an orphan is resumed here (nothing resumes one unasked), and a
run another live process holds is followed, naming that process. ``--cancel RUN`` ends a run
whoever holds it. None of these read project.json, so they work while it is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import shlex
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TextIO

from engine.agent import orphans, store
from engine.agent import run as agent_run
from engine.control import Client
from engine.door import door, hold
from engine.errors import UsageError
from engine.events import Event, EventStream
from engine.jobs import Runner
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from tui.cli_args import id_arg, int_between

MAX_STEPS_LIMIT = agent_run.MAX_STEPS_LIMIT


def add_chat_parser(sub: Any) -> None:
    p = sub.add_parser("chat", help="ask the agent (Gemini); the changes wait for review")
    p.add_argument("dir", type=Path)
    p.add_argument("message", nargs="?", help="what to do (omit with --list)")
    p.add_argument("--thread", type=id_arg("thread"), help="continue this thread")
    p.add_argument("--model", help=f"one of {', '.join(agent_run.MODELS)} (or any Gemini model)")
    p.add_argument("--workflow", help="a file in scripts/workflows/ (name or path)")
    p.add_argument("--thinking", choices=agent_run.THINKING_LEVELS, help="thinking level")
    p.add_argument("--auto-apply", action="store_true", help="apply each change as it is made")
    p.add_argument(
        "--max-steps",
        type=int_between(1, MAX_STEPS_LIMIT),
        default=agent_run.MAX_STEPS,
        help=f"model turns at most (1 to {MAX_STEPS_LIMIT}; default {agent_run.MAX_STEPS})",
    )
    p.add_argument("--thoughts", action="store_true", help="print thoughts even when piped")
    p.add_argument("--list", action="store_true", help="list threads and runs")
    p.add_argument(
        "--attach",
        type=id_arg("run"),
        metavar="RUN",
        help="show run RUN from its start and follow it to its end; an orphaned run resumes here",
    )
    p.add_argument(
        "--cancel", type=id_arg("run"), metavar="RUN", help="cancel run RUN, whoever runs it"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document at the end")
    out.add_argument("--jsonl", action="store_true", help="print the run's events as JSON lines")


def cmd_chat(args: argparse.Namespace) -> int:
    # A clear error when DIR is not a project; project.json is not read (a broken one must not
    # keep anyone from listing, following or cancelling runs).
    ProjectDir(args.dir).require()
    if args.message is None and not args.list and args.attach is None and args.cancel is None:
        raise UsageError('chat needs a message: reelcut chat DIR "what to do"')
    return asyncio.run(_chat(args))


async def _chat(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    try:
        if args.list:
            return await _list(db, root, args.json or args.jsonl)
        if args.cancel is not None:
            return await _cancel(db, events, args)
        if args.attach is not None:
            return await _attach(db, events, root, args)
        return await _run(db, events, root, args)
    finally:
        await events.close()
        await db.close()


async def _list(db: AsyncDB, root: Path, as_json: bool) -> int:
    def read(conn: Any) -> list[dict[str, Any]]:
        out = []
        for thread_id, title, at in store.threads(conn):
            usage, cost, calls = store.thread_usage(conn, thread_id)
            runs = []
            for r in store.runs(conn, thread_id):
                r = dataclasses.replace(r, status=orphans.settled_status(conn, r))
                r_usage, r_cost, r_calls = store.run_usage(conn, r.id)
                runs.append(
                    {
                        **r.to_json(),
                        "orphaned": orphans.orphaned(conn, r),
                        "usage": _usage_json(r_usage, r_cost, r_calls),
                    }
                )
            out.append(
                {
                    "id": thread_id,
                    "title": title,
                    "created_at": at,
                    "usage": _usage_json(usage, cost, calls),
                    "runs": runs,
                }
            )
        return out

    threads = await db.read(read)
    if as_json:
        runs = [r for t in threads for r in t["runs"]]
        print(json.dumps({"threads": threads, "runs": runs}))
        return 0
    for t in threads:
        print(f"thread {t['id']}: {t['title']}  ({_usage_line(t['usage'])})")
        for r in t["runs"]:
            status = r["status"] + (" (orphaned)" if r["orphaned"] else "")
            print(
                f"  run {r['id']}: {status} ({r['model']}, {r['workflow_name']}, "
                f"{r['steps']} steps, {_usage_line(r['usage'])})"
            )
            if r["orphaned"]:
                where = shlex.quote(str(root))
                print(
                    f"    resume: reelcut chat {where} --attach {r['id']}; "
                    f"end it: reelcut chat {where} --cancel {r['id']}"
                )
    if not threads:
        print("no agent threads yet")
    return 0


def _usage_json(usage: Any, cost: float | None, calls: int) -> dict[str, Any]:
    return {
        "calls": calls,
        "prompt": usage.prompt,
        "cached": usage.cached,
        "output": usage.output,
        "thoughts": usage.thoughts,
        "cost_usd": cost,
    }


def _usage_line(u: dict[str, Any]) -> str:
    price = "cost unknown" if u["cost_usd"] is None else f"${u['cost_usd']:.4f}"
    return f"{u['calls']} calls, {u['prompt']} in / {u['output']} out, {price}"


async def _cancel(db: AsyncDB, events: EventStream, args: argparse.Namespace) -> int:
    """Through the project's door (its holder stops a run it runs at once)."""
    with door(Path(args.dir), "reelcut chat --cancel") as d:
        doc = await asyncio.to_thread(d.call, "chat.cancel", {"run": args.cancel})
    run = store.Run(**doc)
    if run.status not in store.TERMINAL:  # a live worker elsewhere stops at its next beat
        run = await orphans.wait_for_end(db, run.id, timeout=10.0)
    if args.json or args.jsonl:
        print(json.dumps({"run": run.to_json()}))
    else:
        print(f"run {run.id}: {run.status}")
    return 0 if run.status in store.TERMINAL else 1


Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


@contextlib.asynccontextmanager
async def _door(
    db: AsyncDB, events: EventStream, root: Path, purpose: str
) -> AsyncIterator[tuple[Call, Runner | None]]:
    """The project's door for a run: its holder's (the editor runs the run, its chat panel
    shows it) or, when nobody holds the project, this process as its holder, with a runner
    for the runs it adopts; the other commands go through this process meanwhile."""
    client = await asyncio.to_thread(Client.connect, root)
    if client is not None:

        async def remote(name: str, params: dict[str, Any]) -> Any:
            return await asyncio.to_thread(client.call, name, params)

        try:
            yield remote, None
        finally:
            client.close()
        return
    runner = _runner(db, events, root)
    async with hold(root, purpose, db=db, events=events, runner=runner) as workspace:
        try:
            yield workspace.call, runner
        finally:
            await runner.stop()


async def _run(db: AsyncDB, events: EventStream, root: Path, args: argparse.Namespace) -> int:
    printer = Printer(sys.stdout, _format(args), thoughts=args.thoughts or sys.stdout.isatty())
    params = {
        "message": args.message,
        "thread": args.thread,
        "model": args.model,
        "workflow": args.workflow,
        "thinking": args.thinking,
        "auto_apply": args.auto_apply,
        "max_steps": args.max_steps,
    }
    async with _door(db, events, root, "reelcut chat") as (call, runner):
        # Listen before the run exists: its first events are not missed.
        feed = events.subscribe(topics=["run"])
        first = asyncio.ensure_future(anext(feed))
        try:
            started = await call("chat.start", params)
        except BaseException:
            first.cancel()
            with contextlib.suppress(BaseException):
                await first  # the generator stops before it is closed
            await feed.aclose()  # type: ignore[attr-defined]
            raise
        run_id = int(started["id"])
        try:
            if runner is not None:
                await runner.start()
            await _follow(printer, feed, first, run_id)
            if runner is not None:  # the job records its end before the runner stops
                await runner.wait_idle(timeout=30)
        except (KeyboardInterrupt, asyncio.CancelledError):
            await call("chat.cancel", {"run": run_id})
            printer.line("cancelled")
            printer.interrupted(run_id)
            return 130
        finally:
            await feed.aclose()  # type: ignore[attr-defined]
    return await _summary(printer, db, root, run_id)


async def _summary(printer: Printer, db: AsyncDB, root: Path, run_id: int) -> int:
    final = await db.read(lambda c: store.get_run(c, run_id))
    usage, cost, calls = await db.read(lambda c: store.run_usage(c, run_id))
    changesets = await db.read(lambda c: store.changesets(c, run_id))
    printer.summary(final, usage, cost, calls, changesets, root)
    return 0 if final.status == "complete" else 1


def _runner(db: AsyncDB, events: EventStream, root: Path) -> Runner:
    """A runner for agent runs only, claiming only the run this command adopts."""
    return Runner(
        db,
        events,
        root,
        agent_run.handlers(db, events),
        {agent_run.KIND: 1},
        adopted_only=frozenset({agent_run.KIND}),
    )


async def _follow(
    printer: Printer, feed: Any, first: asyncio.Future[Event] | None, run_id: int
) -> None:
    """Show the run's events until its end."""
    pending = first
    while True:
        event = await pending if pending is not None else await anext(feed)
        pending = None
        if event.topic == "project":
            if event.kind == "reset":
                printer.line("(earlier events of this run are no longer kept)")
            continue
        if event.data.get("run") != run_id:
            continue
        printer.show(event)
        if event.kind in store.TERMINAL:
            return


async def _attach(db: AsyncDB, events: EventStream, root: Path, args: argparse.Namespace) -> int:
    """A run from its first event (the stream keeps them; older than its window, a reset says
    so), then live until it ends: what a client that reconnects sees. An orphaned run (no live
    worker) is resumed by the project's holder (here when nobody holds it); one another live
    process runs is followed, naming that process."""
    printer = Printer(sys.stdout, _format(args), thoughts=args.thoughts or sys.stdout.isatty())
    feed = events.subscribe(after=0, topics=["run", "project"])
    async with _door(db, events, root, "reelcut chat --attach") as (call, runner):
        try:
            got = await call("chat.attach", {"run": args.attach})
            run = store.Run(**got["run"])
            if got["held_by"] is not None:
                printer.note(f"(run {run.id} is being run by {got['held_by']}; following it)")
            if run.status in store.TERMINAL:
                # Its events, then its end (which is among them, or was before the window).
                await _replay_ended(printer, feed, run.id)
            else:
                if got["resumed"]:
                    where = "here" if runner is not None else "by the process holding the project"
                    printer.note(f"(resuming orphaned run {run.id} {where})")
                    if runner is not None:
                        await runner.start()
                await _follow(printer, feed, None, run.id)
                if runner is not None:
                    await runner.wait_idle(timeout=30)
        except (KeyboardInterrupt, asyncio.CancelledError):
            if runner is not None:
                for job in runner.running:
                    await runner.cancel(job.id)
            printer.interrupted(args.attach)
            return 130
        finally:
            await feed.aclose()  # type: ignore[attr-defined]
    return await _summary(printer, db, root, args.attach)


async def _replay_ended(printer: Printer, feed: Any, run_id: int) -> None:
    """The stored events of a run that has ended, up to its end."""
    while True:
        event = await anext(feed)
        if event.topic == "project":
            if event.kind == "reset":
                printer.line("(earlier events of this run are no longer kept)")
                return  # its end is among what is gone
            continue
        if event.data.get("run") != run_id:
            continue
        printer.show(event)
        if event.kind in store.TERMINAL:
            return


def _format(args: argparse.Namespace) -> Format:
    return "json" if args.json else "jsonl" if args.jsonl else "text"


Format = Literal["text", "json", "jsonl"]


class Printer:
    """The run on a terminal, as JSON lines (``jsonl``) or as one document at its end (``json``)."""

    def __init__(self, out: TextIO, fmt: Format, *, thoughts: bool) -> None:
        self.out, self.fmt, self.thoughts = out, fmt, thoughts
        self.as_json = fmt != "text"
        self.tty = out.isatty()
        self.mid_line = False
        self.in_thought = False
        self.events: list[dict[str, Any]] = []  # kept for the ``json`` document

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.mid_line = not text.endswith("\n")

    def line(self, text: str) -> None:
        if self.as_json:
            return
        if self.mid_line:
            self._write("\n")
        self._write(text + "\n")

    def show(self, event: Event) -> None:
        d = event.data
        if self.fmt == "json":
            self.events.append(event.to_json())
            return
        if self.fmt == "jsonl":
            self._write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            return
        if event.kind == "streaming":
            if "thought" in d:
                if self.thoughts:
                    text = d["thought"]
                    self._write(f"\x1b[2m{text}\x1b[0m" if self.tty else text)
                    self.in_thought = True
                return
            if self.in_thought:
                self._write("\n\n")
                self.in_thought = False
            self._write(d.get("text", ""))
        elif event.kind == "tools":
            if d.get("state") == "called":
                self.line(f"→ {d['name']} {json.dumps(d.get('args', {}), ensure_ascii=False)}")
            else:
                result = d.get("result") or {}
                if result.get("ok"):
                    cs = d.get("changeset")
                    where = f" (changeset {cs})" if cs is not None else ""
                    self.line(f"← {d['name']}: ok{where}")
                else:
                    self.line(f"← {d['name']}: {result.get('error')}")
        elif event.kind == "retrying":
            self.line(
                f"… retrying step {d['step']} in {d['wait']:.1f} s (attempt {d['attempt']}): "
                f"{d['reason']}"
            )
        elif event.kind == "interrupted":
            self.line(f"(resuming an interrupted run at step {d.get('resumed_at_step')})")
        elif event.kind == "error":
            self.line(f"error: {d.get('error')}")

    def note(self, text: str) -> None:
        """A line about the command itself: on stderr, so stdout stays the run's."""
        print(text, file=sys.stderr)

    def interrupted(self, run_id: int) -> None:
        """With ``json``, the one document of a run the user stopped (exit 130)."""
        if self.fmt == "json":
            doc = {"error": f"run {run_id} cancelled", "exit_code": 130, "events": self.events}
            self._write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")

    def summary(
        self,
        run: store.Run,
        usage: Any,
        cost: float | None,
        calls: int,
        changesets: list[int],
        root: Path,
    ) -> None:
        if self.fmt == "json":
            doc = {
                "run": run.to_json(),
                "events": self.events,
                "usage": {
                    "prompt": usage.prompt,
                    "cached": usage.cached,
                    "output": usage.output,
                    "thoughts": usage.thoughts,
                },
                "cost_usd": cost,
                "calls": calls,
                "changesets": changesets,
            }
            self._write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            return
        if self.as_json:
            return
        price = f"${cost:.4f}" if cost is not None else "cost unknown (no price for the model)"
        if calls == 0:
            price = "no model calls"
        self.line(
            f"run {run.id} {run.status} ({run.stopped or run.error or ''}): {run.model}, "
            f"workflow {run.workflow_name}, {calls} calls, {usage.prompt} in "
            f"({usage.cached} cached) / {usage.output} out / {usage.thoughts} thinking, {price}"
        )
        for cs in changesets:
            verb = "applied" if run.auto_apply else "waits for review"
            self.line(f"changeset {cs} {verb}: reelcut changes {root} show {cs}")
