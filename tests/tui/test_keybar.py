"""The footer's key bar: one widget that lists the keys where the focus is, follows the focus,
and presses a key when its entry is clicked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from engine.session import Session
from tui.app import ReelcutApp
from tui.keybar import KeyBar


class Left(Static, can_focus=True):
    BINDINGS = [Binding("a", "app.mark('left')", "Left key")]


class Right(Static, can_focus=True):
    BINDINGS = [Binding("b", "app.mark('right')", "Right key")]


class Two(App[None]):
    BINDINGS = [Binding("x", "mark('app')", "App key")]

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[str] = []
        self.bells = 0
        self.app_key_disabled = False

    def compose(self) -> ComposeResult:
        yield Left("left", id="left")
        yield Right("right", id="right")
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "mark" and parameters == ("app",) and self.app_key_disabled:
            return None  # shown, disabled
        return True

    def action_mark(self, what: str) -> None:
        self.marks.append(what)

    def bell(self) -> None:
        self.bells += 1


def line(app: App[object]) -> str:
    return str(app.query_one(KeyBar).render())


def test_the_bar_lists_the_focused_widgets_keys_and_follows_the_focus() -> None:
    async def go() -> None:
        app = Two()
        async with app.run_test(size=(80, 10)) as pilot:
            app.query_one("#left").focus()
            await pilot.pause()
            shown = line(app)
            assert "a Left key" in shown and "x App key" in shown
            assert "Right key" not in shown
            assert shown.rstrip().endswith("palette")  # the command palette's key, at the end
            app.query_one("#right").focus()
            await pilot.pause()
            shown = line(app)
            assert "b Right key" in shown and "Left key" not in shown

    asyncio.run(go())


def test_clicking_an_entry_presses_its_key() -> None:
    async def go() -> None:
        app = Two()
        async with app.run_test(size=(80, 10)) as pilot:
            app.query_one("#left").focus()
            await pilot.pause()
            bar = app.query_one(KeyBar)
            line(app)  # lays out the entries
            x = next(s for s, _e, item in bar._spans if item.description == "Left key")
            await pilot.click(KeyBar, offset=(x + 1, 0))
            await pilot.pause()
            assert app.marks == ["left"]
            gap = max(e for _s, e, item in bar._spans if item is not bar.palette) + 1
            assert bar.item_at(gap) is None  # the blank between the keys and the palette
            await pilot.click(KeyBar, offset=(gap, 0))
            await pilot.pause()
            assert app.marks == ["left"]
            app.app_key_disabled = True
            app.refresh_bindings()
            await pilot.pause()
            entry = next(span for span in bar._spans if span[2].description == "App key")
            assert not entry[2].enabled
            await pilot.click(KeyBar, offset=(entry[0] + 1, 0))
            await pilot.pause()
            assert app.marks == ["left"] and app.bells == 1

    asyncio.run(go())


def test_a_narrow_bar_shows_whole_entries_then_an_ellipsis_and_keeps_the_palette() -> None:
    async def go() -> None:
        app = Two()
        async with app.run_test(size=(30, 10)) as pilot:
            app.query_one("#left").focus()
            await pilot.pause()
            shown = line(app)
            assert len(shown) <= 30
            assert "…" in shown and shown.rstrip().endswith("palette")
            assert "a Left key" in shown  # whole entries, never a key cut in half

    asyncio.run(go())


def test_the_editor_footer_is_one_widget_that_follows_the_regions(demo_dir: Path) -> None:
    async def go() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                bar = app.editor.query_one(KeyBar)
                assert not bar.children
                assert "Blade at the playhead" in line(app)
                await pilot.press("f6")  # the project tree
                await pilot.pause()
                assert "New file" in line(app)

    asyncio.run(go())


def test_an_entry_that_almost_fits_is_cut_short_and_still_clicks() -> None:
    async def go() -> None:
        app = Two()
        async with app.run_test(size=(34, 10)) as pilot:
            app.query_one("#left").focus()
            await pilot.pause()
            shown = line(app)
            assert " x App k…" in shown  # the key whole, what it does cut with an ellipsis
            bar = app.query_one(KeyBar)
            x = next(s for s, _e, item in bar._spans if item.keys == "x")
            await pilot.click(KeyBar, offset=(x + 1, 0))
            await pilot.pause()
            assert app.marks == ["app"]

    asyncio.run(go())
