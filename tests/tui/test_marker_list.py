"""The marker list (Shift+M, issue 19 item 3) under Pilot: it lists the demo's markers in frame
order, Enter moves the playhead there, r renames, n edits the note, Delete removes, each one
undoable edit through the session.

The demo has two markers: Midpoint at 120 and Still (#33ccff) at 240.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from tests.tui.test_edit_keys import answer
from tests.tui.test_editor import drive, settle
from tui.app import ReelcutApp
from tui.marker_list import MarkerListScreen


def rows(app: ReelcutApp) -> list[list[str]]:
    table = app.screen.query_one("#markers-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def test_open_jump_and_close(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("M")
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, MarkerListScreen)
        assert [(r[0], r[2], r[3]) for r in rows(app)] == [
            ("00:00:04:00", "Midpoint", ""),
            ("00:00:08:00", "Still", ""),
        ]
        assert app.playhead == 0
        await press("down", "enter")
        await pilot.pause()  # type: ignore[attr-defined]
        assert not isinstance(app.screen, MarkerListScreen)
        assert app.playhead == 240
        await press("M")
        await pilot.pause()  # type: ignore[attr-defined]
        await press("escape")
        await pilot.pause()  # type: ignore[attr-defined]
        assert not isinstance(app.screen, MarkerListScreen)
        assert app.playhead == 240

    drive(demo_dir, scenario)


def test_rename_note_delete_and_undo(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("M")
        await pilot.pause()  # type: ignore[attr-defined]
        await press("down", "r")
        await answer(app, pilot, "Freeze")
        assert isinstance(app.screen, MarkerListScreen)
        assert [r[2] for r in rows(app)] == ["Midpoint", "Freeze"]
        await press("n")
        await answer(app, pilot, "hold two seconds longer")
        assert [(m.name, m.note) for m in app.project.markers] == [
            ("Midpoint", ""),
            ("Freeze", "hold two seconds longer"),
        ]
        assert rows(app)[1][3] == "hold two seconds longer"
        await press("n")
        await answer(app, pilot, "-")  # clears the note
        assert [m.note for m in app.project.markers] == ["", ""]
        await press("up", "delete")
        await settle(pilot)
        assert [m.name for m in app.project.markers] == ["Freeze"]
        assert [r[2] for r in rows(app)] == ["Freeze"]
        await press("escape")
        await pilot.pause()  # type: ignore[attr-defined]
        await press("ctrl+z")  # the delete
        await settle(pilot)
        assert [m.name for m in app.project.markers] == ["Midpoint", "Freeze"]
        await press("ctrl+z", "ctrl+z")  # the note cleared, then set
        await settle(pilot)
        await press("ctrl+z")  # the rename
        await settle(pilot)
        assert [(m.name, m.note) for m in app.project.markers] == [
            ("Midpoint", ""),
            ("Still", ""),
        ]

    drive(demo_dir, scenario)
