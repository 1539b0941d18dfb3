"""An agent run from start to end: `start_run` queues it, and its job (``agent.run``) drives
the step loop (`engine.agent.loop`) and always ends it.

`start_run` checks what can be checked before any request (the workflow file against its
schema, pricing.json, an API key, the step limit), stores the user's message and the run with
the exact settings it will use (the system instruction's text, not only its path), and queues its
job. The job (`handlers`, `execute`) opens the run's client, prices and ledger and runs a
`RunLoop` until the model stops calling tools, the step limit, or a cancel.

**Every run ends** in ``complete``, ``error`` or ``cancelled``, with that event on the stream,
whatever the model, the network or the project's files do: a reply that cannot be read, a
blocked prompt, a turn that ended for any reason but STOP (its function calls are never run),
a bad pricing.json or a bug of ours are the run's error, shown with the reason, and its job
fails without a retry (a retry would call the model again, unseen).

A run survives a restart: its messages are stored step by step, so a run whose worker stopped
(the editor quit, or the process died) is found ``interrupted`` or ``running`` without a live
worker: an *orphan*. Nothing resumes an orphan on its own (`engine.agent.orphans`): it
resumes on purpose (``reelcut chat DIR --attach RUN``), says so with an ``interrupted`` event,
answers the calls of a turn its worker left half-done from the audit (calls already made are
not made again), and goes on from the last finished step; `orphans.cancel_run` ends a run
whoever holds it, including one whose process was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from engine.agent import store
from engine.agent.loop import RunLoop, emit
from engine.agent.pricing import prices
from engine.changes.ledger import Ledger
from engine.errors import ReelcutError
from engine.events import EventStream, insert_event
from engine.jobs import store as jobs_store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.state.adb import AsyncDB
from engine.tools import REGISTRY
from engine.tools.registry import Door
from engine.workflows import Workflow, list_workflows, load_workflow

if TYPE_CHECKING:
    from google import genai

    from engine.agent.provider import RetryPolicy

KIND = store.JOB_KIND
DEFAULT_MODEL = "gemini-3-flash-preview"
MODELS = (
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
)
THINKING_LEVELS = ("minimal", "low", "medium", "high")
DEFAULT_WORKFLOW = "scripts/workflows/editor.json"
MAX_STEPS = 12
MAX_STEPS_LIMIT = 200


class RunRefused(ReelcutError):
    """A run that cannot start (no workflow, a bad thread id); nothing was sent."""


def pick_workflow(root: Path, workflow: str | None) -> str:
    """The workflow file for a run: a path, a name (``editor``), or the default / only one."""
    files = list_workflows(root)
    if workflow:
        for rel in files:
            if workflow in (rel, Path(rel).stem, Path(rel).name):
                return rel
        listed = ", ".join(Path(r).stem for r in files) or "none"
        raise RunRefused(f"no workflow {workflow!r} in scripts/workflows/ (there: {listed})")
    if DEFAULT_WORKFLOW in files:
        return DEFAULT_WORKFLOW
    if files:
        return files[0]
    raise RunRefused("no workflow file: add one under scripts/workflows/ (see the demo's)")


async def _provider() -> ModuleType:
    """``engine.agent.provider``, imported off the event loop the first time: google-genai
    takes about half a second to import, which the editor does not pay at start-up."""
    return await asyncio.to_thread(importlib.import_module, "engine.agent.provider")


def run_settings(
    workflow: Workflow, model: str, thinking: str | None, *, auto_apply: bool, max_steps: int
) -> dict[str, Any]:
    """What a run keeps and uses to its end (and a reviewer reads): the prompt's text and
    every setting, not only the workflow's path and hash."""
    tools = [t.to_json() for t in REGISTRY.values()]
    return {
        "model": model,
        "system_instruction": workflow.system_instruction,
        "temperature": workflow.temperature,
        "thinking_level": thinking or workflow.thinking_level,
        "auto_apply": auto_apply,
        "max_steps": max_steps,
        "workflow": {"path": workflow.path, "name": workflow.name, "sha256": workflow.sha256},
        "tools": [t["name"] for t in tools],
        "tools_sha256": hashlib.sha256(json.dumps(tools, sort_keys=True).encode()).hexdigest(),
    }


