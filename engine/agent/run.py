"""An agent run: the loop a job of kind ``agent.run`` executes.

`start_run` checks what can be checked before any request (the workflow file against its
schema, an API key), stores the user's message and the run, and queues its job. The job
(`handler`) drives the model: stream a step (text and thought deltas become ``run`` events as
they arrive), store the finished model turn and its usage and cost, run the function calls
through the tool registry into the run's changeset (each call's outcome is a ``tools`` event),
send the results back, and go on until the model stops calling tools, the step limit, or a
cancel. A step whose stream was cut is retried from its start: nothing a half-finished answer
said is acted on. In review mode (the default) the run's one changeset waits for review; with
``auto_apply`` every call is its own changeset, applied at once.

A run survives a restart: its messages are stored step by step, so a job re-claimed after a
crash (or an editor that quit mid-run) finds the run ``running`` or ``interrupted``, says so
with an ``interrupted`` event, and resumes from the last finished step.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from engine.agent import store
from engine.agent.pricing import cost, prices
from engine.changes.ledger import Ledger
from engine.errors import ReelcutError
from engine.events import EventStream, insert_event
from engine.jobs import store as jobs_store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.state.adb import AsyncDB
from engine.tools import REGISTRY, run_tool
from engine.workflows import Workflow, list_workflows, load_workflow

if TYPE_CHECKING:
    from google import genai

    from engine.agent.provider import RetryPolicy, Step

KIND = "agent.run"
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
# For 2.5 models, which take a token budget rather than a level.
BUDGETS = {"minimal": 512, "low": 2048, "medium": 8192, "high": 24576}


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


def generation_config(workflow: Workflow, model: str, thinking: str | None) -> Any:
    from google.genai import types

    declarations = [
        types.FunctionDeclaration(
            name=t.name, description=t.description, parameters_json_schema=t.schema
        )
        for t in REGISTRY.values()
    ]
    level = thinking or workflow.thinking_level
    if model.startswith("gemini-2.5"):
        thinking_config = types.ThinkingConfig(
            include_thoughts=True, thinking_budget=BUDGETS.get(level or "")
        )
    else:
        thinking_config = types.ThinkingConfig(
            include_thoughts=True,
            thinking_level=types.ThinkingLevel(level.upper()) if level else None,
        )
    return types.GenerateContentConfig(
        system_instruction=workflow.system_instruction,
        tools=[types.Tool(function_declarations=declarations)],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        thinking_config=thinking_config,
        temperature=workflow.temperature,
    )


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
    enqueue: Callable[..., Any] | None = None,
) -> store.Run:
    """Check, store and queue a run; raise before anything is stored or sent when the workflow
    is malformed or there is no key."""
    if not message.strip():
        raise RunRefused("an empty message: say what the agent should do")
    rel = pick_workflow(root, workflow)
    wf = await asyncio.to_thread(load_workflow, root, rel)
    (await _provider()).make_client()  # a missing key fails here, before the run exists
    chosen = model or wf.model or DEFAULT_MODEL
    if thinking is not None and thinking not in THINKING_LEVELS:
        raise RunRefused(f"thinking level {thinking!r}: one of {', '.join(THINKING_LEVELS)}")

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
        )
        store.add_message(conn, thread_id, "user", [{"text": message}], run_id=run_id, step=0)
        job, _ = jobs_store.enqueue(conn, KIND, {"run": run_id}, max_attempts=3)
        store.set_job(conn, run_id, job.id)
        insert_event(conn, "run", "pending", {"run": run_id, "thread": thread_id})
        return run_id, job.id

    run_id, _ = await db.write(create)
    events.committed()
    return await db.read(lambda c: store.get_run(c, run_id))


async def _emit(events: EventStream, kind: str, data: dict[str, Any]) -> None:
    await events.publish("run", kind, data)


def _result_for_model(outcome: dict[str, Any]) -> dict[str, Any]:
    """What the model gets back from a tool call (not the audit's full before/after texts)."""
    if not outcome.get("ok"):
        return {"ok": False, "error": outcome.get("error")}
    return {
        "ok": True,
        "result": outcome.get("result"),
        "changeset": outcome.get("changeset"),
        "applied": outcome.get("applied", False),
    }


async def execute(
    db: AsyncDB,
    events: EventStream,
    root: Path,
    run_id: int,
    *,
    client_factory: Callable[[], genai.Client] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    provider = await _provider()
    stream_step, with_retries = provider.stream_step, provider.with_retries
    client_factory = client_factory or provider.make_client
    policy = policy or provider.DEFAULT_POLICY
    run = await db.read(lambda c: store.get_run(c, run_id))
    if run.status in store.TERMINAL:
        return {"run": run_id, "status": run.status}
    if run.status in ("running", "interrupted"):
        await _emit(events, "interrupted", {"run": run_id, "resumed_at_step": run.steps + 1})
    try:
        wf = await asyncio.to_thread(load_workflow, root, run.workflow_path or DEFAULT_WORKFLOW)
        client = client_factory()
    except ReelcutError as exc:
        failure = str(exc)
        await db.write(lambda c: store.set_status(c, run_id, "error", error=failure))
        events.committed()
        raise JobFailed(failure) from None
    await db.write(lambda c: store.set_status(c, run_id, "running"))
    events.committed()
    config = generation_config(wf, run.model, run.thinking_level)
    table = await asyncio.to_thread(prices, root)
    ledger = await Ledger.open(root)
    changesets = await db.read(lambda c: store.changesets(c, run_id))
    review_cs = changesets[-1] if changesets and not run.auto_apply else None
    step = run.steps
    try:
        stopped = "step-limit"
        while step < run.max_steps:
            step += 1
            contents = await db.read(lambda c: store.contents(c, run.thread_id))

            async def delta(kind: str, text: str, step: int = step) -> None:
                await _emit(events, "streaming", {"run": run_id, "step": step, kind: text})

            async def retrying(attempt: int, wait: float, reason: str, step: int = step) -> None:
                await _emit(
                    events,
                    "retrying",
                    {
                        "run": run_id,
                        "step": step,
                        "attempt": attempt,
                        "wait": round(wait, 3),
                        "reason": reason,
                    },
                )

            async def once(contents: list[dict[str, Any]] = contents) -> Step:
                step: Step = await stream_step(client, run.model, contents, config, delta)
                return step

            answer = await with_retries(once, retrying, policy)
            spent = cost(run.model, answer.usage, table)
            meta = {
                "workflow": {"path": wf.path, "name": wf.name, "sha256": wf.sha256},
                "finish": answer.finish,
                "model_version": answer.model_version,
            }

            def record(
                conn: Any,
                answer: Step = answer,
                step: int = step,
                spent: float | None = spent,
                meta: dict[str, Any] = meta,
            ) -> None:
                store.add_message(
                    conn, run.thread_id, "model", answer.parts, run_id=run_id, step=step
                )
                store.add_usage(conn, run_id, step, run.model, answer.usage, spent, meta)
                insert_event(
                    conn,
                    "run",
                    "usage",
                    {
                        "run": run_id,
                        "step": step,
                        "prompt": answer.usage.prompt,
                        "output": answer.usage.output,
                        "cached": answer.usage.cached,
                        "thoughts": answer.usage.thoughts,
                        "cost_usd": spent,
                    },
                )
                if not answer.calls:
                    store.step_done(conn, run_id, step)

            await db.write(record)
            events.committed()
            if not answer.calls:
                stopped = "done"
                break
            responses: list[dict[str, Any]] = []
            for call in answer.calls:
                name, args = call.name or "", dict(call.args or {})
                await _emit(
                    events,
                    "tools",
                    {"run": run_id, "step": step, "name": name, "args": args, "state": "called"},
                )
                outcome: dict[str, Any] = {"ok": False, "error": f"no tool {name!r}"}
                if name in REGISTRY:
                    outcome = await run_tool(
                        ledger,
                        name,
                        args,
                        changeset_id=review_cs,
                        apply=run.auto_apply,
                        author="agent",
                        reason=f"run {run_id}",
                    )
                cs: int | None = outcome.get("changeset")
                if cs is not None:
                    await db.write(
                        functools.partial(store.add_changeset, run_id=run_id, changeset_id=cs)
                    )
                    if not run.auto_apply:
                        review_cs = cs
                result = _result_for_model(outcome)
                audit_meta = (outcome.get("audit") or {}).get("meta") or {}
                await _emit(
                    events,
                    "tools",
                    {
                        "run": run_id,
                        "step": step,
                        "name": name,
                        "state": "done" if outcome.get("ok") else "failed",
                        "result": result,
                        "changeset": cs,
                        # a timeline tool's op and its readable summary (for review and replay)
                        "op": audit_meta.get("op"),
                        "summary": audit_meta.get("summary"),
                    },
                )
                response: dict[str, Any] = {"name": name, "response": result}
                if call.id:
                    response["id"] = call.id
                responses.append({"function_response": response})

            def answered(
                conn: Any, step: int = step, responses: list[dict[str, Any]] = responses
            ) -> None:
                store.add_message(conn, run.thread_id, "user", responses, run_id=run_id, step=step)
                store.step_done(conn, run_id, step)

            await db.write(answered)
        await db.write(lambda c: store.set_status(c, run_id, "complete", stopped=stopped))
        events.committed()
        return {"run": run_id, "status": "complete", "stopped": stopped}
    except asyncio.CancelledError:
        await asyncio.shield(_stopped(db, events, run_id))
        raise
    except ReelcutError as exc:
        failure = str(exc)
        await db.write(lambda c: store.set_status(c, run_id, "error", error=failure))
        events.committed()
        raise JobFailed(failure) from None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(ledger.close())


async def _stopped(db: AsyncDB, events: EventStream, run_id: int) -> None:
    """The job was stopped: cancelled on request, or released (the editor quits) to resume."""

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
