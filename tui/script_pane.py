"""One script pane: a view of a `Doc` (`tui.script_docs`) with its title, its text and its
find bar.

The text is a `ScriptArea`: a `TextArea` with tree-sitter highlighting chosen by the file's
suffix (TSX through tree-sitter-typescript when it is installed), line numbers, soft wrap for
markdown, go to line and find. `ScriptPane.set_text` replaces only what differs, so a view that
follows another view or the disk keeps its cursor and scroll. The panes' layout and the files
are `tui.scripts.ScriptPanes`.
"""

from __future__ import annotations

import functools
from pathlib import Path, PurePosixPath
from typing import Any

import textual
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Input, Label, TextArea
from textual.widgets.text_area import Selection

from tui.script_dialogs import GoToLineScreen
from tui.script_docs import Doc
from tui.text_ops import common_ends, count_matches, find, location, offset_of

LANGUAGES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".js": "javascript",
    ".jsx": "javascript",
    ".ts": "tsx",
    ".tsx": "tsx",
    ".css": "css",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
}


@functools.cache
def _tsx() -> tuple[Any, str] | None:
    """The TSX grammar and a highlight query (Textual's JavaScript query, which covers JSX,
    plus the TypeScript grammar's own), or None without tree-sitter-typescript."""
    try:
        import tree_sitter_typescript
        from tree_sitter import Language
    except ImportError:
        return None
    js = Path(textual.__file__).parent / "tree-sitter" / "highlights" / "javascript.scm"
    query = js.read_text(encoding="utf-8") + "\n" + tree_sitter_typescript.HIGHLIGHTS_QUERY
    return Language(tree_sitter_typescript.language_tsx()), query


def language_for(path: str) -> str | None:
    return LANGUAGES.get(PurePosixPath(path).suffix.lower())


class ScriptArea(TextArea):
    """The text of one pane."""

    BINDINGS = [
        Binding("ctrl+g", "goto_line", "Go to line", id="panes.goto_line"),
        Binding("ctrl+f", "find", "Find", id="panes.find"),
        Binding("f3", "find_next(1)", "Find next", show=False, id="panes.find_next"),
        Binding("shift+f3", "find_next(-1)", "Find previous", show=False, id="panes.find_prev"),
        # TextArea deletes a word with Ctrl+W (also Ctrl+Backspace, Alt+Backspace, which stay);
        # here Ctrl+W is the pane prefix, as in vim and helix: ScriptPanes binds it.
        Binding("ctrl+w", "pane_keys", "Panes..."),
        # TextArea selects a line with F6; in reelcut F6 moves between regions everywhere.
        Binding("f6", "screen.focus_region(1)", "Next region", show=False),
        Binding("shift+f6", "screen.focus_region(-1)", "Previous region", show=False),
    ]

    async def _on_key(self, event: events.Key) -> None:
        """Enter keeps the line's indentation (TextArea's own starts the new line at column
        0, which in JSON and TSX means re-typing it on every line)."""
        if event.key == "enter" and not self.read_only:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            row, column = min(start, end)
            line = self.document.get_line(row)[:column]
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            self._replace_via_keyboard("\n" + indent, start, end)
            return
        await super()._on_key(event)

    def render_lines(self, crop: Region) -> list[Strip]:
        """A pane mounted while the screen is being composited (a fifth file opened over four
        panes) can be asked for its lines before its component styles exist; Textual's
        TextArea then raises KeyError from its theme, which would end the editor. It draws
        blank for that one frame and properly on the next."""
        try:
            return super().render_lines(crop)
        except KeyError as exc:
            if "COMPONENT_CLASSES" not in str(exc):
                raise
            self.refresh()
            return [Strip.blank(crop.width)] * crop.height

    def __init__(self, text: str, path: str, *, read_only: bool) -> None:
        language = language_for(path)
        super().__init__(
            text,
            show_line_numbers=True,
            soft_wrap=language == "markdown",
            read_only=read_only,
            tab_behavior="indent" if language in ("javascript", "tsx", "json") else "focus",
        )
        if language == "tsx" and (tsx := _tsx()) is not None:
            self.register_language("tsx", *tsx)
        if language is not None and language in self.available_languages:
            try:
                self.language = language
            except Exception:  # a grammar that fails to load: plain text
                self.language = None

    @property
    def pane(self) -> ScriptPane:
        parent = self.parent
        assert isinstance(parent, ScriptPane)
        return parent

    def action_goto_line(self) -> None:
        self.pane.goto_line()

    def action_pane_keys(self) -> None:
        raise SkipAction  # not TextArea's delete-word: the key goes on to the panes' binding

    def action_find(self) -> None:
        self.pane.open_find()

    def action_find_next(self, step: int) -> None:
        self.pane.find_next(step)


