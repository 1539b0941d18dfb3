"""The editor's layout: which regions show, one maximised, and how the rows are shared.

Regions: the project files / media bin (``#left``), the script panes (``#panes``), the agent
(``#chat``) and the picture viewer (``#viewer``, when the editor has one) in the top row, and the
timeline below. F4 then a letter hides or shows one (f, s, a, v, t), Shift+letter maximises it,
r brings every region back; F8 maximises the focused region (again: back). Hiding the region
that has the focus moves the focus to the next one shown; the last region shown stays.

Rows: the timeline takes the lines its ruler and tracks need (footage tracks tall), as long as
the top row keeps a third of the screen (half while scripts are open; at least `TOP_MIN_ROWS`);
the top row gets every other row. So at 200x50 the scripts, the agent and the picture get the
rows the timeline would leave empty, and a project with many tracks still leaves the top its
share (the timeline scrolls). A maximised region, or a timeline alone, fills everything.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label

if TYPE_CHECKING:
    from tui.editor_screen import EditorScreen
    from tui.timeline.widget import TimelineView

REGIONS: dict[str, str] = {
    "left": "project files / media bin",
    "panes": "scripts",
    "chat": "agent",
    "viewer": "picture viewer",
    "timeline": "timeline",
}
"""Region ids (the widgets' ids) and what the status line calls them."""

TOP = ("left", "panes", "chat", "viewer")
TOP_MIN_ROWS = 7
"""Rows the top row keeps beside the timeline: five lines inside a region's border."""


class RegionKeysScreen(ModalScreen[str | None]):
    """After F4: the next key hides, shows or maximises a region. Plain keys, so it works in
    every terminal and through tmux."""

    REGION_COMMANDS = (
        ("f", "toggle:left", "project files / media bin: hide or show"),
        ("s", "toggle:panes", "scripts: hide or show"),
        ("a", "toggle:chat", "agent: hide or show"),
        ("v", "toggle:viewer", "picture viewer: hide or show"),
        ("t", "toggle:timeline", "timeline: hide or show"),
        ("F S A V T", "maximise", "maximise that region (again: back)"),
        ("r", "restore", "every region back"),
    )
    BINDINGS = [
        Binding("f", "pick('toggle:left')", show=False),
        Binding("s", "pick('toggle:panes')", show=False),
        Binding("a", "pick('toggle:chat')", show=False),
        Binding("v", "pick('toggle:viewer')", show=False),
        Binding("t", "pick('toggle:timeline')", show=False),
        Binding("F", "pick('maximise:left')", show=False),
        Binding("S", "pick('maximise:panes')", show=False),
        Binding("A", "pick('maximise:chat')", show=False),
        Binding("V", "pick('maximise:viewer')", show=False),
        Binding("T", "pick('maximise:timeline')", show=False),
        Binding("r", "pick('restore')", show=False),
        Binding("escape", "pick(None)", "Cancel"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="script-dialog")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box small", id="region-keys"):
            yield Label("Regions (F4, then)", classes="dialog-title")
            for key, _, text in self.REGION_COMMANDS:
                yield Label(f"{key}  {text}")
            yield Label("Esc  nothing", classes="dim")

    def action_pick(self, command: str | None) -> None:
        self.dismiss(command)


class Regions:
    """The screen's regions: hidden ones, the maximised one, the timeline's rows."""

    def __init__(self, screen: EditorScreen) -> None:
        self.screen = screen
        self.hidden: set[str] = set()
        """Regions hidden by a key (the viewer also hides itself: `tui.viewer`)."""
        self.maximised: str | None = None
        """The region that fills the screen, if any."""

    def region(self, name: str) -> Widget | None:
        found = self.screen.query(f"#{name}")
        return found.first() if found else None

    def shown(self, name: str) -> bool:
        widget = self.region(name)
        return widget is not None and widget.display

    # -- the keys ------------------------------------------------------------------------

    def run(self, command: str) -> None:
        """A `RegionKeysScreen` choice: ``toggle:NAME``, ``maximise:NAME`` or ``restore``."""
        verb, _, name = command.partition(":")
        if verb == "toggle":
            self.toggle(name)
        elif verb == "maximise":
            self.maximise(name)
        else:
            self.restore()

    def toggle(self, name: str) -> None:
        """Hide ``name`` if it shows, else show it (leaving a maximised layout first)."""
        if self.region(name) is None:
            self.screen.host.flash(f"no {REGIONS[name]} in this editor")
            return
        if self.maximised is not None:
            self.maximised = None
            self.hidden.discard(name)
        elif name in self.hidden:
            self.hidden.discard(name)
        elif name == "viewer" and (own := getattr(self.screen, "action_toggle_viewer", None)):
            own()  # the viewer's own on/off (F7), which also follows the page
            return
        else:
            if not [r for r in REGIONS if r != name and self.shown(r)]:
                self.screen.host.flash(f"the {REGIONS[name]} is the last region shown")
                return
            self.hidden.add(name)
        self.apply()
        what = "hidden" if name in self.hidden else "shown"
        self.screen.host.flash(f"{REGIONS[name]} {what} (F4 r: every region back)")

    def maximise(self, name: str | None = None) -> None:
        """``name`` (default: the focused region) fills the screen; again: back."""
        name = name or self.focused_region()
        if name is None or self.region(name) is None:
            self.screen.host.flash("maximise: focus a region first (F6)")
            return
        if self.maximised == name:
            self.restore()
            return
        self.maximised = name
        self.apply()
        self.screen.host.flash(f"{REGIONS[name]} maximised (F8 or F4 r: back)")

    def restore(self) -> None:
        self.hidden.clear()
        self.maximised = None
        self.apply()
        self.screen.host.flash("every region shown")

    def focused_region(self) -> str | None:
        node = self.screen.focused
        while node is not None and node.id not in REGIONS:
            node = node.parent  # type: ignore[assignment]
        return node.id if node is not None else None

    # -- the screen ------------------------------------------------------------------------

    def apply(self) -> None:
        """Each region's display, then the rows; the focus leaves a region that went away."""
        focused = self.focused_region()
        for name in REGIONS:
            widget = self.region(name)
            if widget is None:
                continue
            if self.maximised is not None:
                if name == self.maximised:
                    widget.styles.display = "block"
                else:
                    widget.styles.display = "none"
            elif name in self.hidden:
                widget.styles.display = "none"
            else:
                widget.styles.clear_rule("display")  # the stylesheet's (the viewer's own)
        top = self.screen.query_one("#top")
        top.display = any(self.shown(name) for name in TOP)
        self.fit()
        if focused is not None and not self.shown(focused):
            for name in ("timeline", "panes", "left", "chat"):
                if self.shown(name):
                    self.screen.focus_region_named(name)
                    break

    def fit(self) -> None:
        """The timeline's height: what its tracks need while the top row shows (capped so the
        top keeps a third), else everything."""
        timeline = self.screen.query_one("#timeline")
        top = self.screen.query_one("#top")
        if not timeline.display or not top.display:
            timeline.styles.height = "1fr"
            return
        rows = self.free_rows()
        if rows <= 0:  # not laid out yet
            return
        view: TimelineView = timeline  # type: ignore[assignment]
        gutter = timeline.outer_size.height - timeline.scrollable_content_region.height
        if timeline.outer_size.height == 0:
            gutter = 2  # the top border and the scrollbar
        wanted = view.natural_lines() + gutter
        # The top keeps a third, or half while scripts are open (five lines to edit in at
        # 80x24 was too few; the tracks go down to two lines each then).
        keep = max(TOP_MIN_ROWS, rows // (2 if top.has_class("-scripts") else 3))
        height = max(8, min(wanted, rows - keep))
        if timeline.styles.height is None or timeline.styles.height.value != height:
            timeline.styles.height = height

    def free_rows(self) -> int:
        """Rows between the header and the status line."""
        screen = self.screen
        used = sum(
            w.outer_size.height for w in (screen.query_one("Header"), screen.query_one("#status"))
        )
        used += screen.query_one("#keys").outer_size.height
        return screen.size.height - used


def compact_preview(text: str, room: int) -> str:
    """The preview's state in at most ``room`` cells: whole if it fits, else its address
    without the token (the palette's "Preview page: show its address" has all of it), else
    cut with an ellipsis."""
    if cell_len(text) <= room:
        return text
    text = re.sub(r"https?://([^/\s]+)/\S*", r"\1", text)
    if cell_len(text) <= room:
        return text
    return set_cell_size(text, max(0, room - 1)) + "…"
