"""The editor under Textual's Pilot: every binding, asserted on the session's project (and the
file on disk), never on sleeps alone.

The demo: V2 title c_13 [0, 75); V1 pattern c_10 [0, 240) linked to c_11 on A1, still c_12
[240, 330); A2 line c_14 [45, 160), tone c_15 [240, 300); markers at 120 and 240; 30 fps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from textual.app import SystemCommand
from textual.widgets import DataTable, Input, Label, Static

from engine.model import Clip, Project
from engine.projectdir import ProjectDir
from engine.projectfile import encode_project
from engine.session import Session, read_view
from tui.app import ReelcutApp
from tui.keys import KEYS
from tui.screens import HelpScreen, help_rows
from tui.timeline.widget import TimelineView

Scenario = Callable[[ReelcutApp, object], Awaitable[None]]


def drive(root: Path, scenario: Scenario, size: tuple[int, int] = (160, 48)) -> None:
    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                await scenario(app, pilot)

    asyncio.run(go())


def clips(p: Project) -> dict[str, Clip]:
    return {c.id: c for t in p.tracks for c in t.clips}


def status(app: ReelcutApp) -> str:
    return str(app.editor.query_one("#status", Static).render())


async def settle(pilot: object) -> None:
    """Let a worker-thread edit land (it is awaited by the action; two pauses flush it)."""
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


def test_playhead_keys(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("right", "right", "right")
        assert app.playhead == 3
        await press("left")
        assert app.playhead == 2
        await press("shift+right")
        assert app.playhead == 32
        await press("shift+left", "shift+left")
        assert app.playhead == 0
        await press("down")
        assert app.playhead == 45  # the line starts
        await press("down", "down")
        assert app.playhead == 120  # title end (75), then the Midpoint marker
        await press("up")
        assert app.playhead == 75
        await press("end")
        assert app.playhead == 329  # the last frame (the page shows it there too)
        await press("home")
        assert app.playhead == 0
        await press("g")
        field = app.screen.query_one(Input)
        assert app.focused is field and field.value == "00:00:00:00"
        field.value = ""
        await press(*"00:00:05:1x", "enter")  # a typo: the prompt says why and stays
        assert app.screen.query_one("#goto-error", Label).render().plain != ""  # type: ignore[union-attr]
        field.value = ""
        await press(*"00:00:05:10", "enter")
        assert app.playhead == 160
        assert "00:00:05:10" in status(app)

    drive(demo_dir, scenario)


def test_blade_undo_redo_and_the_alias(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        before = len(clips(app.project))
        await press("shift+right", "shift+right", "ctrl+b")
        await settle(pilot)
        after = clips(app.project)
        assert len(after) == before + 4  # title, pattern + its audio, line
        assert "cut 4 clip(s) at 00:00:02:00" in status(app)
        await press("ctrl+z")
        await settle(pilot)
        assert len(clips(app.project)) == before
        await press("ctrl+y")
        await settle(pilot)
        assert len(clips(app.project)) == before + 4
        await press("ctrl+z", "right", "ctrl+k")
        await settle(pilot)
        assert {c.start for c in clips(app.project).values()} >= {61}
        # On disk, not only in memory.
        assert clips(ProjectDir(app.session.dir.root).load()) == clips(app.project)

    drive(demo_dir, scenario)


def test_selection_lift_ripple_delete_and_nudge(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("delete")
        await settle(pilot)
        assert "select a clip first" in status(app)
        await press("tab")
        assert app.selection == ("c_13",)  # time first, then tracks from the top
        await press("tab", "tab")
        assert app.selection == ("c_11",)
        await press("shift+tab")
        assert app.selection == ("c_10",)
        await press("escape")
        assert app.selection == ()
        await press("end", "shift+tab")
        assert app.selection == ("c_15",)
        await press("full_stop", "greater_than_sign")
        await settle(pilot)
        assert clips(app.project)["c_15"].start == 251
        await press("comma", "less_than_sign")
        await settle(pilot)
        assert clips(app.project)["c_15"].start == 240
        await press("escape", "home", "tab", "tab")  # c_10, linked to c_11
        await press("delete")
        await settle(pilot)
        assert "c_10" not in clips(app.project) and "c_11" not in clips(app.project)
        assert clips(app.project)["c_12"].start == 240  # a gap stays
        await press("ctrl+z", "escape", "home", "tab", "tab", "shift+delete")
        await settle(pilot)  # refused: the title on V2 covers the range
        assert "ripple delete: Title (c_13) on V2 is in the way" in status(app)
        assert "c_10" in clips(app.project)
        await press("escape", "end", "shift+tab", "delete")  # lift the tone on A2
        await press("escape", "end", "shift+tab")
        assert app.selection == ("c_12",)
        await press("backspace")  # nothing after it on any track: it goes
        await settle(pilot)
        assert "c_12" not in clips(app.project) and "c_15" not in clips(app.project)

    drive(demo_dir, scenario)


def test_trims_marks_markers_snapping_and_tracks(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        # V2 is the current track; the title covers [0, 75).
        await press("shift+right", "right_square_bracket")
        await settle(pilot)
        assert clips(app.project)["c_13"].end == 30
        await press("ctrl+z", "right", "left_square_bracket")
        await settle(pilot)
        assert clips(app.project)["c_13"].start == 31
        await press("ctrl+z", "alt+down")  # V1: the pattern under the playhead is selected
        assert app.selection == ("c_10",)
        await press("w")  # refused: the line on A2 is in the way of the ripple
        await settle(pilot)
        assert "ripple trim: Welcome line (c_14) on A2 is in the way" in status(app)
        assert clips(app.project)["c_10"].end == 240
        await press("g")
        app.screen.query_one(Input).value = "300"
        await press("enter", "escape", "tab")  # Tab takes the still under the playhead first
        assert app.selection == ("c_12",)
        await press("w")
        await settle(pilot)
        assert clips(app.project)["c_12"].end == 300
        await press("ctrl+z", "shift+left", "q")  # head to 270: ripple keeps the start
        await settle(pilot)
        assert (clips(app.project)["c_12"].start, clips(app.project)["c_12"].duration) == (
            240,
            60,
        )
        await press("ctrl+z", "home", "shift+right", "right")
        assert app.playhead == 31
        await press("ctrl+z", "alt+up")
        assert app.project.tracks[app.track_index].name == "V2"
        await press("i", "shift+right", "o")
        await settle(pilot)
        ed = app.project.editor
        assert (ed.mark_in, ed.mark_out) == (31, 61)
        await press("X")
        await settle(pilot)
        assert (app.project.editor.mark_in, app.project.editor.mark_out) == (None, None)
        await press("m")
        await settle(pilot)
        assert 61 in {m.frame for m in app.project.markers}
        snapping = app.project.editor.snapping
        await press("n")
        await settle(pilot)
        assert app.project.editor.snapping is not snapping
        view = read_view(app.session.dir.root)
        assert view is not None and view.snapping is not snapping

    drive(demo_dir, scenario)


def test_zoom_play_and_shuttle(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        view = app.timeline
        start = view.frames_per_col
        await press("equals_sign")
        assert view.frames_per_col < start or start == 1
        await press("minus", "minus")
        assert view.frames_per_col > start
        await press("backslash")
        fit = view.frames_per_col
        assert fit * view.viewport.width_cols >= app.project.duration
        await press("space")
        assert app.speed == 1
        for _ in range(50):
            await pilot.pause(0.02)  # type: ignore[attr-defined]
            if app.playhead >= 10:
                break
        assert app.playhead >= 10  # its own clock, at the project rate
        await press("k")
        assert app.speed == 0
        stopped = app.playhead
        await pilot.pause(0.1)  # type: ignore[attr-defined]
        assert app.playhead == stopped
        # (A key press under Pilot takes real time while playing, so the ladder is checked on
        # the action the keys are bound to.)
        await press("home", "l")
        assert app.speed == 1
        app.editor.action_shuttle(1)
        assert app.speed == 2
        app.editor.action_shuttle(1)
        app.editor.action_shuttle(1)
        assert app.speed == 4
        app.editor.action_shuttle(-1)
        assert app.speed == -1
        await press("k", "end", "j")
        assert app.speed in (-1, 0)  # backwards from the end (it may have reached 0 already)
        assert app.playhead < 329
        await press("space")
        assert app.speed == 0 or app.speed == 1

    drive(demo_dir, scenario)


def test_help_lists_every_key_and_the_palette_every_action(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(help_rows()) > len(KEYS)
        shown = {table.get_row_at(i)[1] for i in range(table.row_count)}
        assert {"Ctrl+S", "Ctrl+W", "Ctrl+W 1", "Ctrl+O", "Ctrl+G", "Ctrl+F"} <= shown
        await press("escape")
        assert not isinstance(app.screen, HelpScreen)
        titles = {
            c.title for c in app.get_system_commands(app.screen) if isinstance(c, SystemCommand)
        }
        for key in KEYS:
            assert f"{key.area}: {key.title}" in titles
        # A palette-only action runs from the palette.
        cmd = next(
            c
            for c in app.get_system_commands(app.screen)
            if c.title == "App: Save the playhead and selection now"
        )
        await press("right", "right")
        await cmd.callback()  # type: ignore[misc]
        await settle(pilot)
        view = read_view(app.session.dir.root)
        assert view is not None and view.playhead == 2

    drive(demo_dir, scenario)


def test_focus_moves_between_regions(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        assert app.focused is not None and app.focused.id == "timeline"

        def region() -> str | None:
            """The region holding the focus (the chat focuses its prompt box)."""
            node = app.focused
            while node is not None and node.id not in ("tree", "panes", "chat", "timeline"):
                node = node.parent  # type: ignore[assignment]
            return node.id if node is not None else None

        seen = []
        for _ in range(4):
            await press("f6")
            seen.append(region())
        assert seen == ["tree", "panes", "chat", "timeline"]
        await press("shift+f6")
        assert region() == "chat" and app.focused is not None
        assert app.focused.id == "chat-input"
        await press("f6")
        assert region() == "timeline"  # from inside the chat, F6 goes on to the next region

    drive(demo_dir, scenario)


def test_an_outside_change_appears_and_state_is_saved_on_quit(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        from engine.changes.ledger import Ledger
        from engine.tools import run_tool

        ledger = await Ledger.open(demo_dir)
        out = await run_tool(ledger, "timeline_move", {"clip_ids": ["c_13"], "to": 48}, apply=True)
        await ledger.close()
        assert out["ok"], out
        for _ in range(60):
            await pilot.pause(0.05)  # type: ignore[attr-defined]
            # the session reloads on its thread; the status line says so a moment later
            if clips(app.project)["c_13"].start == 48 and "reloaded" in status(app):
                break
        assert clips(app.project)["c_13"].start == 48
        assert "changed on disk; reloaded" in status(app)
        await pilot.press("right", "right", "right", "tab")  # type: ignore[attr-defined]
        await app.action_quit()

    drive(demo_dir, scenario)
    saved = read_view(demo_dir)
    assert saved is not None
    # Tab from frame 3 with nothing selected: the first clip starting at or after it.
    assert saved.playhead == 3 and saved.selection == ("c_14",)


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
def test_small_and_large_terminals_show_the_timeline_and_status(
    demo_dir: Path, size: tuple[int, int]
) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        lines = [app.timeline.render_line(y).text for y in range(app.timeline.size.height)]
        text = "\n".join(lines)
        assert "V1" in text and "A2" in text and "00:00:0" in text
        assert "snap on" in status(app)

    drive(demo_dir, scenario, size)


def test_mouse_click_selects_and_seeks_resize_and_theme(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        view = app.timeline
        vp = view.viewport
        top = view.content_region.y - view.region.y  # the border above the ruler
        # Click inside the still's block on V1 (ruler: 2 lines, then two lines per track).
        col = vp.header_cols + vp.col_of(250) - vp.first_col
        await pilot.click(view, offset=(col, top + 2 + 2 * 1))  # type: ignore[attr-defined]
        assert app.selection == ("c_12",)
        x = vp.header_cols + vp.col_of(90) - vp.first_col
        await pilot.click(view, offset=(x, top))  # type: ignore[attr-defined]
        assert abs(app.playhead - 90) <= vp.frames_per_col
        await pilot.resize_terminal(80, 24)  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.size == (80, 24) and "snap on" in status(app)
        app.theme = "textual-light"
        await pilot.pause()  # type: ignore[attr-defined]
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert "V1" in text and "Test pattern" in text and "┃" in text

    drive(demo_dir, scenario)


def test_a_drag_moves_the_clip_through_the_session(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        view = app.timeline
        a2 = next(t.id for t in app.project.tracks if t.name == "A2")
        view.post_message(TimelineView.MoveRequested(view, "c_15", a2, 270))
        await settle(pilot)
        await settle(pilot)
        moved = clips(app.project)["c_15"]
        assert moved.start == 270, status(app)

    drive(demo_dir, scenario)


def test_keys_are_remapped_from_the_keymap_file(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    (config / "reelcut").mkdir(parents=True)
    (config / "reelcut" / "keymap.json").write_text('{"editor.blade": "x"}')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        before = len(clips(app.project))
        await pilot.press("shift+right", "x")  # type: ignore[attr-defined]
        await settle(pilot)
        assert len(clips(app.project)) == before + 3  # title, pattern and its audio at 30
        await pilot.press("right", "ctrl+b")  # type: ignore[attr-defined]
        await settle(pilot)
        assert len(clips(app.project)) == before + 3  # the old key no longer blades

    drive(demo_dir, scenario)


def test_the_preview_address_is_shown_whole_and_copied(demo_dir: Path) -> None:
    """From the palette: the page's address, which an 80-column status line cuts, in a box
    (and on the clipboard); without a server, one line in the status bar."""
    from types import SimpleNamespace

    from tui.screens import AddressScreen

    url = "http://127.0.0.1:8731/?token=" + "x" * 43

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        await app.run_action("screen.preview_url")
        await pilot.pause()  # type: ignore[attr-defined]
        assert not isinstance(app.screen, AddressScreen)
        assert "no address to show yet" in status(app)
        app.preview = SimpleNamespace(url=url, port=8731)  # type: ignore[assignment]
        await app.run_action("screen.preview_url")
        await pilot.pause()  # type: ignore[attr-defined]
        screen = app.screen
        assert isinstance(screen, AddressScreen)
        shown = str(screen.query_one("#address-url", Static).render())
        assert shown.replace("\n", "") == url  # whole, wrapped if it must
        assert "ssh -L 8731:127.0.0.1:8731" in str(screen.query_one("#address-hint").render())
        assert app.clipboard == url
        await pilot.press("escape")  # type: ignore[attr-defined]
        assert not isinstance(app.screen, AddressScreen)
        app.preview = None

    drive(demo_dir, scenario, size=(80, 24))


def test_an_edit_that_races_an_outside_change_is_refused_once_and_the_editor_follows(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """project.json changed by another program just before a key: that edit is refused (it
    would overwrite the other change), the editor reloads at once and the next key works.
    Regression: the refusal recorded the changed file as the editor's own, so the poll never
    reloaded it and every later edit was refused until the palette's reload."""
    import tui.app

    monkeypatch.setattr(tui.app, "POLL_DISK_EVERY", 3600.0)  # no poll to rescue it

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        theirs = msgspec.structs.replace(app.project, name="renamed elsewhere")
        (demo_dir / "project.json").write_bytes(encode_project(theirs))
        await pilot.press("m")  # type: ignore[attr-defined]  # add a marker: refused
        await settle(pilot)
        assert "had changed on disk; reloaded it" in status(app)
        assert app.project.name == "renamed elsewhere"
        markers = len(app.project.markers)
        await pilot.press("m")  # type: ignore[attr-defined]
        await settle(pilot)
        assert len(app.project.markers) == markers + 1, status(app)
        saved = ProjectDir(demo_dir).load()
        assert saved.name == "renamed elsewhere" and len(saved.markers) == markers + 1

    drive(demo_dir, scenario)