async def start_run(
    db: AsyncDB,
    events: EventStream,
    root: Path,
    message: str,
    *,
    thread: int | None = None,
    model: str | None = None,
    workflow: str | None = None,
    thinking: str | None = None,
    auto_apply: bool = False,
    max_steps: int = MAX_STEPS,
) -> store.Run:
    """Check, store and queue a run; raise before anything is stored or sent when the workflow
    or pricing.json is malformed, there is no key, or a setting is out of range.

    The run's job is claimed only by a runner that adopts it (``Runner.adopt(run.job_id)``):
    the caller that started it, or one that resumes it on purpose."""
    if not message.strip():
        raise RunRefused("an empty message: say what the agent should do")
    if isinstance(max_steps, bool) or not 1 <= max_steps <= MAX_STEPS_LIMIT:
        raise RunRefused(f"max steps {max_steps!r}: a whole number from 1 to {MAX_STEPS_LIMIT}")
    if thinking is not None and thinking not in THINKING_LEVELS:
        raise RunRefused(f"thinking level {thinking!r}: one of {', '.join(THINKING_LEVELS)}")
    rel = pick_workflow(root, workflow)
    wf = await asyncio.to_thread(load_workflow, root, rel)
    await asyncio.to_thread(prices, root)  # a broken pricing.json refuses here, said plainly
    (await _provider()).make_client()  # a missing key fails here, before the run exists
    chosen = model or wf.model or DEFAULT_MODEL
    settings = run_settings(wf, chosen, thinking, auto_apply=auto_apply, max_steps=max_steps)

    def create(conn: Any) -> tuple[int, int]:
        thread_id = thread
        if thread_id is None:
            thread_id = store.create_thread(conn, message.strip().splitlines()[0][:80])
        elif not store.thread_exists(conn, thread_id):
            raise RunRefused(f"no thread {thread_id}")
        run_id = store.create_run(
            conn,
            thread_id,
            model=chosen,
            thinking_level=thinking or wf.thinking_level,
            auto_apply=auto_apply,
            max_steps=max_steps,
            workflow=(wf.path, wf.name, wf.sha256),
            settings=settings,
        )
        store.add_message(conn, thread_id, "user", [{"text": message}], run_id=run_id, step=0)
        # One attempt: a model call is never repeated behind the user's back. A worker that
        # dies leaves an orphan, resumed on purpose (`resume`).
        job, _ = jobs_store.enqueue(conn, KIND, {"run": run_id}, max_attempts=1)
        store.set_job(conn, run_id, job.id)
        insert_event(conn, "run", "pending", {"run": run_id, "thread": thread_id})
        return run_id, job.id

    run_id, _ = await db.write(create)
    events.committed()
    return await db.read(lambda c: store.get_run(c, run_id))


async def execute(
    db: AsyncDB,
    events: EventStream,
    root: Path,
    run_id: int,
    *,
    client_factory: Callable[[], genai.Client] | None = None,
    policy: RetryPolicy | None = None,
    door: Door | None = None,
) -> dict[str, Any]:
    run = await db.read(lambda c: store.get_run(c, run_id))
    if run.status in store.TERMINAL:
        return {"run": run_id, "status": run.status}
    if run.status in ("running", "interrupted"):
        await emit(events, "interrupted", {"run": run_id, "resumed_at_step": run.steps + 1})
    ledger: Ledger | None = None
    try:
        provider = await _provider()
        settings = run.settings or await _legacy_settings(root, run)
        client = (client_factory or provider.make_client)()
        table = await asyncio.to_thread(prices, root)
        await db.write(lambda c: store.set_status(c, run_id, "running"))
        events.committed()
        ledger = await Ledger.open(root)
        loop = RunLoop(
            db,
            events,
            run,
            ledger,
            client,
            settings,
            table,
            policy or provider.DEFAULT_POLICY,
            provider,
            door,
        )
        stopped = await loop.go()
        await db.write(lambda c: store.set_status(c, run_id, "complete", stopped=stopped))
        events.committed()
        return {"run": run_id, "status": "complete", "stopped": stopped}
    except asyncio.CancelledError:
        await asyncio.shield(_stopped(db, events, run_id))
        raise
    except ReelcutError as exc:
        await _failed(db, events, run_id, str(exc))
    except Exception as exc:  # a bug of ours, or something no one foresaw: still an end
        said = " ".join(str(exc).split())[:500]
        await _failed(db, events, run_id, f"internal error ({type(exc).__name__}: {said})")
    finally:
        if ledger is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(ledger.close())
    raise AssertionError("unreachable")


async def _failed(db: AsyncDB, events: EventStream, run_id: int, failure: str) -> None:
    await db.write(lambda c: store.set_status(c, run_id, "error", error=failure))
    events.committed()
    raise JobFailed(failure) from None


async def _legacy_settings(root: Path, run: store.Run) -> dict[str, Any]:
    """A run stored before runs kept their settings: from its workflow file as it is now."""
    wf = await asyncio.to_thread(load_workflow, root, run.workflow_path or DEFAULT_WORKFLOW)
    return run_settings(
        wf, run.model, run.thinking_level, auto_apply=run.auto_apply, max_steps=run.max_steps
    )


async def _stopped(db: AsyncDB, events: EventStream, run_id: int) -> None:
    """The job was stopped: cancelled on request, or released (the editor quits): the run is
    ``interrupted``, an orphan until someone resumes it."""

    def go(conn: Any) -> None:
        run = store.get_run(conn, run_id)
        job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
        cancelled = job is not None and bool(job.cancel_requested)
        store.set_status(conn, run_id, "cancelled" if cancelled else "interrupted")

    await db.write(go)
    events.committed()


def handlers(db: AsyncDB, events: EventStream, **kwargs: Any) -> dict[str, Handler]:
    async def handle(ctx: JobContext) -> dict[str, Any]:
        run_id = int(ctx.job.payload["run"])
        return await execute(db, events, ctx.root, run_id, **kwargs)

    return {KIND: handle}
