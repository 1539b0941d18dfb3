"""The editor's modal screens: the key help (``?``/F1), the go-to-timecode prompt (G) and the
preview page's address (from the command palette).

Loaded when first opened: the help's table is a `DataTable`, which the first paint does not
need.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from engine.errors import ReelcutError
from engine.timebase import format_timecode
from tui.keys import KEYS, display
from tui.navigate import parse_goto
from tui.project_tree import ProjectTree
from tui.script_dialogs import PaneKeysScreen
from tui.scripts import FindBar, ScriptArea, ScriptPanes


def help_rows() -> list[tuple[str, str, str]]:
    """(area, keys, what) for every editor key, then the keys of the tree and the panes."""
    rows = [(k.area, display(k.keys) if k.keys else "(palette)", k.title) for k in KEYS]
    for area, widget in (
        ("Scripts", ScriptPanes),
        ("Scripts", ScriptArea),
        ("Scripts", FindBar),
        ("Scripts", PaneKeysScreen),
        ("Project tree", ProjectTree),
    ):
        for b in widget.BINDINGS:
            if isinstance(b, Binding) and b.description and (b.id or widget is PaneKeysScreen):
                keys = display(b.key)
                rows.append(
                    (area, f"Ctrl+W {keys}" if widget is PaneKeysScreen else keys, b.description)
                )
    return rows


class KeysTable(DataTable[str]):
    """The help's table: Home and End go to the first and the last key (a DataTable's own
    Home/End scroll sideways, which a list of keys has no use for)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]


class HelpScreen(ModalScreen[None]):
    """Every key, by area (built from `tui.keys.KEYS`, so it cannot drift)."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = KeysTable(id="help-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("area", "keys", "action")
        for row in help_rows():
            table.add_row(*row)
        with Vertical(id="help-box"):
            yield Label("Keys (Esc closes; Ctrl+P finds every action by name)", id="help-title")
            yield table


class GoToScreen(ModalScreen[int | None]):
    """A timecode (or frame number) to jump to."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, rate: Any, current: int) -> None:
        super().__init__()
        self.rate = rate
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Label(
                "Go to timecode (HH:MM:SS:FF, 1:05:00, 5:10), frame, or +/- offset:",
                id="goto-title",
            )
            yield Input(format_timecode(self.current, self.rate), id="goto-input")
            yield Label("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            frame = parse_goto(event.value, self.rate, self.current)
        except ReelcutError as exc:
            self.query_one("#goto-error", Label).update(str(exc))
            return
        self.dismiss(frame)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class AddressScreen(ModalScreen[None]):
    """The preview page's address in full (it wraps), with how to reach it over SSH."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, url: str, port: int) -> None:
        super().__init__()
        self.url = url
        self.port = port

    def compose(self) -> ComposeResult:
        with Vertical(id="address-box"):
            yield Label("Preview page (Esc closes)", id="address-title")
            yield Static(self.url, id="address-url")
            yield Static(
                "Copied to the clipboard where the terminal allows it (OSC 52). Over SSH, "
                f"forward the port first: ssh -L {self.port}:127.0.0.1:{self.port} HOST",
                id="address-hint",
            )
            base, _, token = self.url.partition("/?token=")
            yield Static(
                f"MCP over HTTP: {base}/mcp with the header Authorization: Bearer {token}",
                id="address-mcp",
            )
