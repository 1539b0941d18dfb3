"""A free local pass speaks its first lines while it is being written (`providers.speak_ahead`),
with real espeak-ng, a real queue and a real session.

The first lines start speaking before the pass writes the scenario's snapshot, its jobs and its
placeholders; each job then takes its line's speech over, so every line is spoken once. A pass
that this process does not run (no runner serving tts here) speaks nothing ahead, and a line
spoken ahead that no job takes over is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from engine.door import hold
from engine.events import EventStream
from engine.state.adb import AsyncDB
from engine.tts import jobs as tts
from engine.tts import providers
from engine.tts.takes import Line, LocalVoice
from tests.engine.test_tts import SCENARIO, make_project, stages, tts_pass
from tui.tts_cli import cmd_tts


def spoken(monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], threading.Event]:
    """The texts espeak-ng is started with, and an event set at the first."""
    said: list[bytes] = []
    first = threading.Event()
    real = providers._Speech.run

    def run(self: Any) -> Any:
        said.append(self.text)
        first.set()
        return real(self)

    monkeypatch.setattr(providers._Speech, "run", run)
    return said, first


def test_a_local_pass_speaks_while_it_writes_its_placeholders_and_each_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "p")
    said, first = spoken(monkeypatch)
    early: list[bool] = []
    real_snapshot = tts.versions.snapshot

    def snapshot(*args: Any) -> Any:  # the pass's first write (on a thread)
        early.append(first.wait(30))
        return real_snapshot(*args)

    monkeypatch.setattr(tts.versions, "snapshot", snapshot)
    doc = asyncio.run(tts_pass(root))
    assert early == [True]  # espeak-ng ran before the pass wrote anything
    assert set(stages(doc).values()) == {"ready"}
    texts = [ln["text"] for ln in SCENARIO["lines"]]
    # Each line once: the jobs took the early speech over.
    assert sorted(said) == sorted(t.encode() for t in texts)
    assert not providers._AHEAD


def test_a_pass_this_process_does_not_run_speaks_nothing_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "p")
    said, _ = spoken(monkeypatch)

    async def go() -> dict[str, Any]:
        db = await AsyncDB.open(root / ".reelcut")
        events = EventStream(db)
        await events.start()
        try:
            async with hold(root, "test", db=db, events=events) as ws:
                return await ws.call("tts.start", {})
        finally:
            await events.close()
            await db.close()

    doc = asyncio.run(go())
    assert len(doc["jobs"]) == 3 and said == [] and not providers._AHEAD


def test_a_pass_started_without_running_its_lines_now_speaks_nothing_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `reelcut tts --no-wait` holds the project with a runner it never starts: a line spoken
    # ahead would only keep the command from exiting until espeak-ng ends.
    root = make_project(tmp_path / "p")
    said, _ = spoken(monkeypatch)
    args = Namespace(
        dir=root,
        action="run",
        target=None,
        provider=None,
        model=None,
        line=None,
        yes=False,
        dry_run=False,
        no_wait=True,
        apply=False,
        json=True,
    )
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert cmd_tts(args) == 0
    assert len(json.loads(out.getvalue())["jobs"]) == 3
    assert said == [] and not providers._AHEAD


def test_a_line_spoken_ahead_that_no_job_takes_over_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said, _ = spoken(monkeypatch)
    line = Line(0, "l_1", "a", "A", "Nobody asks for this.", "Kore", LocalVoice("en-us", 50, 175))

    async def go() -> None:
        assert providers.speak_ahead([line], keep=0.2) == 1
        assert len(providers._AHEAD) == 1
        for _ in range(3000):
            if not providers._AHEAD:
                break
            await asyncio.sleep(0.01)

    asyncio.run(go())
    assert not providers._AHEAD
    assert said in ([], [b"Nobody asks for this."])  # (it may have spoken before it was dropped)
