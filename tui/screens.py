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
from tui.keymap_presets import DEFAULT_PRESET, PRESETS
from tui.keys import KEYS, Key, display
from tui.navigate import parse_goto
from tui.project_tree import ProjectTree
from tui.script_dialogs import PaneKeysScreen
from tui.scripts import FindBar, ScriptArea, ScriptPanes


def help_rows(
    keys: tuple[Key, ...] = KEYS, preset: str = DEFAULT_PRESET
) -> list[tuple[str, str, str]]:
    """(area, keys, what) for every editor key (in the keymap's preset), the preset's keys
    that differ from the NLE's and why, then the keys of the tree and the panes."""
    rows = [(k.area, display(k.keys) if k.keys else "(palette)", k.title) for k in keys]
    if preset in PRESETS:
        titles = {k.action: k.title for k in KEYS}
        for row in PRESETS[preset].rows:
            if row.note:
                here = display(row.keys) if row.keys else "(palette)"
                rows.append(
                    (
                        f"{PRESETS[preset].title} keys",
                        f"{row.nle} -> {here}",
                        f"{titles[row.action]}: {row.note}",
                    )
                )
    for area, widget in (
        ("Scripts", ScriptPanes),
        ("Scripts", ScriptArea),
        ("Scripts", FindBar),
        ("Scripts", PaneKeysScreen),
        ("Project tree", ProjectTree),
    ):
        for b in widget.BINDINGS:
            if isinstance(b, Binding) and b.description and (b.id or widget is PaneKeysScreen):
                shown = display(b.key)
                rows.append(
                    (area, f"Ctrl+W {shown}" if widget is PaneKeysScreen else shown, b.description)
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
    """Every key, by area (built from `tui.keys.KEYS` in the keymap's preset, so it cannot
    drift)."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, keys: tuple[Key, ...] = KEYS, preset: str = DEFAULT_PRESET) -> None:
        super().__init__()
        self.keys, self.preset = keys, preset

    def compose(self) -> ComposeResult:
        table = KeysTable(id="help-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("area", "keys", "action")
        for row in help_rows(self.keys, self.preset):
            table.add_row(*row)
        with Vertical(id="help-box"):
            layout = "" if self.preset not in PRESETS else f", {PRESETS[self.preset].title} layout"
            yield Label(
                f"Keys{layout} (Esc closes; Ctrl+P finds every action by name)", id="help-title"
            )
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
                "Go to timecode (HH:MM:SS:FF) or frame; 1:05:00 and 5:10 fill from the right, "
                "+30 and -1:00 move from here:",
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