class FindBar(Horizontal):
    """The pane's find field and its ``n of N`` count."""

    BINDINGS = [
        Binding("escape", "close", "Close find", id="panes.find_close"),
        Binding("f3", "step(1)", "Find next", show=False),
        Binding("shift+f3,up", "step(-1)", "Find previous", show=False),
        Binding("down", "step(1)", "Find next", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="find (Enter: next, Shift+F3: previous, Esc: close)")
        yield Label("", classes="find-count")

    def action_close(self) -> None:
        pane = self.parent
        assert isinstance(pane, ScriptPane)
        pane.close_find()

    def action_step(self, step: int) -> None:
        pane = self.parent
        assert isinstance(pane, ScriptPane)
        pane.find_next(step)


class ScriptPane(Vertical):
    """One view of a `Doc`."""

    def __init__(self, doc: Doc, text: str, **kwargs: Any) -> None:
        super().__init__(classes="script-pane", **kwargs)
        self.doc = doc
        self._initial = text
        self._find_from = 0

    def compose(self) -> ComposeResult:
        yield Label(self.title(dirty=False), classes="pane-title")
        yield ScriptArea(self._initial, self.doc.path, read_only=self.doc.read_only)
        bar = FindBar(classes="find-bar")
        bar.display = False
        yield bar

    @property
    def path(self) -> str:
        return self.doc.path

    @property
    def read_only(self) -> bool:
        return self.doc.read_only

    @property
    def area(self) -> ScriptArea:
        return self.query_one(ScriptArea)

    @property
    def dirty(self) -> bool:
        areas = self.query(ScriptArea)  # none yet while the pane is being composed
        return bool(areas) and areas.first().text != self.doc.saved_text

    @property
    def number(self) -> int:
        """The pane's place among the panes shown, from 1 (one being removed is not shown)."""
        if self.parent is None:
            return 1
        shown = [p for p in self.parent.query_children(ScriptPane) if p.display]
        return shown.index(self) + 1 if self in shown else 1

    def title(self, *, dirty: bool | None = None) -> str:
        doc = self.doc
        dirty = self.dirty if dirty is None else dirty
        mark = " (read-only)" if doc.read_only else " ●" if dirty else ""
        text = f"{self.number} {doc.path}{mark}"
        if doc.conflict:
            what = "deleted on disk" if doc.deleted else "changed on disk"
            text += f"  ({what}: Ctrl+R compares and lets you choose)"
        elif doc.problem:
            text += f"  ({doc.problem})"
        return text

    def show_title(self) -> None:
        self.query_one(".pane-title", Label).update(self.title())

    # -- replace the text in place -----------------------------------------------------------

    def set_text(self, new: str) -> None:
        """Make the view show ``new`` by replacing only what differs, so the cursor, selection
        and scroll stay where they were relative to the text around them."""
        area = self.area
        old = area.text
        if old == new:
            return
        prefix, suffix = common_ends(old, new)
        start = location(old, prefix)
        end = location(old, len(old) - suffix)
        scroll = area.scroll_offset
        area.replace(new[prefix : len(new) - suffix], start, end, maintain_selection_offset=True)
        area.scroll_to(scroll.x, scroll.y, animate=False)

    # -- go to line and find -----------------------------------------------------------------

    def goto_line(self) -> None:
        area = self.area

        def done(answer: tuple[int, int] | None) -> None:
            if answer is not None:
                line, column = answer
                area.move_cursor((line - 1, column - 1), center=True)
            area.focus()

        self.app.push_screen(
            GoToLineScreen(area.document.line_count, area.cursor_location[0] + 1), done
        )

    def open_find(self) -> None:
        bar = self.query_one(FindBar)
        field = bar.query_one(Input)
        area = self.area
        selected = area.selected_text
        if selected and "\n" not in selected:
            field.value = selected
        self._find_from = offset_of(area.text, area.selection.start)
        bar.display = True
        field.focus()
        self._show_count()

    def close_find(self) -> None:
        self.query_one(FindBar).display = False
        self.area.focus()

    @on(Input.Changed)
    def _find_as_you_type(self, event: Input.Changed) -> None:
        event.stop()
        self._select_match(find(self.area.text, event.value, self._find_from))

    @on(Input.Submitted)
    def _find_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.find_next(1)

    def find_next(self, step: int) -> None:
        query = self.query_one(FindBar).query_one(Input).value
        if not query:
            self.open_find()
            return
        area = self.area
        text = area.text
        sel = area.selection
        if step > 0:
            start = offset_of(text, max(sel.start, sel.end))
        else:
            start = offset_of(text, min(sel.start, sel.end))
        match = find(text, query, start, backwards=step < 0)
        if match is not None:
            self._find_from = match[0]
        self._select_match(match)

    def _select_match(self, match: tuple[int, int] | None) -> None:
        area = self.area
        if match is not None:
            text = area.text
            area.selection = Selection(location(text, match[0]), location(text, match[1]))
            area.scroll_cursor_visible(center=True)
        self._show_count(match)

    def _show_count(self, match: tuple[int, int] | None = None) -> None:
        bar = self.query_one(FindBar)
        query = bar.query_one(Input).value
        label = bar.query_one(".find-count", Label)
        if not query:
            label.update("")
            return
        text = self.area.text
        total = count_matches(text, query)
        if total == 0 or match is None:
            label.update("no match")
            return
        before = count_matches(text[: match[0]], query)
        label.update(f"{before + 1} of {total}")
