"""Agent runs through the real google-genai SDK against the fake Gemini server on 127.0.0.1:
a multi-turn run that edits two files and the timeline into one changeset left for review,
thoughts, usage and cost, retries (429 then success, 503 beyond the budget, a stream cut
mid-answer), fail-fast errors (403, no key, a malformed workflow), cancellation mid-stream,
auto-apply, and a run resumed after its worker stopped."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from engine.agent import store
from engine.agent.orphans import orphaned, take_over
from engine.agent.pricing import Usage, cost
from engine.agent.provider import AgentConfigError, RetryPolicy
from engine.agent.run import KIND, handlers, start_run
from engine.changes.ledger import Ledger
from engine.events import Event, EventStream
from engine.jobs import Runner
from engine.state.adb import AsyncDB
from engine.workflows import InvalidWorkflow
from tests.fakes.gemini import Error, FakeGemini, Stream, call, chunk, text, thought, usage_metadata

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05, retry_after_cap=0.5)
MODEL = "gemini-2.5-flash"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeGemini() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        yield server


class Harness:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: list[Event] = []

    async def __aenter__(self) -> Harness:
        self.db = await AsyncDB.open(self.root / ".reelcut")
        self.events = EventStream(self.db)
        await self.events.start()
        self.unlisten = self.events.listen(self.seen.append)
        self.runner = self.make_runner()
        return self

    def make_runner(self, policy: RetryPolicy = FAST) -> Runner:
        return Runner(
            self.db,
            self.events,
            self.root,
            handlers(self.db, self.events, policy=policy),
            {KIND: 1},
            adopted_only=frozenset({KIND}),
        )

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.stop()
        self.unlisten()
        await self.events.close()
        await self.db.close()

    async def start(self, message: str, **kw: Any) -> store.Run:
        kw.setdefault("model", MODEL)
        run = await start_run(self.db, self.events, self.root, message, **kw)
        assert run.job_id is not None
        self.runner.adopt(run.job_id)
        return run

    async def until(
        self, run_id: int, done: Callable[[store.Run], bool], timeout: float = 20
    ) -> store.Run:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = await self.db.read(lambda c: store.get_run(c, run_id))
            if done(run):
                return run
            await asyncio.sleep(0.02)
        raise AssertionError(f"run {run_id} is still {run.status}")

    async def finish(self, run_id: int) -> store.Run:
        return await self.until(run_id, lambda r: r.status in store.TERMINAL)

    def kinds(self, run_id: int) -> list[str]:
        return [e.kind for e in self.seen if e.topic == "run" and e.data.get("run") == run_id]

    def of(self, run_id: int, kind: str) -> list[dict[str, Any]]:
        return [
            e.data
            for e in self.seen
            if e.topic == "run" and e.kind == kind and e.data.get("run") == run_id
        ]


def go(root: Path, scenario: Callable[[Harness], Awaitable[None]]) -> None:
    async def main() -> None:
        async with Harness(root) as h:
            await scenario(h)

    asyncio.run(main())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_multi_turn_run_edits_two_files_and_the_timeline_for_review(
    demo_dir: Path, fake: FakeGemini
) -> None:
    script = demo_dir / "scripts" / "script.md"
    before = {p: sha(p) for p in (script, demo_dir / "project.json")}
    fake.queue(
        Stream(
            [
                chunk(thought("The user wants a new first line ")),
                chunk(thought("and a note.")),
                chunk(
                    call(
                        "text_insert_lines",
                        {"path": "scripts/script.md", "after": 0, "text": "Draft 2"},
                    ),
                    call("file_create", {"path": "scripts/notes.md", "text": "Notes\n"}),
                ),
            ],
            usage=usage_metadata(1200, 40, cached=1000, thoughts=25),
        ),
        Stream(
            [chunk(call("timeline_blade", {"at": 60}))],
            usage=usage_metadata(1500, 10),
        ),
        Stream(
            [chunk(text("Added the line, ")), chunk(text("the note and a cut at 2 s."))],
            usage=usage_metadata(1600, 12),
        ),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("Add a draft line, a notes file, and cut at 2 s.", thinking="low")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "complete" and done.stopped == "done" and done.steps == 3
        assert done.workflow_path == "scripts/workflows/editor.json"
        assert done.workflow_name == "Editor"
        assert done.workflow_sha256 == sha(demo_dir / "scripts/workflows/editor.json")

        # Nothing touched the disk: one changeset with three files waits for review.
        assert {p: sha(p) for p in before} == before
        assert not (demo_dir / "scripts" / "notes.md").exists()
        changesets = await h.db.read(lambda c: store.changesets(c, run.id))
        assert len(changesets) == 1
        ledger = await Ledger.open(demo_dir)
        try:
            cs = await ledger._get(changesets[0])
            assert cs.status == "ready"
            assert (await ledger.read(cs.id, "scripts/script.md") or "").startswith("Draft 2\n")
            assert await ledger.read(cs.id, "scripts/notes.md") == "Notes\n"
            project = json.loads(await ledger.read(cs.id, "project.json") or "{}")
            v1 = next(t for t in project["tracks"] if t["name"] == "V1")
            assert any(c["start"] == 60 for c in v1["clips"])  # the blade
            applied = await ledger.apply(cs.id)
            assert applied.status == "applied"
            assert script.read_text().startswith("Draft 2\n")
        finally:
            await ledger.close()

        # Events: the stream of the run as a client sees it.
        kinds = h.kinds(run.id)
        assert kinds[0] == "pending" and kinds[1] == "running" and kinds[-1] == "complete"
        thoughts = "".join(d.get("thought", "") for d in h.of(run.id, "streaming"))
        answer = "".join(d.get("text", "") for d in h.of(run.id, "streaming"))
        assert thoughts == "The user wants a new first line and a note."
        assert answer == "Added the line, the note and a cut at 2 s."
        tools = [(d["name"], d["state"]) for d in h.of(run.id, "tools")]
        assert tools == [
            ("text_insert_lines", "called"),
            ("text_insert_lines", "done"),
            ("file_create", "called"),
            ("file_create", "done"),
            ("timeline_blade", "called"),
            ("timeline_blade", "done"),
        ]
        blade = h.of(run.id, "tools")[-1]
        assert blade["op"] and "60" in json.dumps(blade["op"])  # for review and replay
        assert blade["summary"]

        # Usage and cost, per call and in total.
        usage, total, calls = await h.db.read(lambda c: store.run_usage(c, run.id))
        assert calls == 3 and usage == Usage(4300, 62, 1000, 25)
        expected = sum(
            cost(MODEL, u) or 0.0
            for u in (Usage(1200, 40, 1000, 25), Usage(1500, 10), Usage(1600, 12))
        )
        assert total == pytest.approx(expected) and total > 0

        # What the SDK sent: the workflow's system instruction, every tool, thinking on, the key,
        # and the function responses of step 1 in step 2's contents.
        assert len(fake.requests) == 3
        first, second = fake.requests[0], fake.requests[1]
        assert first.model == MODEL and first.headers["x-goog-api-key"] == "test-key"
        system = first.body["systemInstruction"]["parts"][0]["text"]
        assert system.startswith("You are the editing assistant inside reelcut")
        names = {d["name"] for d in first.body["tools"][0]["functionDeclarations"]}
        assert {"text_insert_lines", "timeline_blade", "file_create"} <= names
        # (this SDK writes thinkingConfig's fields in snake_case; the API's JSON parser takes
        # both spellings)
        thinking = first.body["generationConfig"]["thinkingConfig"]
        assert thinking.get("includeThoughts", thinking.get("include_thoughts")) is True
        assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 2048  # low
        contents = second.body["contents"]
        assert [c["role"] for c in contents] == ["user", "model", "user"]
        responses = [p["functionResponse"] for p in contents[2]["parts"]]
        assert [r["name"] for r in responses] == ["text_insert_lines", "file_create"]
        assert all(r["response"]["ok"] for r in responses)
        model_turn = contents[1]["parts"]
        assert model_turn[0] == {
            "text": "The user wants a new first line and a note.",
            "thought": True,
        }

    go(demo_dir, scenario)


def test_429_with_retry_after_then_success(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Error(429, "Resource exhausted", retry_after=0.3),
        Stream([chunk(text("ok"))], usage=usage_metadata(10, 1)),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("hello")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "complete"
        retries = h.of(run.id, "retrying")
        assert len(retries) == 1 and retries[0]["attempt"] == 1
        assert retries[0]["wait"] >= 0.3  # the server's Retry-After, not the shorter jitter
        assert "429" in retries[0]["reason"]
        assert len(fake.requests) == 2

    go(demo_dir, scenario)


def test_503_beyond_the_retry_budget_is_an_error(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(*[Error(503, "The model is overloaded") for _ in range(3)])

    async def scenario(h: Harness) -> None:
        run = await h.start("hello")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "error" and "failed 3 times" in (done.error or "")
        assert "503" in (done.error or "")
        assert len(h.of(run.id, "retrying")) == 2 and len(fake.requests) == 3
        assert await h.db.read(lambda c: store.changesets(c, run.id)) == []

    go(demo_dir, scenario)


def test_a_stream_cut_mid_answer_applies_nothing_of_it(demo_dir: Path, fake: FakeGemini) -> None:
    """The first stream carries a function call and is cut before it finishes: the call is not
    run; the step is asked again and only the second answer's call is."""
    insert = {"path": "scripts/script.md", "after": 0, "text": "From the cut stream"}
    fake.queue(
        Stream([chunk(text("Working")), chunk(call("text_insert_lines", insert))], cut_after=2),
        Stream(
            [chunk(call("file_create", {"path": "scripts/n.md", "text": "n\n"}))],
            usage=usage_metadata(10, 2),
        ),
        Stream([chunk(text("Done."))], usage=usage_metadata(12, 1)),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("note it")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "complete"
        retries = h.of(run.id, "retrying")
        assert len(retries) == 1 and retries[0]["step"] == 1
        assert [d["name"] for d in h.of(run.id, "tools")] == ["file_create", "file_create"]
        messages = await h.db.read(lambda c: store.messages(c, run.thread_id))
        assert "From the cut stream" not in json.dumps(messages)

    go(demo_dir, scenario)


def test_cancelling_mid_stream_stops_the_run(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream(
            [chunk(text(f"word {i} ")) for i in range(50)]
            + [chunk(call("file_create", {"path": "scripts/x.md", "text": "x\n"}))],
            delay=0.05,
        )
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("write a lot")
        await h.runner.start()
        await h.until(run.id, lambda r: r.status == "running")
        for _ in range(200):
            if h.of(run.id, "streaming"):
                break
            await asyncio.sleep(0.02)
        assert run.job_id is not None
        await h.runner.cancel(run.job_id)
        done = await h.finish(run.id)
        assert done.status == "cancelled"
        assert h.of(run.id, "tools") == []
        assert await h.db.read(lambda c: store.changesets(c, run.id)) == []

    go(demo_dir, scenario)


def test_a_403_fails_at_once_saying_what_to_configure(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(Error(403, "API key not valid. Please pass a valid API key."))

    async def scenario(h: Harness) -> None:
        run = await h.start("hello")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "error" and "GEMINI_API_KEY" in (done.error or "")
        assert len(fake.requests) == 1 and h.of(run.id, "retrying") == []

    go(demo_dir, scenario)


def test_no_key_and_a_malformed_workflow_refuse_before_anything_is_sent(
    demo_dir: Path, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(h: Harness) -> None:
        workflow = demo_dir / "scripts" / "workflows" / "editor.json"
        good = workflow.read_text()
        workflow.write_text(good.replace('"system_instruction"', '"sytem_instruction"'))
        with pytest.raises(InvalidWorkflow, match="sytem_instruction"):
            await h.start("hello")
        workflow.write_text(good)
        monkeypatch.delenv("GEMINI_API_KEY")
        with pytest.raises(AgentConfigError, match="GEMINI_API_KEY"):
            await h.start("hello")
        assert fake.requests == []
        assert await h.db.read(store.runs) == []  # nothing stored either

    go(demo_dir, scenario)


def test_auto_apply_writes_each_call_at_once(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream([chunk(call("file_create", {"path": "scripts/a.md", "text": "a\n"}))]),
        Stream([chunk(call("file_create", {"path": "scripts/b.md", "text": "b\n"}))]),
        Stream([chunk(text("Both made."))]),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("make two files", auto_apply=True)
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "complete"
        assert (demo_dir / "scripts" / "a.md").read_text() == "a\n"
        assert (demo_dir / "scripts" / "b.md").read_text() == "b\n"
        assert len(await h.db.read(lambda c: store.changesets(c, run.id))) == 2

    go(demo_dir, scenario)


def test_a_run_whose_worker_stopped_resumes_where_it_was(demo_dir: Path, fake: FakeGemini) -> None:
    """The editor quits while step 2 streams: the run is `interrupted` (an orphan), never left
    `running`; no runner picks it up unasked; taken over, it resumes at step 2 with step 1's
    results in the contents."""
    fake.queue(
        Stream([chunk(call("file_create", {"path": "scripts/r.md", "text": "r\n"}))]),
        Stream([chunk(text(f"slow {i} ")) for i in range(100)], delay=0.05),
        Stream([chunk(text("Resumed and done."))]),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("make a file, then talk")
        await h.runner.start()
        await h.until(run.id, lambda r: r.steps >= 1)
        for _ in range(200):
            if any(d["step"] == 2 for d in h.of(run.id, "streaming")):
                break
            await asyncio.sleep(0.02)
        await h.runner.stop()
        stopped = await h.db.read(lambda c: store.get_run(c, run.id))
        assert stopped.status == "interrupted"
        assert await h.db.read(lambda c: orphaned(c, stopped))
        h.runner = h.make_runner()
        await h.runner.start()
        # Nothing resumes an orphan unasked (another process's runner here, idle)...
        await asyncio.sleep(1.0)
        assert (await h.db.read(lambda c: store.get_run(c, run.id))).status == "interrupted"
        assert len(fake.requests) == 2
        # ...until someone takes it over on purpose.
        _, job_id, held_by = await h.db.write(lambda c: take_over(c, run.id))
        assert job_id is not None and held_by is None
        h.runner.adopt(job_id)
        done = await h.finish(run.id)
        assert done.status == "complete" and done.steps == 2
        assert "interrupted" in h.kinds(run.id)
        third = fake.requests[2].body["contents"]
        assert [c["role"] for c in third] == ["user", "model", "user"]
        assert third[2]["parts"][0]["functionResponse"]["name"] == "file_create"

    go(demo_dir, scenario)


def test_an_error_event_inside_the_stream_is_retried(demo_dir: Path, fake: FakeGemini) -> None:
    fake.queue(
        Stream([chunk(text("Part"))], error=Error(503, "overloaded mid-stream")),
        Stream([chunk(text("Whole answer."))], usage=usage_metadata(5, 2)),
    )

    async def scenario(h: Harness) -> None:
        run = await h.start("hello")
        await h.runner.start()
        done = await h.finish(run.id)
        assert done.status == "complete"
        assert [d["step"] for d in h.of(run.id, "retrying")] == [1]
        messages = await h.db.read(lambda c: store.messages(c, run.thread_id))
        assert messages[-1]["parts"] == [{"text": "Whole answer."}]

    go(demo_dir, scenario)
