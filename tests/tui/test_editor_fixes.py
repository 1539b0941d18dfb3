"""The bugs found while using the editor as a new user would (issue 19, item 6), each under Pilot
or through the real command, asserted on what the user sees and what is on disk.

Covered elsewhere: M twice on a frame (tests/tui/test_edit_keys.py,
test_titles_text_and_markers) and the palette's internal ids (test_edit_keys.py,
test_the_palette_says_keys_not_internal_names).
"""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable, Input, Label

from engine.agent.run import pick_workflow
from engine.session import Session
from engine.timebase import parse_rate
from engine.workflows import check_workflow
from tests.tui.test_editor import drive, settle, status
from tests.tui.test_scripts import open_file, wait_for, wait_screen
from tui.app import ReelcutApp
from tui.cli import main
from tui.screens import GoToScreen, HelpScreen
from tui.script_dialogs import ConflictScreen
from tui.scripts import ScriptPanes


def test_keep_mine_checks_the_json_as_ctrl_s_does(demo_dir: Path) -> None:
    """Invalid JSON in a pane, a newer file on disk, Ctrl+S, then "keep mine": refused with the
    line and column (the disk keeps its valid version); "keep mine" again within the window
    writes it anyway, as Ctrl+S twice does."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        path = demo_dir / "scripts/Scenario_TTS.json"
        pane = await open_file(app, pilot, "scripts/Scenario_TTS.json")
        pane.area.move_cursor((2, 0))
        pane.area.insert("oops ")
        theirs = json.dumps({**json.loads(path.read_text()), "title": "Theirs"}, indent=2) + "\n"
        path.write_text(theirs)
        await app.editor.query_one(ScriptPanes).poll()  # the pane is marked: Ctrl+S compares
        await press("ctrl+s")
        await wait_screen(app, pilot, ConflictScreen)
        await press("k")
        await wait_for(pilot, lambda: "not saved" in status(app), "the refusal")
        assert path.read_text() == theirs  # still valid JSON: nothing written
        assert "line 3, column 1" in status(app)
        assert pane.area.cursor_location == (2, 0)
        await press("ctrl+s")
        await wait_screen(app, pilot, ConflictScreen)
        await press("k")  # asked twice: written as it is
        await wait_for(pilot, lambda: "saved your version" in status(app), "the save")
        assert path.read_text().splitlines()[2].startswith("oops ")

    drive(demo_dir, scenario)


def test_the_status_names_the_selected_clips_track_after_a_restart(demo_dir: Path) -> None:
    with Session(demo_dir) as session:
        session.set_editor(selection=("c_11",))  # the pattern's sound, on A1 (the third track)

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        assert app.selection == ("c_11",)
        assert app.project.tracks[app.track_index].name == "A1"
        assert "track A1" in status(app)

    drive(demo_dir, scenario)


def test_a_status_message_goes_with_the_next_key(demo_dir: Path) -> None:
    """A refusal says why; once the user has moved on (any key) it no longer shows."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.seek(7)  # no marker here
        await app.run_action("screen.remove_marker")
        assert "no marker at the playhead" in status(app)
        await press("right")
        assert app.playhead == 8
        assert "no marker" not in status(app)
        await press("ctrl+b")  # a new message still shows after its own key
        await settle(pilot)
        assert "cut" in status(app)

    drive(demo_dir, scenario)


def test_go_to_takes_short_timecode_and_offsets() -> None:
    from tui.navigate import parse_goto

    rate = parse_rate("30")
    assert parse_goto("1:05:00", rate, 0) == (60 + 5) * 30  # MM:SS:FF, as NLEs fill from the right
    assert parse_goto("5:10", rate, 0) == 5 * 30 + 10  # SS:FF
    assert parse_goto("00:00:05:10", rate, 0) == 160
    assert parse_goto("150", rate, 0) == 150
    assert parse_goto("+30", rate, 100) == 130
    assert parse_goto("-1:00", rate, 100) == 70
    assert parse_goto("-200", rate, 100) == 0  # not before the start


def test_go_to_in_the_editor(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        for typed, expected in (("1:05:00", 1950), ("+30", 1980), ("-1:00", 1950)):
            await press("g")
            await wait_screen(app, pilot, GoToScreen)
            app.screen.query_one(Input).value = typed
            await press("enter")
            await pilot.pause()  # type: ignore[attr-defined]
            assert app.playhead == expected, typed
        await press("g")
        app.screen.query_one(Input).value = "1:xx"
        await press("enter")
        error = app.screen.query_one("#goto-error", Label).render()
        assert "1:xx" in str(error)
        assert app.playhead == 1950

    drive(demo_dir, scenario)


def test_reelcut_new_makes_a_workflow_the_agent_can_use(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    assert main(["new", str(root)]) == 0
    rel = pick_workflow(root, None)
    assert rel == "scripts/workflows/editor.json"
    text = (root / rel).read_text()
    assert check_workflow(text, json.loads(text)) is None


def test_a_fifth_file_says_which_pane_it_replaced(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        panes = app.editor.query_one(ScriptPanes)
        for i in range(5):
            (demo_dir / "scripts" / f"n{i}.md").write_text(f"note {i}\n")
        for i in range(4):
            await open_file(app, pilot, f"scripts/n{i}.md")
        await open_file(app, pilot, "scripts/n4.md")
        assert len(panes.panes) == 4
        assert "in place of scripts/n3.md" in status(app)

    drive(demo_dir, scenario)


def test_enter_keeps_the_lines_indentation(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        pane = await open_file(app, pilot, "scripts/Scenario_TTS.json")
        line = pane.area.document.get_line(2)
        indent = line[: len(line) - len(line.lstrip())]
        assert indent  # the file is indented there
        pane.area.move_cursor((2, len(line)))
        await pilot.press("enter", "x")  # type: ignore[attr-defined]
        assert pane.area.document.get_line(3) == indent + "x"

    drive(demo_dir, scenario)


def test_home_and_end_in_the_help_go_to_the_first_and_last_key(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("f1")
        await wait_screen(app, pilot, HelpScreen)
        table = app.screen.query_one(DataTable)
        await press("end")
        await pilot.pause()  # type: ignore[attr-defined]
        assert table.cursor_row == table.row_count - 1
        assert table.scroll_x == 0
        await press("home")
        await pilot.pause()  # type: ignore[attr-defined]
        assert table.cursor_row == 0 and table.scroll_x == 0

    drive(demo_dir, scenario, size=(80, 24))
