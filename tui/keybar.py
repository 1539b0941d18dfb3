"""The footer: the keys that apply where the focus is, on one line drawn by one widget.

Textual's ``Footer`` recomposes a widget per key whenever the bindings change, which is every
focus move; in this editor that cost 30-100 ms a time and most of the work between the first
screen and a usable one. ``KeyBar`` keeps the list as data, redraws one line when it changes,
and maps a click back to its key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class KeyItem:
    """One entry of the bar: the key(s) to show, what they do and the key a click presses."""

    keys: str
    description: str
    press: str
    enabled: bool = True


class KeyBar(Widget, can_focus=False):
    """The bindings of the focused widget and its ancestors (grouped bindings share one
    entry), with the command palette's key at the right end. Clicking an entry presses its
    key; a disabled one rings the bell."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        & > .keybar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .keybar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.items: tuple[KeyItem, ...] = ()
        self.palette: KeyItem | None = None
        self._spans: list[tuple[int, int, KeyItem]] = []
        """Where each entry was drawn: (first column, end column, entry)."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        items, palette = self._collect(screen)
        if (items, palette) != (self.items, self.palette):
            self.items, self.palette = items, palette
            self.refresh()

    def _collect(self, screen: Screen[object]) -> tuple[tuple[KeyItem, ...], KeyItem | None]:
        app = self.app
        active = screen.active_bindings
        by_action: defaultdict[str, list[tuple[Binding, bool]]] = defaultdict(list)
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled))
        items: list[KeyItem] = []
        for group, runs in groupby(by_action.values(), lambda run: run[0][0].group):
            same_group = list(runs)
            if group is not None and len(same_group) > 1:
                firsts = [run[0] for run in same_group]
                items.append(
                    KeyItem(
                        "".join(app.get_key_display(b) for b, _ in firsts),
                        group.description,
                        firsts[0][0].key,
                        any(enabled for _, enabled in firsts),
                    )
                )
                continue
            for run in same_group:
                binding, enabled = run[0]
                items.append(
                    KeyItem(app.get_key_display(binding), binding.description, binding.key, enabled)
                )
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = KeyItem(
                app.get_key_display(binding), binding.description, binding.key, enabled
            )
        return tuple(items), palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        text_style = self.get_component_rich_style("keybar--description")
        width = self.size.width
        right = self._entry(self.palette, key_style, text_style) if self.palette else None
        room = width - (right.cell_len + 1 if right is not None else 0)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        spans: list[tuple[int, int, KeyItem]] = []
        for item in self.items:
            entry = self._entry(item, key_style, text_style)
            if line.cell_len + entry.cell_len > room:
                left = room - line.cell_len
                if left >= len(item.keys) + 6:  # the key and a few letters of what it does
                    entry.truncate(left, overflow="ellipsis")
                    spans.append((line.cell_len, line.cell_len + entry.cell_len, item))
                    line.append_text(entry)
                elif left > 0:
                    line.append("…", style=text_style)
                break
            spans.append((line.cell_len, line.cell_len + entry.cell_len, item))
            line.append_text(entry)
        if right is not None and self.palette is not None:
            line.append(" " * max(0, width - line.cell_len - right.cell_len))
            spans.append((line.cell_len, line.cell_len + right.cell_len, self.palette))
            line.append_text(right)
        self._spans = spans
        return line

    @staticmethod
    def _entry(item: KeyItem, key_style: Style, text_style: Style) -> Text:
        entry = Text(no_wrap=True, end="")
        entry.append(f" {item.keys} ", style=key_style)
        if item.description:
            entry.append(f"{item.description} ", style=text_style)
        if not item.enabled:
            entry.stylize("dim")
        return entry

    def item_at(self, x: int) -> KeyItem | None:
        """The entry drawn at column ``x`` of the bar, if any."""
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        item = self.item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.press)
        else:
            self.app.bell()
