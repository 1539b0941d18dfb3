"""Agent runs that always end (issue 17), through the real google-genai SDK against the fake
Gemini server: whatever the model sends (wrong types, bad JSON, any finish reason, a blocked
prompt, a stalled stream, huge arguments, unknown tools) the run ends with its event, its job
is not retried behind the user's back, nothing on disk changes, and the event loop stays free.
Also: calls of a turn that did not end with STOP are never run, a changeset applied mid-run
does not break the rest of it, a run resumed mid-tool answers every call once, orphans are
resumed only on purpose, every call is in the audit with its run, and runs keep their settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.agent import loop, store
from engine.agent import run as agent_run
from engine.agent.orphans import cancel_run, orphaned, take_over
from engine.changes.ledger import Ledger
from engine.jobs import store as jobs_store
from engine.tools import run_tool
from tests.engine import test_agent
from tests.engine.test_agent import FAST, Harness, go
from tests.fakes.gemini import (
    Error,
    FakeGemini,
    Json,
    Raw,
    Stream,
    call,
    chunk,
    text,
    usage_metadata,
)

FINISH_REASONS = [
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "FINISH_REASON_UNSPECIFIED",
    "SOMETHING_NEW",
]


fake = test_agent.fake  # the fake Gemini server with the key and base URL set, as there


def disk(root: Path) -> dict[str, str]:
    """Every project file but reelcut's own state, by content."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".reelcut" not in p.relative_to(root).parts
    }


class Ticker:
    """The longest the event loop went without running this task: the editor draws on the
    same loop, so a long gap is a frozen editor."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now

    def __enter__(self) -> Ticker:
        self._task = asyncio.ensure_future(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def last_event(h: Harness, run_id: int, kind: str) -> None:
    """The run's last event is ``kind`` (delivered a moment after its commit)."""
    for _ in range(100):
        if h.kinds(run_id)[-1:] == [kind]:
            return
        await asyncio.sleep(0.05)
    assert h.kinds(run_id)[-1:] == [kind]


async def ended(h: Harness, message: str, **kw: Any) -> store.Run:
    """Start a run, let it end, and check what every run's end must show."""
    run = await h.start(message, **kw)
    await h.runner.start()
    with Ticker() as ticker:
        done = await h.finish(run.id)
    assert done.status in store.TERMINAL
    await last_event(h, run.id, done.status)
    await h.runner.wait_idle(timeout=10)
    job = await h.db.read(lambda c: jobs_store.get(c, done.job_id))
    assert job is not None and job.status in jobs_store.FINISHED  # never left queued or retried
    assert job.attempts == 1
    assert ticker.longest < 1.0
    return done


# -- malformed model output ------------------------------------------------------------------


def test_function_call_args_that_are_not_an_object_end_the_run(
    demo_dir: Path, fake: FakeGemini
) -> None:
    before = disk(demo_dir)
    fake.queue(Stream([chunk({"functionCall": {"name": "file_list", "args": [1, 2]}})]))

    async def scenario(h: Harness) -> None:
        done = await ended(h, "list")
        assert done.status == "error"
        assert "reply could not be read" in (done.error or "")
        assert len(fake.requests) == 1  # not retried as a crashed worker

    go(demo_dir, scenario)
    assert disk(demo_dir) == before


