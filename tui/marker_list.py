"""The marker list (Shift+M): every marker in frame order, with its timecode, colour, name and
note. Enter moves the playhead to the highlighted marker and closes; r renames it, n edits its
note, Delete removes it, Esc closes.

Each edit is one op through the editor's door (`TrackEdits`), as the marker keys send them,
so Ctrl+Z undoes it. Loaded when first opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from engine.model import Marker
from engine.ops import EditMarker, Op, RemoveMarker
from engine.timebase import format_timecode

if TYPE_CHECKING:
    from tui.track_actions import TrackEdits

CLEAR_NOTE = "-"
"""Typed as a note, clears it (an empty prompt is a cancel)."""


def swatch(color: str) -> Text:
    """Two cells in the marker's colour (its alpha, if any, left out)."""
    try:
        return Text("██", style=Style(color=color[:7]))
    except Exception:  # a colour rich cannot show: the text says it
        return Text(color)


class MarkerListScreen(ModalScreen[None]):
    """Every marker; the edits go through ``edits`` (the editor's `TrackEdits`)."""

    DEFAULT_CSS = """
    MarkerListScreen { align: center middle; }
    #markers-box { width: 90%; height: 80%; border: round $accent; background: $surface; }
    #markers-table { height: 1fr; }
    """

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("r", "rename", "Rename"),
        Binding("n", "note", "Note"),
        Binding("delete", "remove", "Delete"),
    ]

    def __init__(self, edits: TrackEdits) -> None:
        super().__init__()
        self.edits = edits

    def compose(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(
            id="markers-table", cursor_type="row", zebra_stripes=True
        )
        table.add_columns("timecode", "colour", "name", "note")
        with Vertical(id="markers-box"):
            yield Label(
                "Markers (Enter goes there, r renames, n edits the note, Delete removes, "
                "Esc closes)",
                id="markers-title",
            )
            yield table

    def on_mount(self) -> None:
        self.refill()

    def markers(self) -> list[Marker]:
        return sorted(self.edits.app.project.markers, key=lambda m: (m.frame, m.id))

    def refill(self, keep: str | None = None) -> None:
        """The rows from the project as it is now; the cursor stays on ``keep`` (a marker
        id) if it is still there, else on the row it was on."""
        table: DataTable[str | Text] = self.query_one("#markers-table", DataTable)
        row = table.cursor_row
        table.clear()
        rate = self.edits.app.project.rate
        for m in self.markers():
            table.add_row(format_timecode(m.frame, rate), swatch(m.color), m.name, m.note, key=m.id)
        ids = [m.id for m in self.markers()]
        if keep in ids:
            row = ids.index(keep)
        if ids:
            table.move_cursor(row=min(max(row, 0), len(ids) - 1))
        else:
            self.query_one("#markers-title", Label).update(
                "No markers (M adds one at the playhead; Esc closes)"
            )

    def current(self) -> Marker | None:
        marks = self.markers()
        row = self.query_one("#markers-table", DataTable).cursor_row
        return marks[row] if marks and 0 <= row < len(marks) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        marker = next((m for m in self.markers() if m.id == event.row_key.value), None)
        if marker is None:
            return
        app = self.edits.app
        app.seek(marker.frame)
        app.timeline.show_playhead()
        self.dismiss(None)

    async def _send(self, op: Op, what: str, keep: str | None) -> None:
        await self.edits.screen._apply(op, what)
        self.refill(keep)

    def action_rename(self) -> None:
        marker = self.current()
        if marker is None:
            return
        marker_id = marker.id

        async def then(name: str) -> None:
            await self._send(EditMarker(marker_id=marker_id, name=name), "rename marker", marker_id)

        self.edits._prompt(f"Marker {marker.name or marker.id}: name", marker.name, then)

    def action_note(self) -> None:
        marker = self.current()
        if marker is None:
            return
        marker_id = marker.id

        async def then(note: str) -> None:
            note = "" if note == CLEAR_NOTE else note
            await self._send(EditMarker(marker_id=marker_id, note=note), "marker note", marker_id)

        self.edits._prompt(
            f"Marker {marker.name or marker.id}: note",
            marker.note,
            then,
            f"one line; {CLEAR_NOTE} clears it",
        )

    async def action_remove(self) -> None:
        marker = self.current()
        if marker is not None:
            await self._send(RemoveMarker(marker_id=marker.id), "remove marker", None)
