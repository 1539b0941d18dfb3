"""Frames dropped, not buffered (`tui.output_pacing`): while the terminal has not taken the last
update, the editor holds its repaints; when it has, one update carries the latest state of
what changed meanwhile, and the frames in between are never written."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from engine.session import Session
from tui import output_pacing, span_writes
from tui.app import ReelcutApp


def record_writes(app: ReelcutApp, written: list[str]) -> None:
    """Each screen update the app displays from now on, as written in 256 colours."""
    console = Console(color_system="256", force_terminal=True)
    display = app._display

    def recorder(screen: Any, update: Any) -> None:
        if update is not None:
            written.append(update.render_segments(console))
        display(screen, update)

    app._display = recorder  # type: ignore[method-assign]


def test_backed_up_reads_the_writer_threads_queue() -> None:
    waiting: queue.Queue[str] = queue.Queue()
    app = SimpleNamespace(_driver=SimpleNamespace(_writer_thread=SimpleNamespace(_queue=waiting)))
    assert not output_pacing.backed_up(app)
    waiting.put("an update")
    assert output_pacing.backed_up(app)
    assert not output_pacing.backed_up(SimpleNamespace(_driver=None))  # headless, or not running


def test_steps_while_backed_up_go_out_as_one_update_of_the_last(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert output_pacing.install() and span_writes.install()
    full = {"now": False}
    monkeypatch.setattr(output_pacing, "backed_up", lambda app: full["now"])
    written: list[str] = []

    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                record_writes(app, written)
                full["now"] = True
                held = output_pacing.STATS.held
                for _ in range(5):
                    await pilot.press("right")
                    await pilot.pause(0.05)
                assert app.playhead == 5, "the keys work while the output waits"
                assert written == [], "nothing written while the last update is queued"
                assert output_pacing.STATS.held > held
                full["now"] = False
                await pilot.pause(0.1)
                await pilot.pause()

    asyncio.run(go())
    assert written, "the held repaint goes out once the writer has taken the last update"
    out = "".join(written)
    assert "00:00:00:05" in out
    for frame in range(1, 5):
        assert f"00:00:00:0{frame}" not in out, "an intermediate frame was written"


def test_a_change_made_between_the_hold_and_its_retry_is_written(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race behind keys that "did nothing" in tmux (the mark was set, the status line never
    said so): a repaint held, then the next key's status text marked dirty (its `Update`
    handled), then the retry fires before Textual's own update. The retry must take the newly
    dirty widgets in; it used to paint only what was held and forget the status line."""
    assert output_pacing.install() and span_writes.install()
    full = {"now": False}
    monkeypatch.setattr(output_pacing, "backed_up", lambda app: full["now"])
    written: list[str] = []
    retried = ""

    async def go() -> None:
        nonlocal retried
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                record_writes(app, written)
                screen = app.screen
                full["now"] = True
                await pilot.press("right")
                await pilot.pause(0.05)
                assert written == [] and screen._reelcut_retry  # type: ignore[attr-defined]
                status = app.query_one("#status")
                with app.batch_update():  # Textual's own update cannot run meanwhile
                    app.message = "a message the retry must carry"
                    for _ in range(200):
                        if status in screen._dirty_widgets:
                            break
                        await asyncio.sleep(0.005)
                    assert status in screen._dirty_widgets
                full["now"] = False
                output_pacing._retry(screen)  # the held repaint's timer, first
                # What the retry wrote, before anything else can run: Textual's update will
                # not come back for the status line (its dirty mark was spent), so a change
                # left out here stayed off the screen until the line changed again.
                retried = "".join(written)

    asyncio.run(go())
    assert "00:00:00:01" in retried, "the held playhead move is written"
    assert "a message the retry must carry" in retried, "the status line's change was lost"
