"""The script panes.

The project tree is in `tui.project_tree`; the pure text helpers are in `tui.text_ops`.

`ScriptPanes` shows up to four `ScriptPane` views side by side, or 2x2 when there is room
for it. A file open in two panes is one `Doc`: an edit in one view appears in the other, and
the dirty marker, the saved version and any conflict are the document's. Each view is a
`ScriptArea` (a `TextArea` with tree-sitter highlighting, line numbers, soft wrap for
markdown, go to line, find).

Saving is atomic and only over the version the document loaded (`engine.scripts.save_text`);
JSON is checked first (`engine.filechecks.check_text`: a parse error or a workflow schema
problem with its line and column, the cursor moved there; Ctrl+S again saves it anyway). A file
that changed on disk updates clean views in place (cursor and scroll kept); a dirty document
is marked, and saving or Ctrl+R shows the diff and lets the user keep theirs or take the
disk's (`tui.script_dialogs.ConflictScreen`) — a pane never silently overwrites a newer file.

File reads, writes and hashes run on worker threads; the widgets post and receive.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import textual
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import Input, Label, TextArea
from textual.widgets.text_area import Selection

from engine.errors import ReelcutError
from engine.filechecks import check_text
from engine.projectfile import PROJECT_FILE
from engine.scripts import (
    FileConflict,
    create_text,
    current_hash,
    delete_text,
    read_text,
    rename_text,
    save_text,
)
from engine.textmerge import merge3
from tui.project_tree import ProjectTree
from tui.script_dialogs import (
    MERGED,
    MINE,
    THEIRS,
    ConfirmScreen,
    ConflictScreen,
    GoToLineScreen,
    PaneKeysScreen,
    PromptScreen,
)
from tui.text_ops import common_ends, count_matches, find, location, offset_of

MAX_PANES = 4
GRID_MIN_ROWS = 20  # the panes' region needs this many rows for 2x2
COLUMN_MIN_WIDTH = 40  # below this per pane, three or four panes go 2x2 (when tall enough)
AGAIN_WINDOW = 3.0  # seconds in which a second close discards edits, a second save skips checks

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


# -- the document -----------------------------------------------------------------------------


@dataclass(eq=False)
class Doc:
    """One open file, shown by one or more panes."""

    path: str
    saved_text: str  # what is on disk as far as this document knows (its base)
    base_hash: str | None
    conflict: bool = False  # the disk moved away from the base while there were edits
    deleted: bool = False  # ... by deleting the file
    problem: str = ""  # the last check's finding, shown in the title until the next save

    @property
    def read_only(self) -> bool:
        """project.json changes through the session (the timeline, undo), never as text."""
        return self.path == PROJECT_FILE


class ScriptArea(TextArea):
    """The text of one pane."""

    BINDINGS = [
        Binding("ctrl+g", "goto_line", "Go to line", id="panes.goto_line"),
        Binding("ctrl+f", "find", "Find", id="panes.find"),
        Binding("f3", "find_next(1)", "Find next", show=False, id="panes.find_next"),
        Binding("shift+f3", "find_next(-1)", "Find previous", show=False, id="panes.find_prev"),
        # TextArea deletes a word with Ctrl+W (also Ctrl+Backspace, Alt+Backspace, which stay);
        # here Ctrl+W is the pane prefix, as in vim and helix.
        Binding("ctrl+w", "pane_keys", "Panes..."),
        # TextArea selects a line with F6; in reelcut F6 moves between regions everywhere.
        Binding("f6", "screen.focus_region(1)", "Next region", show=False),
        Binding("shift+f6", "screen.focus_region(-1)", "Previous region", show=False),
    ]

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
        panes = self.pane.parent
        if isinstance(panes, ScriptPanes):
            panes.action_pane_keys()

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
        parent = self.parent
        return parent.panes.index(self) + 1 if isinstance(parent, ScriptPanes) else 1

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


class ScriptPanes(Container, can_focus=True):
    """Up to four panes: side by side, or 2x2 when three or four would be narrow and the
    region is tall enough."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="panes.save"),
        Binding("ctrl+r", "reload_pane", "Reload", id="panes.reload"),
        Binding("ctrl+w", "pane_keys", "Pane: 1-4 s h l c", id="panes.prefix"),
        Binding("ctrl+f4", "close_pane", "Close pane", show=False, id="panes.close"),
        Binding("ctrl+backslash", "split", "Split", show=False, id="panes.split"),
        Binding("alt+right", "cycle_pane(1)", "Next pane", show=False, id="panes.next"),
        Binding("alt+left", "cycle_pane(-1)", "Previous pane", show=False, id="panes.previous"),
        Binding("alt+shift+right", "move_pane(1)", "Move right", show=False, id="panes.move_right"),
        Binding("alt+shift+left", "move_pane(-1)", "Move left", show=False, id="panes.move_left"),
        # Where the terminal sends them (not through tmux, which turns Alt+1 into '¡').
        Binding("alt+1", "focus_pane(1)", "Pane 1", show=False),
        Binding("alt+2", "focus_pane(2)", "Pane 2", show=False),
        Binding("alt+3", "focus_pane(3)", "Pane 3", show=False),
        Binding("alt+4", "focus_pane(4)", "Pane 4", show=False),
    ]

    class Said(Message):
        """A one-line outcome for the status bar."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Saved(Message):
        """A file was written from a pane (the preview recompiles a Remotion clip from it)."""

        def __init__(self, path: str, sha256: str) -> None:
            super().__init__()
            self.path, self.sha256 = path, sha256

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project_root = root
        self.docs: dict[str, Doc] = {}
        self._discard: tuple[ScriptPane, float] | None = None
        self._refused: tuple[Doc, str, float] | None = None  # the last save refused by a check
        self._resolving: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Label(
            "Scripts: open a file from the project tree (Enter) or Ctrl+O", id="panes-empty"
        )

    def say(self, text: str) -> None:
        self.post_message(self.Said(text))

    def on_focus(self) -> None:
        if self.panes:
            self.panes[0].area.focus()

    def on_resize(self, event: Resize) -> None:
        self._arrange()

    @property
    def panes(self) -> list[ScriptPane]:
        """The panes in order, less one being removed (its ``display`` is false from the
        moment ``remove()`` is called, while its title and text are already going)."""
        return [p for p in self.query_children(ScriptPane) if p.display]

    def unsaved(self) -> list[str]:
        """The open files with edits not on disk."""
        out = []
        for doc in self.docs.values():
            views = self.views(doc)
            if views and not doc.read_only and views[0].dirty:
                out.append(doc.path)
        return out

    def views(self, doc: Doc) -> list[ScriptPane]:
        return [p for p in self.panes if p.doc is doc]

    def focused_pane(self) -> ScriptPane | None:
        node = self.app.focused
        while node is not None and not isinstance(node, ScriptPane):
            node = node.parent  # type: ignore[assignment]
        return node

    def _arrange(self) -> None:
        """Columns, or 2x2 (three panes: the first spans both rows)."""
        panes = self.panes
        self.query_one("#panes-empty", Label).display = not panes
        if self.parent is not None:
            self.parent.set_class(bool(panes), "-scripts")  # the top region grows
        n = len(panes)
        width, height = self.content_size
        grid = n >= 3 and width < n * COLUMN_MIN_WIDTH and height >= GRID_MIN_ROWS
        self.set_class(grid, "-grid")
        self.styles.grid_size_columns = 2 if grid else max(1, n)
        self.styles.grid_size_rows = 2 if grid else 1
        for i, pane in enumerate(panes):
            pane.styles.row_span = 2 if grid and n == 3 and i == 0 else 1
        for pane in panes:
            pane.show_title()

    def _titles(self, doc: Doc) -> None:
        for pane in self.views(doc):
            pane.show_title()

    # -- open, split, close, focus, move -------------------------------------------------------

    async def open(self, path: str) -> None:
        doc = self.docs.get(path)
        if doc is not None:
            self.views(doc)[0].area.focus()
            return
        try:
            text, digest = await asyncio.to_thread(read_text, self.project_root, path)
        except ReelcutError as exc:
            self.say(f"cannot open {path}: {exc}")
            return
        doc = self.docs.get(path)  # opened meanwhile
        if doc is not None:
            self.views(doc)[0].area.focus()
            return
        target = self.focused_pane()
        if len(self.panes) >= MAX_PANES:
            target = target or self.panes[-1]
            if target.dirty and len(self.views(target.doc)) == 1:
                self.say(
                    f"four panes are open and {target.path} has unsaved changes; save or "
                    "close a pane first"
                )
                return
        doc = Doc(path, text, digest)
        self.docs[path] = doc
        pane = ScriptPane(doc, text)
        if len(self.panes) >= MAX_PANES and target is not None:  # the new file takes its place
            index = self.panes.index(target)
            await self._remove(target)
            rest = self.panes
            if index < len(rest):
                await self.mount(pane, before=rest[index])
            else:
                await self.mount(pane)
        elif target is not None:
            await self.mount(pane, after=target)
        else:
            await self.mount(pane)
        self._arrange()
        pane.area.focus()
        self.say(f"opened {path}")

    async def _remove(self, pane: ScriptPane) -> None:
        doc = pane.doc
        await pane.remove()
        if not self.views(doc):
            self.docs.pop(doc.path, None)

    async def action_split(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            self.say("split: focus a pane first")
            return
        if len(self.panes) >= MAX_PANES:
            self.say(f"{MAX_PANES} panes are open; close one to split")
            return
        twin = ScriptPane(pane.doc, pane.area.text)
        await self.mount(twin, after=pane)
        twin.area.move_cursor(pane.area.cursor_location)
        self._arrange()
        twin.area.focus()
        self.say(f"{pane.path} in two panes: one document")

    async def action_close_pane(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        last_view = len(self.views(pane.doc)) == 1
        if pane.dirty and last_view and not pane.read_only:
            now = time.monotonic()
            if (
                self._discard is None
                or self._discard[0] is not pane
                or (now - self._discard[1] > AGAIN_WINDOW)
            ):
                self._discard = (pane, now)
                self.say(
                    f"{pane.path} has unsaved changes: Ctrl+S saves; close again within "
                    f"{AGAIN_WINDOW:.0f} s to discard them"
                )
                return
            self.say(f"closed {pane.path}; its unsaved changes are discarded")
        self._discard = None
        index = self.panes.index(pane)
        await self._remove(pane)
        self._arrange()
        rest = self.panes
        if rest:
            rest[min(index, len(rest) - 1)].area.focus()
        else:
            self.focus()

    def action_pane_keys(self) -> None:
        async def run(command: str | None) -> None:
            if command == "next":
                self.action_cycle_pane(1)
            elif command == "split":
                await self.action_split()
            elif command == "close":
                await self.action_close_pane()
            elif command is not None:
                await self.run_action(command)

        def picked(command: str | None) -> None:
            # after the screen below has taken its focus back
            self.call_after_refresh(self.run_worker, run(command), group="pane-keys")

        self.app.push_screen(PaneKeysScreen(), picked)

    def action_cycle_pane(self, step: int) -> None:
        panes = self.panes
        pane = self.focused_pane()
        if panes:
            i = panes.index(pane) if pane in panes else -step
            panes[(i + step) % len(panes)].area.focus()

    def action_focus_pane(self, number: int) -> None:
        panes = self.panes
        if 1 <= number <= len(panes):
            panes[number - 1].area.focus()
        else:
            self.say(f"there is no pane {number} ({len(panes)} open)")

    def action_move_pane(self, step: int) -> None:
        """Swap the focused pane with its neighbour (the file moves to the other pane)."""
        pane = self.focused_pane()
        panes = self.panes
        if pane is None or len(panes) < 2:
            return
        i = panes.index(pane)
        j = (i + step) % len(panes)
        other = panes[j]
        if j > i:
            self.move_child(pane, after=other)
        else:
            self.move_child(pane, before=other)
        self._arrange()
        pane.area.focus()
        self.say(f"{pane.path} moved to pane {pane.number}")

    # -- one document in several panes -------------------------------------------------------

    @on(TextArea.Changed)
    def _text_changed(self, event: TextArea.Changed) -> None:
        area = event.text_area
        pane = area.parent
        if not isinstance(pane, ScriptPane):
            return
        text = area.text
        for other in self.views(pane.doc):
            if other is not pane:
                other.set_text(text)
        if pane.doc.problem:
            pane.doc.problem = ""
        self._titles(pane.doc)

    # -- saving --------------------------------------------------------------------------------

    async def action_save(self, anyway: bool = False) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        doc = pane.doc
        if doc.read_only:
            self.say(f"{doc.path} is read-only here: it changes through the timeline and undo")
            return
        if doc.conflict:
            self.resolve(doc)
            return
        text = pane.area.text
        refused, self._refused = self._refused, None
        anyway = anyway or (
            refused is not None
            and refused[0] is doc
            and refused[1] == text
            and time.monotonic() - refused[2] < AGAIN_WINDOW
        )
        if not anyway:
            problem = check_text(doc.path, text)
            if problem is not None:
                doc.problem = f"line {problem.line}, column {problem.column}: {problem.message}"
                pane.area.move_cursor((problem.line - 1, problem.column - 1), center=True)
                self._titles(doc)
                self._refused = (doc, text, time.monotonic())
                self.say(
                    f"not saved: {doc.path} {doc.problem} (Ctrl+S again within "
                    f"{AGAIN_WINDOW:.0f} s saves it anyway)"
                )
                return
        try:
            digest = await asyncio.to_thread(
                save_text, self.project_root, doc.path, text, doc.base_hash
            )
        except FileConflict:
            doc.conflict = True
            self._titles(doc)
            self.resolve(doc)
            return
        except ReelcutError as exc:
            self.say(f"not saved: {exc}")
            return
        self._saved(doc, text, digest)

    def _saved(self, doc: Doc, text: str, digest: str) -> None:
        doc.saved_text, doc.base_hash = text, digest
        doc.conflict = doc.deleted = False
        doc.problem = ""
        self._titles(doc)
        self.say(f"saved {doc.path}")
        self.post_message(self.Saved(doc.path, digest))

    # -- the disk moved ------------------------------------------------------------------------

    async def action_reload_pane(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        doc = pane.doc
        if pane.dirty or doc.conflict:
            self.resolve(doc)
            return
        try:
            text, digest = await asyncio.to_thread(read_text, self.project_root, doc.path)
        except ReelcutError as exc:
            self.say(f"cannot reload {doc.path}: {exc}")
            return
        self._take(doc, text, digest)
        self.say(f"reloaded {doc.path} from disk")

    def _take(self, doc: Doc, text: str, digest: str) -> None:
        """The document becomes the disk's version, in place in every view."""
        for view in self.views(doc):
            view.set_text(text)
        doc.saved_text, doc.base_hash = text, digest
        doc.conflict = doc.deleted = False
        doc.problem = ""
        self._titles(doc)

    def resolve(self, doc: Doc) -> None:
        """Show the diff between the disk and the document's text and do what the user picks
        (in a worker: the dialog is waited for)."""
        self.run_worker(self._resolve(doc), group="resolve")

    async def _resolve(self, doc: Doc) -> None:
        if doc.path in self._resolving:
            return
        views = self.views(doc)
        if not views:
            return
        try:
            theirs: str | None
            theirs, disk_hash = await asyncio.to_thread(read_text, self.project_root, doc.path)
        except ReelcutError as exc:
            if current_hash(self.project_root, doc.path) is not None:
                self.say(f"cannot read {doc.path} to compare: {exc}")
                return
            theirs, disk_hash = None, None
        mine = views[0].area.text
        if theirs == mine:  # the disk already has exactly this text
            self._take(doc, mine, disk_hash or "")
            self.say(f"{doc.path} on disk already has your text")
            return
        merged = None if theirs is None else merge3(doc.saved_text, mine, theirs)
        self._resolving.add(doc.path)
        try:
            choice = await self.app.push_screen_wait(ConflictScreen(doc.path, mine, theirs, merged))
        finally:
            self._resolving.discard(doc.path)
        if choice == MERGED and merged is not None and theirs is not None and disk_hash:
            self._take(doc, theirs, disk_hash)  # the disk's version is the new base ...
            for view in self.views(doc):
                view.set_text(merged)  # ... with both edits on it, unsaved
            self._titles(doc)
            self.say(f"merged: the disk's edits and yours are in {doc.path}; Ctrl+S saves")
        elif choice == MINE:
            try:
                digest = await asyncio.to_thread(
                    save_text, self.project_root, doc.path, mine, disk_hash
                )
            except FileConflict:
                self.say(f"{doc.path} changed again on disk; compare once more (Ctrl+R)")
                return
            except ReelcutError as exc:
                self.say(f"not saved: {exc}")
                return
            self._saved(doc, mine, digest)
            self.say(f"saved your version of {doc.path} over the disk's")
        elif choice == THEIRS:
            if theirs is None or disk_hash is None:
                for view in views:
                    await self._remove(view)
                self._arrange()
                self.say(f"closed {doc.path}: it was deleted on disk")
                return
            self._take(doc, theirs, disk_hash)
            self.say(f"took the disk's version of {doc.path}; your edits are dropped")
        else:
            self.say(f"{doc.path}: conflict left open (Ctrl+R to compare again)")

    async def poll(self) -> None:
        """A file changed on disk: clean documents follow in place; dirty ones are marked."""
        for doc in list(self.docs.values()):
            views = self.views(doc)
            if not views:
                continue
            now = await asyncio.to_thread(current_hash, self.project_root, doc.path)
            views = self.views(doc)  # a pane may have closed meanwhile (its file deleted)
            if not views:
                continue
            if now == doc.base_hash:
                if doc.conflict and now is not None:  # the disk came back to the base
                    doc.conflict = doc.deleted = False
                    self._titles(doc)
                continue
            if views[0].dirty or now is None:
                if not doc.conflict:
                    doc.conflict, doc.deleted = True, now is None
                    self._titles(doc)
                    what = "was deleted" if now is None else "changed on disk"
                    self.say(f"{doc.path} {what} while you edit it: Ctrl+R to compare")
                continue
            try:
                text, digest = await asyncio.to_thread(read_text, self.project_root, doc.path)
            except ReelcutError as exc:
                self.say(f"{doc.path} changed on disk and cannot be shown: {exc}")
                continue
            if any(view.dirty for view in self.views(doc)):  # typed into meanwhile
                continue
            self._take(doc, text, digest)
            self.say(f"{doc.path} changed on disk; the pane follows")

    # -- files: new, rename, delete (from the tree) -----------------------------------------

    async def new_file(self, folder: str) -> None:
        default = f"{folder.rstrip('/')}/untitled.md" if folder else "scripts/untitled.md"
        rel = await self.app.push_screen_wait(
            PromptScreen("New file (path in the project)", default, "markdown, JSON, TSX ...")
        )
        if not rel:
            return
        try:
            await asyncio.to_thread(create_text, self.project_root, rel, "")
        except ReelcutError as exc:
            self.say(f"not created: {exc}")
            return
        self.say(f"created {rel}")
        self.post_message(ProjectTree.Changed())
        await self.open(rel)

    async def rename_file(self, rel: str) -> None:
        doc = self.docs.get(rel)
        if doc is not None and self.views(doc) and self.views(doc)[0].dirty:
            self.say(f"{rel} has unsaved changes: save it before renaming")
            return
        new = await self.app.push_screen_wait(PromptScreen(f"Rename {rel} to", rel))
        if not new or new == rel:
            return
        base = (
            doc.base_hash
            if doc is not None
            else await asyncio.to_thread(current_hash, self.project_root, rel)
        )
        if base is None:
            self.say(f"{rel} no longer exists")
            self.post_message(ProjectTree.Changed())
            return
        try:
            await asyncio.to_thread(rename_text, self.project_root, rel, new, base)
        except ReelcutError as exc:
            self.say(f"not renamed: {exc}")
            return
        if doc is not None:
            self.docs.pop(rel, None)
            doc.path = new
            self.docs[new] = doc
            self._titles(doc)
        self.say(f"renamed {rel} to {new}")
        self.post_message(ProjectTree.Changed())

    async def delete_file(self, rel: str) -> None:
        doc = self.docs.get(rel)
        if doc is not None and self.views(doc) and self.views(doc)[0].dirty:
            self.say(f"{rel} has unsaved changes: save or close it before deleting")
            return
        if not await self.app.push_screen_wait(ConfirmScreen(f"Delete {rel}?")):
            return
        base = (
            doc.base_hash
            if doc is not None
            else await asyncio.to_thread(current_hash, self.project_root, rel)
        )
        if base is None:
            self.say(f"{rel} no longer exists")
            self.post_message(ProjectTree.Changed())
            return
        try:
            await asyncio.to_thread(delete_text, self.project_root, rel, base)
        except ReelcutError as exc:
            self.say(f"not deleted: {exc}")
            return
        if doc is not None:
            for view in self.views(doc):
                await self._remove(view)
            self._arrange()
        self.say(f"deleted {rel}")
        self.post_message(ProjectTree.Changed())
