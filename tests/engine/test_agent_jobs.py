"""The agent starts background work and waits for it (engine.tools.job_tools), through the agent
loop, the real google-genai SDK against the fake Gemini server, and the holder's door and queue:
speech for the scenario (espeak-ng), transcription of the takes (pocketsphinx), an export into
exports/ (ffmpeg); paths outside exports/ refused; the job ids the model waits for are the ones
the tools answered (the scripted model reads them from the function responses)."""

from __future__ import annotations

import asyncio
import json
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from engine.agent import store
from engine.agent.provider import RetryPolicy
from engine.agent.run import KIND, handlers, start_run
from engine.changes.ledger import Ledger
from engine.door import hold
from engine.events import Event, EventStream
from engine.export import render
from engine.jobs import Runner
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from engine.tools import run_tool
from engine.transcripts import jobs as transcribe
from engine.tts import jobs as tts
from engine.workflows import write_editor_workflow
from tests.engine.test_tts import SCENARIO, make_project
from tests.fakes.gemini import FakeGemini, Request, Stream, call, chunk, text, usage_metadata

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05, retry_after_cap=0.5)
MODEL = "gemini-2.5-flash"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeGemini() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        yield server


def answered(request: Request) -> list[dict[str, Any]]:
    """The function responses of the request's last turn, as the model reads them."""
    last = request.body["contents"][-1]
    return [p["functionResponse"] for p in last["parts"] if "functionResponse" in p]


def wait_for_answered_jobs(request: Request) -> Stream:
    """The model waits for every job the previous turn's tools started."""
    ids: list[int] = []
    for r in answered(request):
        result = r["response"].get("result") or {}
        ids += [j["job"] for j in result.get("jobs", [])]
        if "job" in result:
            ids.append(result["job"])
    return Stream(
        [chunk(call("jobs_wait", {"ids": ids, "timeout": 120}))], usage=usage_metadata(50, 5)
    )


def test_the_agent_speaks_the_scenario_transcribes_and_exports_through_the_queue(
    tmp_path: Path, fake: FakeGemini
) -> None:
    root = make_project(tmp_path / "p")
    write_editor_workflow(root)
    fake.queue(
        Stream([chunk(call("tts_generate", {"provider": "local"}))], usage=usage_metadata(100, 5)),
        wait_for_answered_jobs,
        Stream(
            [
                chunk(
                    call("transcribe", {}),
                    call("export", {"path": "exports/dialogue.wav"}),
                    call("export", {"path": "../outside.wav"}),
                    call("export", {"path": "scripts/inside.wav"}),
                )
            ],
            usage=usage_metadata(200, 20),
        ),
        wait_for_answered_jobs,
        Stream([chunk(text("Spoken, transcribed and exported."))], usage=usage_metadata(300, 8)),
    )
    seen: list[Event] = []

    async def go() -> dict[str, Any]:
        db = await AsyncDB.open(root / ".reelcut")
        events = EventStream(db)
        await events.start()
        unlisten = events.listen(seen.append)
        runner = Runner(db, events, root, {}, {}, adopted_only=frozenset({KIND}))
        try:
            async with hold(root, "test", db=db, events=events, runner=runner) as ws:
                runner.handlers.update(handlers(db, events, policy=FAST, door=ws))
                runner.handlers.update(tts.handlers(ws))
                runner.handlers.update(render.handlers(db, events))
                transcribe.register(ws, runner.handlers, runner.limits)
                runner.limits.update({KIND: 1, tts.KIND: 2, **render.limits()})
                run = await start_run(
                    db, events, root, "Speak it, transcribe, export.", model=MODEL
                )
                assert run.job_id is not None
                runner.adopt(run.job_id)
                await runner.start()
                deadline = time.monotonic() + 240
                while (
                    got := await db.read(lambda c: store.get_run(c, run.id))
                ).status not in store.TERMINAL:
                    assert time.monotonic() < deadline, f"run still {got.status}"
                    await asyncio.sleep(0.05)
                await runner.stop()
                calls = await Ledger.open(root)
                try:
                    recorded = await calls.store.run_tool_events(run.id)
                finally:
                    await calls.close()
                return {"run": got, "calls": recorded, "status": await ws.call("tts.status", {})}
        finally:
            unlisten()
            await events.close()
            await db.close()

    out = asyncio.run(go())
    run = out["run"]
    assert run.status == "complete", run.error
    # Three ready clips on the timeline, spoken by the jobs the model waited for.
    assert {ln["line"]: ln["stage"] for ln in out["status"]["lines"]} == {
        ln["id"]: "ready" for ln in SCENARIO["lines"]
    }
    by_name: dict[str, list[dict[str, Any]]] = {}
    for c in out["calls"]:
        by_name.setdefault(c["tool"], []).append(c)
    spoken = by_name["tts_generate"][0]["result"]["result"]
    waits = [c["result"]["result"] for c in by_name["jobs_wait"]]
    assert [j["job"] for j in waits[0]["jobs"]] == [j["job"] for j in spoken["jobs"]]
    assert waits[0]["finished"] and {j["status"] for j in waits[0]["jobs"]} == {"succeeded"}
    assert waits[1]["finished"] and {j["status"] for j in waits[1]["jobs"]} == {"succeeded"}
    kinds = sorted({j["kind"] for j in waits[1]["jobs"]})
    assert kinds == ["export", "transcribe"]
    # The transcripts of the takes, aligned to the scenario's words.
    project = ProjectDir(root).load()
    takes = [a for a in project.assets if a.generation is not None]
    for a in takes:
        doc = json.loads((root / "transcripts" / f"{a.id}.json").read_text())
        assert doc["words"], a.id
    # The export: inside exports/, as long as the timeline's dialogue.
    with wave.open(str(root / "exports" / "dialogue.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    track = next(t for t in project.tracks if t.name == "Dialogue")
    end = max(c.start + c.duration for c in track.clips)
    assert seconds == pytest.approx(end / 30, abs=0.05)
    # Outside exports/: refused with a line the model can act on; nothing written.
    refused = [c for c in by_name["export"] if not c["ok"]]
    assert [c["args"]["path"] for c in refused] == ["../outside.wav", "scripts/inside.wav"]
    assert (
        "'..'" in refused[0]["error"] and "only into the project's exports/" in refused[1]["error"]
    )
    assert (
        not (tmp_path / "outside.wav").exists() and not (root / "scripts" / "inside.wav").exists()
    )
    # The stream carried the progress of the jobs the run started.
    progress = {e.data["job"] for e in seen if e.topic == "job" and e.data.get("kind") == "tts"}
    assert {j["job"] for j in spoken["jobs"]} <= progress


def test_a_job_tool_without_the_door_is_refused_and_says_where_it_runs(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")

    async def go() -> dict[str, Any]:
        ledger = await Ledger.open(root)
        try:
            return await run_tool(ledger, "tts_generate", {})
        finally:
            await ledger.close()

    out = asyncio.run(go())
    assert not out["ok"] and "needs the project's door" in out["error"]
    assert not (root / "assets").exists() or not list((root / "assets").iterdir())
