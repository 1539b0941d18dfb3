"""One execution of an agent run: the step loop a run's job drives (`engine.agent.run` starts it
and ends the run, whatever it raises).

Each step streams the model's turn (text and thought deltas become ``run`` events as they
arrive), stores the finished model turn and its usage and cost, runs the function calls through
the tool registry into the run's changeset (each call's outcome is a ``tools`` event and a
``tool_events`` row with the run, step and place), sends the results back, and goes on until the
model stops calling tools or the step limit. A step whose stream was cut or stalled is retried
from its start: nothing a half-finished answer said is acted on. A turn that ended for any reason
but STOP is a `RunError` (its function calls are recorded as not run and never executed). In
review mode (the default) the run's changeset waits for review (a new one is started when the
user applies or reverts it mid-run); with ``auto_apply`` every call is its own changeset,
applied at once.

**Bounds.** One call's arguments are at most `MAX_ARGS_BYTES`, a turn's calls at most
`MAX_CALLS_PER_STEP` (the rest are answered with an error), events carry previews of large
arguments and results (`EVENT_PREVIEW`), and once what a run has stored (messages, tool calls
and their audit) passes `MAX_RUN_BYTES` its further calls are refused and it stops with an
error, so one run grows ``state.sqlite`` by at most that plus one call's record.

A resumed run first answers the calls of a turn its worker left half-done, from the audit (calls
already made are not made again), and goes on from the last finished step.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import TYPE_CHECKING, Any

from engine.agent import store
from engine.agent.pricing import Price, cost
from engine.changes.ledger import Ledger
from engine.errors import ReelcutError
from engine.events import EventStream, insert_event
from engine.state.adb import AsyncDB
from engine.tools import REGISTRY, run_tool
from engine.tools.registry import Door, for_model, record_refused

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

    from engine.agent.provider import RetryPolicy, Step

MAX_ARGS_BYTES = 256 * 1024  # one call's arguments, as JSON
MAX_CALLS_PER_STEP = 32
MAX_RUN_BYTES = 64 * 1024 * 1024  # messages + tool calls + audit one run may store
EVENT_PREVIEW = 4 * 1024  # arguments and results in events are cut to this (whole in the audit)
# For 2.5 models, which take a token budget rather than a level.
BUDGETS = {"minimal": 512, "low": 2048, "medium": 8192, "high": 24576}


class RunError(ReelcutError):
    """The run cannot go on (the model's answer, its budget); the message says why."""


def generation_config(settings: dict[str, Any]) -> types.GenerateContentConfig:
    """What every step of a run sends with its contents, from the settings the run stored:
    the workflow's prompt, every tool, and thinking as the model family takes it."""
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


async def emit(events: EventStream, kind: str, data: dict[str, Any]) -> None:
    """Publish a ``run`` event (deltas, tool progress, retries) as it happens."""
    await events.publish("run", kind, data)


def preview(value: Any, limit: int = EVENT_PREVIEW) -> Any:
    """``value`` when its JSON is at most ``limit`` bytes; else a stand-in that says how big it
    was and shows its start (events stay small; the audit keeps the whole)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text.encode()) <= limit:
        return value
    return {"_cut": True, "bytes": len(text.encode()), "preview": text[: limit // 2]}


class RunLoop:
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
        door: Door | None = None,
    ) -> None:
        self.db, self.events, self.run, self.ledger = db, events, run, ledger
        self.door = door  # the holder's door: the job tools start and wait for jobs through it
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
            await emit(events, "streaming", {"run": run.id, "step": step, kind: text})

        async def retrying(attempt: int, wait: float, reason: str) -> None:
            await emit(
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
        await emit(
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
                door=self.door,
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
        await emit(
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
                # the jobs a job tool started: the chat follows their progress on the stream
                "jobs": meta.get("started"),
            },
        )
        return result


def _calls(parts: list[dict[str, Any]]) -> list[types.FunctionCall]:
    from google.genai import types

    return [
        types.FunctionCall.model_validate(p["function_call"]) for p in parts if "function_call" in p
    ]
