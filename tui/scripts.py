"""The script panes: up to four `ScriptPane` views (`tui.script_pane`) side by side, or 2x2
when there is room; open, split, close, save, and a file changed on disk. The file commands the
project tree asks for (new, rename, delete) are the panes' `ScriptFiles` (`tui.script_files`).

A file open in two panes is one `Doc` (`tui.script_docs`): an edit in one view appears in the
other, and the dirty marker, the saved version and any conflict are the document's. Files go
through the project's door (the app's `engine.workspace.Workspace`): saves only over the version
loaded, JSON checked first (the cursor moved to the problem; Ctrl+S again saves anyway). A file
changed on disk updates clean views in place; a dirty one is marked, and Ctrl+S or Ctrl+R shows
the diff and lets the user choose (`tui.script_dialogs.ConflictScreen`): a pane never silently
overwrites a newer file.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.message import Message
from textual.widgets import Label, TextArea

from engine.workspace import FileConflict, ReelcutError, Workspace
from tui.script_dialogs import ConflictScreen, PaneKeysScreen
from tui.script_docs import AGAIN_WINDOW, Diverged, Doc, Moved, Returned, ScriptDocs, Unreadable
from tui.script_files import ScriptFiles
from tui.script_pane import FindBar, ScriptArea, ScriptPane

if TYPE_CHECKING:
    from tui.app import ReelcutApp

__all__ = ["Doc", "FindBar", "ScriptArea", "ScriptPane", "ScriptPanes"]

MAX_PANES = 4
GRID_MIN_ROWS = 20  # the panes' region needs this many rows for 2x2
COLUMN_MIN_WIDTH = 40  # below this per pane, three or four panes go 2x2 (when tall enough)


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
        """A file was written from a pane (the preview recompiles a Remotion clip from it):
        the editor announces it on the project's stream (`Workspace.file_saved`)."""

        def __init__(self, path: str, sha256: str) -> None:
            super().__init__()
            self.path, self.sha256 = path, sha256

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project_root = root  # the files themselves are reached through the app's door
        self._discard: tuple[ScriptPane, float] | None = None
        self._resolving: set[str] = set()
        self.files = ScriptFiles(self)  # the tree's new, rename and delete

    def compose(self) -> ComposeResult:
        yield Label(
            "Scripts: open a file from the project tree (Enter) or Ctrl+O", id="panes-empty"
        )

    @property
    def workspace(self) -> Workspace:
        """The project's door: the app's."""
        return cast("ReelcutApp", self.app).workspace

    @functools.cached_property
    def documents(self) -> ScriptDocs:
        """The open documents (made on first use: the app is there by then)."""
        return ScriptDocs(self.workspace)

    @property
    def docs(self) -> dict[str, Doc]:
        """The open documents by path."""
        return self.documents.docs

    def say(self, text: str) -> None:
        self.post_message(self.Said(text))

    def on_focus(self) -> None:
        if self.panes:
            self.panes[0].area.focus()

    def on_resize(self, event: Resize) -> None:
        self.arrange_panes()

    @property
    def panes(self) -> list[ScriptPane]:
        """The panes in order, less one being removed (its ``display`` is false from the
        moment ``remove()`` is called, while its title and text are already going)."""
        return [p for p in self.query_children(ScriptPane) if p.display]

    def unsaved(self) -> list[str]:
        """The open files with edits not on disk."""
        return [d.path for d in self.docs.values() if not d.read_only and self.has_edits(d)]

    def views(self, doc: Doc) -> list[ScriptPane]:
        return [p for p in self.panes if p.doc is doc]

    def has_edits(self, doc: Doc) -> bool:
        """Whether ``doc``'s views hold edits (they all show the same text)."""
        views = self.views(doc)
        return bool(views) and views[0].dirty

    def focused_pane(self) -> ScriptPane | None:
        node = self.app.focused
        while node is not None and not isinstance(node, ScriptPane):
            node = node.parent  # type: ignore[assignment]
        return node

    def arrange_panes(self) -> None:
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

    def show_titles(self, doc: Doc) -> None:
        for pane in self.views(doc):
            pane.show_title()

    # -- open, split, close, focus, move -------------------------------------------------------

    async def open(self, path: str) -> None:
        doc = self.docs.get(path)
        if doc is not None:
            self.views(doc)[0].area.focus()
            return
        try:
            text, digest = await self.workspace.read_script(path)
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
        pane = ScriptPane(self.documents.add(path, text, digest), text)
        replaced = ""
        if len(self.panes) >= MAX_PANES and target is not None:  # the new file takes its place
            replaced = f" in place of {target.path} (four panes at most; Ctrl+W c closes one)"
            index = self.panes.index(target)
            await self.remove_view(target)
            rest = self.panes
            if index < len(rest):
                await self.mount(pane, before=rest[index])
            else:
                await self.mount(pane)
        elif target is not None:
            await self.mount(pane, after=target)
        else:
            await self.mount(pane)
        self.arrange_panes()
        pane.area.focus()
        self.say(f"opened {path}{replaced}")

    async def remove_view(self, pane: ScriptPane) -> None:
        """Take ``pane`` away; its document is forgotten with its last view."""
        doc = pane.doc
        await pane.remove()
        if not self.views(doc):
            self.documents.forget(doc)

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
        self.arrange_panes()
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
        await self.remove_view(pane)
        self.arrange_panes()
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
        self.arrange_panes()
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
        self.show_titles(pane.doc)

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
        problem = await self.documents.check(doc, text, anyway=anyway)
        if problem is not None:
            pane.area.move_cursor((problem.line - 1, problem.column - 1), center=True)
            self.show_titles(doc)
            self.say(
                f"not saved: {doc.path} {doc.problem} (Ctrl+S again within "
                f"{AGAIN_WINDOW:.0f} s saves it anyway)"
            )
            return
        try:
            digest = await self.documents.save(doc, text, doc.base_hash)
        except FileConflict:
            self.show_titles(doc)
            self.resolve(doc)
            return
        except ReelcutError as exc:
            self.say(f"not saved: {exc}")
            return
        self.show_titles(doc)
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
            text, digest = await self.workspace.read_script(doc.path)
        except ReelcutError as exc:
            self.say(f"cannot reload {doc.path}: {exc}")
            return
        self._take(doc, text, digest)
        self.say(f"reloaded {doc.path} from disk")

    def _take(self, doc: Doc, text: str, digest: str) -> None:
        """The document becomes the disk's version, in place in every view."""
        for view in self.views(doc):
            view.set_text(text)
        doc.settle(text, digest)
        self.show_titles(doc)

    def resolve(self, doc: Doc) -> None:
        """Show the diff between the disk and the document's text and do what the user picks
        (in a worker: the dialog is waited for)."""
        self.run_worker(self._resolve(doc), group="resolve")

    async def _resolve(self, doc: Doc) -> None:
        if doc.path in self._resolving or not (views := self.views(doc)):
            return
        try:
            seen = await self.documents.compare(doc, views[0].area.text)
        except ReelcutError as exc:
            self.say(f"cannot read {doc.path} to compare: {exc}")
            return
        if seen.theirs == seen.mine:  # the disk already has exactly this text
            self._take(doc, seen.mine, seen.disk_hash or "")
            self.say(f"{doc.path} on disk already has your text")
            return
        self._resolving.add(doc.path)
        try:
            choice = await self.app.push_screen_wait(
                ConflictScreen(doc.path, seen.mine, seen.theirs, seen.merged)
            )
        finally:
            self._resolving.discard(doc.path)
        outcome = await self.documents.choose(doc, seen, choice)
        if outcome.closed:
            for view in self.views(doc):
                await self.remove_view(view)
            self.arrange_panes()
        elif outcome.text is not None:
            for view in self.views(doc):
                view.set_text(outcome.text)
        if outcome.problem is not None and (views := self.views(doc)):
            line, column = outcome.problem
            views[0].area.move_cursor((line - 1, column - 1), center=True)
        self.show_titles(doc)
        if outcome.saved is not None:
            self.post_message(self.Saved(doc.path, outcome.saved))
        self.say(outcome.said)

    async def poll(self) -> None:
        """A file changed on disk: clean documents follow in place; dirty ones are marked."""
        for doc in list(self.docs.values()):
            if not self.views(doc):
                continue
            news = await self.documents.look(doc, functools.partial(self.has_edits, doc))
            if news is None or not self.views(doc):  # a pane may have closed meanwhile
                continue
            match news:
                case Returned():
                    self.show_titles(doc)
                case Diverged(deleted=deleted):
                    self.show_titles(doc)
                    what = "was deleted" if deleted else "changed on disk"
                    self.say(f"{doc.path} {what} while you edit it: Ctrl+R to compare")
                case Unreadable(reason=reason):
                    self.say(f"{doc.path} changed on disk and cannot be shown: {reason}")
                case Moved(text=text, digest=digest) if not self.has_edits(doc):  # not typed into
                    self._take(doc, text, digest)
                    self.say(f"{doc.path} changed on disk; the pane follows")
