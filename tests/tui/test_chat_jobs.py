"""The chat panel follows the jobs an agent run started (Pilot, the editor's real background
jobs, the fake Gemini server): the model queues speech for a line with tts_generate and waits
for it with jobs_wait; the run shows a line for that job that goes from queued through running
with its percent to succeeded, from the stream's job events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.session import Session
from engine.tts.providers import LocalProvider
from tests.fakes.gemini import FakeGemini, Request, Stream, call, chunk, text, usage_metadata
from tests.tui.test_chat import ask, wait_for
from tui.app import ReelcutApp
from tui.chat import ChatPanel, RunView


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeGemini() as server:
        monkeypatch.setenv("GEMINI_API_KEY", "test-key")
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        monkeypatch.setenv("REELCUT_MODEL", "gemini-2.5-flash")
        yield server


def wait_for_the_jobs(request: Request) -> Stream:
    last = request.body["contents"][-1]["parts"]
    ids = [
        j["job"]
        for p in last
        if "functionResponse" in p
        for j in (p["functionResponse"]["response"].get("result") or {}).get("jobs", [])
    ]
    return Stream(
        [chunk(call("jobs_wait", {"ids": ids, "timeout": 60}))], usage=usage_metadata(9, 2)
    )


def test_the_run_shows_its_jobs_progress(
    demo_dir: Path, fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.queue(
        Stream([chunk(call("tts_generate", {"lines": ["l_2"], "provider": "local"}))]),
        wait_for_the_jobs,
        Stream([chunk(text("Line 2 is spoken."))], usage=usage_metadata(20, 4)),
    )
    drawn: list[str] = []
    real = RunView.job_event

    def spy(self: RunView, data: dict[str, Any]) -> None:
        real(self, data)
        line = self.jobs.get(int(data.get("job", -1)))
        if line is not None:
            drawn.append(str(line.render()))

    monkeypatch.setattr(RunView, "job_event", spy)
    # espeak-ng says a short line in tens of milliseconds: the line speaks once the run's job
    # line is on the screen, so its running state is drawn, not only its end.
    shown: list[RunView] = []
    speak = LocalProvider._speak

    async def gated(self: LocalProvider, *args: Any) -> Any:
        for _ in range(1000):
            if shown and shown[0].jobs:
                break
            await asyncio.sleep(0.01)
        return await speak(self, *args)

    monkeypatch.setattr(LocalProvider, "_speak", gated)

    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=True)
            async with app.run_test(size=(200, 60)) as pilot:
                await wait_for(pilot, lambda: app.jobs_started and app.preview is not None, "jobs")
                chat = app.editor.query_one(ChatPanel)
                view = await ask(app, pilot, chat, "Speak line 2.")
                shown.append(view)
                await wait_for(pilot, lambda: view.finished, "the run to end", timeout=60)
                assert len(view.jobs) == 1
                (job,) = view.jobs
                final = str(view.jobs[job].render())
                assert final.startswith(f"  job {job} tts: succeeded"), final
                assert "Line 2 is spoken." in view.answer

    asyncio.run(go())
    running = [d for d in drawn if ": running " in d]
    assert running and all(
        d.split(": running ")[1].split("%")[0].strip().isdigit() for d in running
    )
