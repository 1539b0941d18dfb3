"""An agent run: the loop a job of kind ``agent.run`` executes.

`start_run` checks what can be checked before any request (the workflow file against its
schema, pricing.json, an API key, the step limit), stores the user's message and the run with
the exact settings it will use (the system instruction's text, not only its path), and queues its
job. The job (`handler`) drives the model: stream a step (text and thought deltas become ``run``
events as they arrive), store the finished model turn and its usage and cost, run the function
calls through the tool registry into the run's changeset (each call's outcome is a ``tools``
event and a ``tool_events`` row with the run, step and place), send the results back, and go on
until the model stops calling tools, the step limit, or a cancel. A step whose stream was cut or
stalled is retried from its start: nothing a half-finished answer said is acted on. In review
mode (the default) the run's changeset waits for review (a new one is started when the user
applies or reverts it mid-run); with ``auto_apply`` every call is its own changeset, applied at
once.

**Every run ends** in ``complete``, ``error`` or ``cancelled``, with that event on the stream,
whatever the model, the network or the project's files do: a reply that cannot be read, a
blocked prompt, a turn that ended for any reason but STOP (its function calls are never run),
a bad pricing.json or a bug of ours are the run's error, shown with the reason, and its job
fails without a retry (a retry would call the model again, unseen).

**Bounds.** One call's arguments are at most `MAX_ARGS_BYTES`, a turn's calls at most
`MAX_CALLS_PER_STEP` (the rest are answered with an error), events carry previews of large
arguments and results (`EVENT_PREVIEW`), and once what a run has stored (messages, tool calls
and their audit) passes `MAX_RUN_BYTES` its further calls are refused and it stops with an
error, so one run grows ``state.sqlite`` by at most that plus one call's record.

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
from engine.agent.pricing import Price, cost, prices
from engine.changes.ledger import Ledger
from engine.errors import ReelcutError
from engine.events import EventStream, insert_event
from engine.jobs import store as jobs_store
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.state.adb import AsyncDB
from engine.tools import REGISTRY, run_tool
from engine.tools.registry import for_model, record_refused
from engine.workflows import Workflow, list_workflows, load_workflow

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

    from engine.agent.provider import RetryPolicy, Step

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
MAX_ARGS_BYTES = 256 * 1024  # one call's arguments, as JSON
MAX_CALLS_PER_STEP = 32
MAX_RUN_BYTES = 64 * 1024 * 1024  # messages + tool calls + audit one run may store
EVENT_PREVIEW = 4 * 1024  # arguments and results in events are cut to this (whole in the audit)
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


def generation_config(settings: dict[str, Any]) -> types.GenerateContentConfig:
    from google.genai import types

    declarations = [
        types.FunctionDeclaration(
            name=t.name, description=t.description, parameters_json_schema=t.schema
        )
        for t in REGISTRY.values()
    ]
    level = settings.get("thinking_level")
    if str(settings["model"]).startswith("gemini-2.5"):
        thinking_config = types.ThinkingConfig(
            include_thoughts=True, thinking_budget=BUDGETS.get(level or "")
        )
    else:
        thinking_config = types.ThinkingConfig(
            include_thoughts=True,
            thinking_level=types.ThinkingLevel(level.upper()) if level else None,
        )
    return types.GenerateContentConfig(
        system_instruction=settings["system_instruction"],
        tools=[types.Tool(function_declarations=declarations)],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        thinking_config=thinking_config,
        temperature=settings.get("temperature"),
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


async def _emit(events: EventStream, kind: str, data: dict[str, Any]) -> None:
    await events.publish("run", kind, data)


def preview(value: Any, limit: int = EVENT_PREVIEW) -> Any:
    """``value`` when its JSON is at most ``limit`` bytes; else a stand-in that says how big it
    was and shows its start (events stay small; the audit keeps the whole)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text.encode()) <= limit:
        return value
    return {"_cut": True, "bytes": len(text.encode()), "preview": text[: limit // 2]}


class RunError(ReelcutError):
    """The run cannot go on (the model's answer, its budget); the message says why."""


class _Loop:
    """One execution of a run (a first start or a resume)."""

    def __init__(
        self,
        db: AsyncDB,
        events: EventStream,
        run: store.Run,
        ledger: Ledger,
        client: genai.Client,
        settings: dict[str, Any],
        table: dict[str, Price],
        policy: RetryPolicy,
        provider: ModuleType,
    ) -> None:
        self.db, self.events, self.run, self.ledger = db, events, run, ledger
        self.client, self.settings, self.table = client, settings, table
        self.policy, self.provider = policy, provider
        self.config = generation_config(settings)
        self.review_cs: int | None = None
        self.used = 0

    async def go(self) -> str:
        run = self.run
        changesets = await self.db.read(lambda c: store.changesets(c, run.id))
        self.review_cs = changesets[-1] if changesets and not run.auto_apply else None
        self.used = await self.db.read(lambda c: store.recorded_bytes(c, run.id))
        step = run.steps
        # A turn whose calls were made (some of them) but never answered: its worker stopped
        # mid-tool. Answer it first, from the audit where a call was already made.
        pending = await self.db.read(lambda c: store.unanswered(c, run.id, step + 1))
        if pending is not None:
            step += 1
            await self.answer(step, _calls(pending))
        while step < run.max_steps:
            step += 1
            self.check_budget()
            answer = await self.model_turn(step)
            if not answer.calls:
                return "done"
            await self.answer(step, answer.calls)
        return "step-limit"

    def check_budget(self) -> None:
        if self.used > MAX_RUN_BYTES:
            raise RunError(
                f"the run stored {self.used >> 20} MiB (at most {MAX_RUN_BYTES >> 20} MiB per "
                "run); start a new run with a narrower request"
            )

    async def model_turn(self, step: int) -> Step:
        run, events = self.run, self.events
        contents = await self.db.read(lambda c: store.contents(c, run.thread_id))

        async def delta(kind: str, text: str) -> None:
            await _emit(events, "streaming", {"run": run.id, "step": step, kind: text})

        async def retrying(attempt: int, wait: float, reason: str) -> None:
            await _emit(
                events,
                "retrying",
                {
                    "run": run.id,
                    "step": step,
                    "attempt": attempt,
                    "wait": round(wait, 3),
                    "reason": reason,
                },
            )

        async def once() -> Step:
            answer: Step = await self.provider.stream_step(
                self.client, run.model, contents, self.config, delta, stall=self.policy.stall
            )
            return answer

        answer: Step = await self.provider.with_retries(once, retrying, self.policy)
        problem = self.provider.finish_problem(answer.finish)
        spent = cost(run.model, answer.usage, self.table)
        meta = {
            "workflow": self.settings.get("workflow"),
            "finish": answer.finish,
            "model_version": answer.model_version,
        }
        # A turn that did not end with STOP: its usage counts, its words stay in the thread,
        # its function calls are recorded as not run and never executed.
        parts = answer.parts
        if problem is not None:
            parts = [p for p in parts if "function_call" not in p]

        def record(conn: Any) -> None:
            if parts:
                store.add_message(conn, run.thread_id, "model", parts, run_id=run.id, step=step)
            store.add_usage(conn, run.id, step, run.model, answer.usage, spent, meta)
            insert_event(
                conn,
                "run",
                "usage",
                {
                    "run": run.id,
                    "step": step,
                    "prompt": answer.usage.prompt,
                    "output": answer.usage.output,
                    "cached": answer.usage.cached,
                    "thoughts": answer.usage.thoughts,
                    "cost_usd": spent,
                    "finish": answer.finish,
                },
            )
            if not answer.calls or problem is not None:
                store.step_done(conn, run.id, step)

        await self.db.write(record)
        self.events.committed()
        self.used += len(json.dumps(parts))
        if problem is not None:
            for index, call in enumerate(answer.calls):
                await record_refused(
                    self.ledger,
                    call.name or "",
                    call.args,
                    f"not run: {problem}",
                    call=(run.id, step, index),
                )
            raise RunError(problem)
        return answer

    async def answer(self, step: int, calls: list[types.FunctionCall]) -> None:
        run = self.run
        responses: list[dict[str, Any]] = []
        for index, call in enumerate(calls):
            name, args = call.name or "", call.args
            done = await self.ledger.store.run_call(run.id, step, index)
            if done is not None and done["result"] is not None:
                result = done["result"]  # made before the worker stopped: not made again
            else:
                result = await self.call(step, index, name, args)
            response: dict[str, Any] = {"name": name, "response": result}
            if call.id:
                response["id"] = call.id
            responses.append({"function_response": response})

        def answered(conn: Any) -> None:
            store.add_message(conn, run.thread_id, "user", responses, run_id=run.id, step=step)
            store.step_done(conn, run.id, step)

        await self.db.write(answered)
        self.used += len(json.dumps(responses))

    async def call(self, step: int, index: int, name: str, args: Any) -> dict[str, Any]:
        run, events = self.run, self.events
        place = (run.id, step, index)
        await _emit(
            events,
            "tools",
            {"run": run.id, "step": step, "name": name, "args": preview(args), "state": "called"},
        )
        size = len(json.dumps(args, default=str).encode())
        refused: str | None = None
        if self.used > MAX_RUN_BYTES:
            refused = f"not run: the run has stored its {MAX_RUN_BYTES >> 20} MiB"
        elif index >= MAX_CALLS_PER_STEP:
            refused = (
                f"not run: at most {MAX_CALLS_PER_STEP} calls in one turn; make the rest in "
                "the next turn"
            )
        elif size > MAX_ARGS_BYTES:
            refused = (
                f"arguments of {size} bytes; at most {MAX_ARGS_BYTES} per call: split the "
                "change into smaller calls"
            )
        if refused is not None:
            kept = preview(args) if size > MAX_ARGS_BYTES else args
            outcome = await record_refused(self.ledger, name, kept, refused, call=place)
        else:
            if self.review_cs is not None:
                # Applied, reverted or failed since (the user acted on it mid-run): the rest of
                # the run proposes into a new changeset.
                cs = await self.ledger.store.get(self.review_cs)
                if cs is None or cs.status not in ("pending", "ready"):
                    self.review_cs = None
            outcome = await run_tool(
                self.ledger,
                name,
                args,
                changeset_id=self.review_cs,
                apply=run.auto_apply,
                author="agent",
                reason=f"run {run.id}",
                call=place,
            )
        cs_id: int | None = outcome.get("changeset")
        if cs_id is not None and await self.ledger.store.get(cs_id) is not None:
            await self.db.write(lambda c: store.add_changeset(c, run_id=run.id, changeset_id=cs_id))
            if not run.auto_apply and outcome.get("ok"):
                self.review_cs = cs_id
        result = for_model(outcome)
        audit = outcome.get("audit") or {}
        self.used += size + len(json.dumps(result)) + len(json.dumps(audit))
        meta = audit.get("meta") or {}
        await _emit(
            events,
            "tools",
            {
                "run": run.id,
                "step": step,
                "name": name,
                "state": "done" if outcome.get("ok") else "failed",
                "result": preview(result),
                "changeset": cs_id,
                # a timeline tool's op and its readable summary (for review and replay)
                "op": meta.get("op"),
                "summary": meta.get("summary"),
            },
        )
        return result


def _calls(parts: list[dict[str, Any]]) -> list[types.FunctionCall]:
    from google.genai import types

    return [
        types.FunctionCall.model_validate(p["function_call"]) for p in parts if "function_call" in p
    ]


async def execute(
    db: AsyncDB,
    events: EventStream,
    root: Path,
    run_id: int,
    *,
    client_factory: Callable[[], genai.Client] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    run = await db.read(lambda c: store.get_run(c, run_id))
    if run.status in store.TERMINAL:
        return {"run": run_id, "status": run.status}
    if run.status in ("running", "interrupted"):
        await _emit(events, "interrupted", {"run": run_id, "resumed_at_step": run.steps + 1})
    ledger: Ledger | None = None
    try:
        provider = await _provider()
        settings = run.settings or await _legacy_settings(root, run)
        client = (client_factory or provider.make_client)()
        table = await asyncio.to_thread(prices, root)
        await db.write(lambda c: store.set_status(c, run_id, "running"))
        events.committed()
        ledger = await Ledger.open(root)
        loop = _Loop(
            db,
            events,
            run,
            ledger,
            client,
            settings,
            table,
            policy or provider.DEFAULT_POLICY,
            provider,
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
