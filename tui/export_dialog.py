"""The editor's export dialog: where to, which range; the format follows the file's extension.

It sends ``export.start`` through the door (the editor's own workspace), so the export is a job
like any other: its progress is on the status line, and `reelcut jobs DIR cancel ID` (or the
palette's job list) stops it. A mistake is shown in the dialog, one line, and nothing is queued.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from engine.workspace import ReelcutError
from tui.form_keys import FORM_FOCUS_KEYS

FORMATS = ".mp4 (H.264/AAC) · .mov (ProRes 422 HQ) · .webm (VP9/Opus) · .wav (audio only)"


class ExportScreen(ModalScreen[dict[str, Any] | None]):
    """Ask for the output file and the range, queue the export, dismiss with its job."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    #export-box {
        width: 90%; max-width: 90; height: auto; border: round $accent;
        background: $surface; padding: 0 1;
    }
    #export-title { text-style: bold; margin-bottom: 1; }
    #export-error { color: $error; }
    #export-hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Cancel"), *FORM_FOCUS_KEYS]

    def __init__(self, workspace: Any, default_out: Path) -> None:
        super().__init__()
        self.workspace = workspace
        self.default_out = default_out

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label("Export the timeline (Enter exports, Esc cancels)", id="export-title")
            yield Label("File:")
            yield Input(str(self.default_out), id="export-out")
            yield Label("Range: empty for all, 'marks' for the in/out marks, or A-B:")
            yield Input("", id="export-range", placeholder="all")
            yield Static(FORMATS, id="export-hint")
            yield Label("", id="export-error")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        out = self.query_one("#export-out", Input).value.strip()
        span = self.query_one("#export-range", Input).value.strip() or None
        error = self.query_one("#export-error", Label)
        if not out:
            error.update("name the file to write")
            return
        path = Path(out).expanduser()
        if not path.is_absolute():
            path = self.default_out.parent / path
        try:
            job = await self.workspace.call(
                "export.start", {"out": str(path), "range": span, "force": False}
            )
        except ReelcutError as exc:
            error.update(str(exc))
            return
        self.dismiss(job)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