def test_invalid_json_inside_the_stream_ends_the_run(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(Stream([chunk(text("Hello")), Raw("{not json")]))

    async def scenario(h: Harness) -> None:
        done = await ended(h, "hello")
        assert done.status == "error" and "could not be read" in (done.error or "")
        assert len(fake.requests) == 1

    go(demo_dir, scenario)


@pytest.mark.parametrize("finish", FINISH_REASONS)
def test_a_turn_not_finished_with_stop_ends_the_run_and_runs_none_of_its_calls(
    demo_dir: Path, fake: FakeGemini, finish: str
) -> None:
    before = disk(demo_dir)
    fake.queue(
        Stream(
            [
                chunk(text("Doing it.")),
                chunk(call("file_create", {"path": "scripts/x.md", "text": "x\n"})),
            ],
            finish=finish,
            usage=usage_metadata(100, 5),
        )
    )

    async def scenario(h: Harness) -> None:
        done = await ended(h, "make x", auto_apply=True)
        assert done.status == "error"
        assert f"finish reason {finish}" in (done.error or "")
        assert h.of(done.id, "tools") == []  # never executed
        assert await h.db.read(lambda c: store.changesets(c, done.id)) == []
        # Billed, so counted; the call is on record as not run.
        _, _, calls = await h.db.read(lambda c: store.run_usage(c, done.id))
        assert calls == 1
        ledger = await Ledger.open(demo_dir, reconcile=False)
        try:
            audit = await ledger.store.run_tool_events(done.id)
        finally:
            await ledger.close()
        assert [(a["tool"], a["ok"], a["step"]) for a in audit] == [("file_create", False, 1)]
        assert "not run" in (audit[0]["error"] or "")
        # The thread stays sendable: no dangling function call in what comes next.
        contents = await h.db.read(lambda c: store.contents(c, done.thread_id))
        assert not any("function_call" in p for c in contents for p in c["parts"])

    go(demo_dir, scenario)
    assert disk(demo_dir) == before


def test_a_blocked_prompt_is_the_runs_error_and_is_not_retried(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(
        Json({"promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": "unsafe"}}),
    )

    async def scenario(h: Harness) -> None:
        done = await ended(h, "something")
        assert done.status == "error"
        assert "blocked the prompt (SAFETY: unsafe)" in (done.error or "")
        assert len(fake.requests) == 1 and h.of(done.id, "retrying") == []

    go(demo_dir, scenario)


def test_a_stalled_stream_times_out_and_is_retried_visibly(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(
        Stream([chunk(text("Part ")), chunk(text("never"))], stall=(1, 3.0)),
        Stream([chunk(text("Whole answer."))]),
    )

    async def scenario(h: Harness) -> None:
        h.runner = h.make_runner(policy=dataclasses.replace(FAST, stall=0.5))
        done = await ended(h, "hello")
        assert done.status == "complete"
        retries = h.of(done.id, "retrying")
        assert len(retries) == 1 and "stalled" in retries[0]["reason"]
        messages = await h.db.read(lambda c: store.messages(c, done.thread_id))
        assert messages[-1]["parts"] == [{"text": "Whole answer."}]

    go(demo_dir, scenario)


def test_a_broken_pricing_json_refuses_the_run_before_anything_is_sent(
    demo_dir: Path, fake: FakeGemini
) -> None:
    async def scenario(h: Harness) -> None:
        (demo_dir / "pricing.json").write_text('{"gemini-2.5-flash": {"input": "free"}}')
        with pytest.raises(Exception, match=r"pricing\.json"):
            await h.start("hello")
        assert await h.db.read(store.runs) == [] and fake.requests == []

    go(demo_dir, scenario)


def test_pricing_json_broken_after_the_start_ends_the_run_with_an_error(
    demo_dir: Path, fake: FakeGemini
) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.start("hello")
        (demo_dir / "pricing.json").write_text("{broken")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "error" and "pricing.json" in (done.error or "")
        await last_event(h, run.id, "error")
        await h.runner.wait_idle(timeout=10)
        job = await h.db.read(lambda c: jobs_store.get(c, done.job_id))
        assert job is not None and job.status == "failed" and job.attempts == 1

    go(demo_dir, scenario)


def test_an_internal_error_still_ends_the_run(
    demo_dir: Path, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any exception (a bug of ours) ends the run with an error event; the job is not retried."""
    fake.queue(Stream([chunk(call("file_list", {}))]))

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(loop, "run_tool", boom)

    async def scenario(h: Harness) -> None:
        done = await ended(h, "list")
        assert done.status == "error" and "internal error (KeyError" in (done.error or "")

    go(demo_dir, scenario)


# -- the table: any malformed output ends the run --------------------------------------------

REPLIES = st.one_of(
    st.sampled_from(FINISH_REASONS).map(
        lambda f: Stream(
            [chunk(call("file_create", {"path": "scripts/h.md", "text": "h"}))], finish=f
        )
    ),
    st.sampled_from(
        [
            Raw("{"),
            Raw("[]"),
            Raw('{"candidates": 7}'),
            Raw('{"candidates": [{"content": {"parts": [{"functionCall": {"args": "x"}}]}}]}'),
            Raw('{"candidates": [{"content": {"parts": "nope"}}]}'),
            Raw('{"usageMetadata": {"promptTokenCount": "many"}}'),
            Raw("null"),
        ]
    ).map(lambda r: Stream([chunk(text("a")), r])),
    st.integers(min_value=0, max_value=3).map(
        lambda n: Stream([chunk(text(f"w{i} ")) for i in range(4)], cut_after=n)
    ),
    st.just(Json({"promptFeedback": {"blockReason": "OTHER"}})),
    st.just(Json({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})),
    st.integers(min_value=400, max_value=404).map(lambda s: Error(s, "bad")),
    st.just(
        Stream([chunk(call("file_create", {"path": "scripts/big.md", "text": "y" * (300 * 1024)}))])
    ),
    st.just(Stream([chunk(call("no_such_tool", {"a": 1}))])),
    st.just(Stream([chunk(call("file_create", {"path": 5}))])),
    st.just(Stream([chunk({"functionCall": {"args": {"x": 1}}})])),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=REPLIES)
def test_any_malformed_model_output_ends_the_run_with_an_event(
    demo_dir: Path, fake: FakeGemini, first: Any
) -> None:
    """Whatever the first reply is, the run ends (a second reply is there for a run that goes
    on, and fillers for retries), with its event, its job finished after one attempt, no file
    changed (review mode), and the loop never blocked."""
    before = disk(demo_dir)
    with fake._lock:
        fake._replies.clear()
        fake.requests.clear()
    fake.queue(first, *[Stream([chunk(text("Done."))]) for _ in range(4)])

    async def scenario(h: Harness) -> None:
        await ended(h, "do something")

    go(demo_dir, scenario)
    assert disk(demo_dir) == before


# -- bounds ------------------------------------------------------------------------------------


def test_a_huge_argument_is_refused_and_events_carry_only_a_preview(
    demo_dir: Path, fake: FakeGemini
) -> None:
    huge = "z" * (5 * 1024 * 1024)
    fake.queue(
        Stream([chunk(call("file_create", {"path": "scripts/huge.md", "text": huge}))]),
        Stream([chunk(text("Understood."))]),
    )

    async def scenario(h: Harness) -> None:
        done = await ended(h, "write a big file")
        assert done.status == "complete"
        for data in h.of(done.id, "tools"):
            assert len(json.dumps(data)) < 2 * loop.EVENT_PREVIEW
        failed = [d for d in h.of(done.id, "tools") if d["state"] == "failed"]
        assert len(failed) == 1 and "at most" in failed[0]["result"]["error"]
        rows = await h.db.read(
            lambda c: c.execute("SELECT max(length(data)) FROM events").fetchone()[0]
        )
        assert rows < 64 * 1024
        ledger = await Ledger.open(demo_dir, reconcile=False)
        try:
            audit = await ledger.store.run_tool_events(done.id)
        finally:
            await ledger.close()
        assert len(json.dumps(audit)) < 64 * 1024  # the audit keeps a preview, not 5 MB

    go(demo_dir, scenario)


def test_too_many_calls_in_one_turn_are_answered_with_an_error(
    demo_dir: Path, fake: FakeGemini
) -> None:
    n = loop.MAX_CALLS_PER_STEP + 3
    fake.queue(
        Stream([chunk(*[call("file_list", {"under": "scripts"}) for _ in range(n)])]),
        Stream([chunk(text("ok"))]),
    )

    async def scenario(h: Harness) -> None:
        done = await ended(h, "list a lot")
        assert done.status == "complete"
        answers = fake.requests[1].body["contents"][-1]["parts"]
        assert len(answers) == n
        refused = [a for a in answers if not a["functionResponse"]["response"]["ok"]]
        assert len(refused) == 3

    go(demo_dir, scenario)


def test_a_run_stops_at_its_storage_budget(
    demo_dir: Path, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "MAX_RUN_BYTES", 20_000)
    read = call("file_read_slices", {"path": "project.json"})
    fake.queue(*[Stream([chunk(read)]) for _ in range(12)])

    async def scenario(h: Harness) -> None:
        done = await ended(h, "read and read")
        assert done.status == "error" and "MiB per run" in (done.error or "")
        assert len(fake.requests) < 12

    go(demo_dir, scenario)


@pytest.mark.parametrize("steps", [0, -1, agent_run.MAX_STEPS_LIMIT + 1])
def test_the_step_limit_is_validated(demo_dir: Path, fake: FakeGemini, steps: int) -> None:
    async def scenario(h: Harness) -> None:
        with pytest.raises(agent_run.RunRefused, match="max steps"):
            await h.start("hello", max_steps=steps)

    go(demo_dir, scenario)


# -- the audit, settings, usage ----------------------------------------------------------------


def test_every_call_is_in_the_audit_with_its_run_unknown_and_invalid_ones_too(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(
        Stream(
            [
                chunk(
                    call("no_such_tool", {"a": 1}),
                    call("file_create", {"path": 5}),
                    call("file_list", {"under": "scripts"}),
                )
            ]
        ),
        Stream([chunk(text("ok"))]),
    )

    async def scenario(h: Harness) -> None:
        done = await ended(h, "try things")
        ledger = await Ledger.open(demo_dir, reconcile=False)
        try:
            audit = await ledger.store.run_tool_events(done.id)
        finally:
            await ledger.close()
        assert [(a["tool"], a["ok"], a["run"], a["step"], a["call_index"]) for a in audit] == [
            ("no_such_tool", False, done.id, 1, 0),
            ("file_create", False, done.id, 1, 1),
            ("file_list", True, done.id, 1, 2),
        ]
        assert "no tool 'no_such_tool'" in audit[0]["error"]
        assert all(a["result"] is not None for a in audit)

    go(demo_dir, scenario)


def test_a_run_keeps_its_prompt_text_and_settings_and_resumes_with_them(
    demo_dir: Path, fake: FakeGemini
) -> None:
    workflow = demo_dir / "scripts" / "workflows" / "editor.json"
    original = json.loads(workflow.read_text())["system_instruction"]
    fake.queue(
        Stream([chunk(call("file_list", {}))]),
        Stream([chunk(text(f"slow {i} ")) for i in range(100)], delay=0.05),
        Stream([chunk(text("done"))]),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("list, then talk", thinking="low")
        assert run.settings["system_instruction"] == original
        assert run.settings["thinking_level"] == "low" and run.settings["max_steps"] == 12
        assert run.settings["workflow"]["path"] == "scripts/workflows/editor.json"
        await h.runner.start()
        await h.until(run.id, lambda r: r.steps >= 1)
        for _ in range(200):
            if any(d["step"] == 2 for d in h.of(run.id, "streaming")):
                break
            await asyncio.sleep(0.02)
        await h.runner.stop()
        doc = json.loads(workflow.read_text())
        doc["system_instruction"] = "Changed meanwhile."
        workflow.write_text(json.dumps(doc))
        h.runner = h.make_runner()
        await h.runner.start()
        _, job_id, _ = await h.db.write(lambda c: take_over(c, run.id))
        assert job_id is not None
        h.runner.adopt(job_id)
        done = await h.finish(run.id)
        assert done.status == "complete"
        system = fake.requests[-1].body["systemInstruction"]["parts"][0]["text"]
        assert system == original

    go(demo_dir, scenario)


def test_a_run_with_no_model_call_costs_nothing_not_unknown(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(Error(403, "API key not valid. Please pass a valid API key."))

    async def scenario(h: Harness) -> None:
        done = await ended(h, "hello")
        _, total, calls = await h.db.read(lambda c: store.run_usage(c, done.id))
        assert calls == 0 and total == 0.0
        _, thread_total, _ = await h.db.read(lambda c: store.thread_usage(c, done.thread_id))
        assert thread_total == 0.0

    go(demo_dir, scenario)


# -- runs and changesets acted on meanwhile ----------------------------------------------------


def test_applying_the_changeset_mid_run_does_not_break_the_rest_of_it(
    demo_dir: Path, fake: FakeGemini
) -> None:
    fake.queue(
        Stream([chunk(call("file_create", {"path": "scripts/a.md", "text": "a\n"}))]),
        Stream(
            [chunk(text(f"w{i} ")) for i in range(20)]
            + [chunk(call("file_create", {"path": "scripts/b.md", "text": "b\n"}))],
            delay=0.05,
        ),
        Stream([chunk(text("Both."))]),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("two files")
        await h.runner.start()
        await h.until(run.id, lambda r: r.steps >= 1)
        first = (await h.db.read(lambda c: store.changesets(c, run.id)))[0]
        ledger = await Ledger.open(demo_dir)
        try:
            await ledger.apply(first)
        finally:
            await ledger.close()
        done = await h.finish(run.id)
        assert done.status == "complete"
        changesets = await h.db.read(lambda c: store.changesets(c, run.id))
        assert len(changesets) == 2 and changesets[0] == first
        results = [d for d in h.of(run.id, "tools") if d["state"] != "called"]
        assert all(d["state"] == "done" for d in results), results
        assert (demo_dir / "scripts" / "a.md").read_text() == "a\n"
        assert not (demo_dir / "scripts" / "b.md").exists()  # waits for review, in the new one

    go(demo_dir, scenario)


def test_a_run_resumed_mid_tool_answers_every_call_once(demo_dir: Path, fake: FakeGemini) -> None:
    """The worker died after the model's turn of two calls and the first call: the resumed run
    answers both (the first from the audit, not made again) instead of a dangling call."""
    fake.queue(Stream([chunk(text("Both made."))]))
    calls = [
        {"function_call": {"name": "file_create", "args": {"path": "scripts/a.md", "text": "a"}}},
        {"function_call": {"name": "file_create", "args": {"path": "scripts/b.md", "text": "b"}}},
    ]

    async def scenario(h: Harness) -> None:
        run = await h.start("two files")  # not started: the runner below is another process's

        def died_mid_tool(conn: Any) -> None:
            store.add_message(conn, run.thread_id, "model", calls, run_id=run.id, step=1)
            store.set_status(conn, run.id, "running")

        await h.db.write(died_mid_tool)
        ledger = await Ledger.open(demo_dir)
        try:
            made = await run_tool(
                ledger,
                "file_create",
                {"path": "scripts/a.md", "text": "a"},
                author="agent",
                call=(run.id, 1, 0),
            )
            await h.db.write(
                lambda c: store.add_changeset(c, run_id=run.id, changeset_id=made["changeset"])
            )
        finally:
            await ledger.close()
        assert await h.db.read(lambda c: orphaned(c, store.get_run(c, run.id))) is True
        _, job_id, _ = await h.db.write(lambda c: take_over(c, run.id))
        assert job_id is not None
        await h.runner.start()
        h.runner.adopt(job_id)
        done = await h.finish(run.id)
        assert done.status == "complete", done.error
        sent = fake.requests[0].body["contents"]
        assert [c["role"] for c in sent] == ["user", "model", "user"]
        answers = [p["functionResponse"] for p in sent[2]["parts"]]
        assert [a["name"] for a in answers] == ["file_create", "file_create"]
        assert all(a["response"]["ok"] for a in answers), answers
        ledger = await Ledger.open(demo_dir, reconcile=False)
        try:
            audit = await ledger.store.run_tool_events(run.id)
            files = await ledger.store.files(made["changeset"])
        finally:
            await ledger.close()
        assert [(a["step"], a["call_index"]) for a in audit] == [(1, 0), (1, 1)]
        assert sorted(f.path for f in files) == ["scripts/a.md", "scripts/b.md"]

    go(demo_dir, scenario)


def test_cancelling_an_orphaned_run_ends_it(demo_dir: Path, fake: FakeGemini) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.start("hello")

        def killed(conn: Any) -> None:
            # claimed by a worker whose process no longer exists, lease still running
            jobs_store.claim(conn, [agent_run.KIND], "somehost-gone:999999999:abc", 1, 600)
            store.set_status(conn, run.id, "running")

        await h.db.write(killed)
        assert await h.db.read(lambda c: orphaned(c, store.get_run(c, run.id))) is False
        await h.db.write(
            lambda c: c.execute(
                "UPDATE jobs SET worker = ? WHERE id = ?",
                (f"{__import__('socket').gethostname()}:999999999:abc", run.job_id),
            )
        )
        assert await h.db.read(lambda c: orphaned(c, store.get_run(c, run.id))) is True
        done = await cancel_run(h.db, h.events, run.id)
        assert done.status == "cancelled"
        for _ in range(100):
            if "cancelled" in h.kinds(run.id):
                break
            await asyncio.sleep(0.05)
        assert "cancelled" in h.kinds(run.id)

    go(demo_dir, scenario)
