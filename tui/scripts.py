"""The project tree and the script panes (the first part of the script-editor issue).

`ProjectTree` lists the project's text files (`engine.scripts.script_files`); Enter opens one
in the focused pane, or in a new pane while there are fewer than four. A `ScriptPane` is a
`TextArea` with a title that shows the file and a dirty marker; Ctrl+S saves it atomically
only over the version it loaded (else the save is refused and the title says the file changed
on disk: Ctrl+R reloads it, Ctrl+Alt+S overwrites it on purpose, never a reflex).
`ScriptPanes.poll` reloads clean panes whose file changed on disk, keeping the cursor, and
marks dirty ones as in conflict.

Saving, loading and hashing run on worker threads; the widgets only post and receive.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, TextArea, Tree

from engine.errors import ReelcutError
from engine.scripts import FileConflict, current_hash, read_text, save_text, script_files
from engine.store import PROJECT_FILE

MAX_PANES = 4


class ProjectTree(Tree[str]):
    """The project's text files by folder; the data of a file node is its relative path."""

    class OpenRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, root: Path, **kwargs: object) -> None:
        super().__init__("Project", **kwargs)  # type: ignore[arg-type]
        self.project_root = root
        self.show_root = False

    async def reload(self) -> None:
        files = await asyncio.to_thread(script_files, self.project_root)
        self.clear()
        folders: dict[str, object] = {"": self.root}
        for rel in files:
            parts = rel.split("/")
            parent = self.root
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in folders:
                    folders[key] = parent.add(parts[depth - 1] + "/", expand=True)
                parent = folders[key]  # type: ignore[assignment]
            parent.add_leaf(parts[-1], data=rel)
        self.root.expand_all()

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.post_message(self.OpenRequested(event.node.data))


class ScriptPane(Vertical):
    """One open file."""

    def __init__(self, path: str, text: str, base_hash: str, **kwargs: object) -> None:
        super().__init__(classes="script-pane", **kwargs)  # type: ignore[arg-type]
        self.path = path
        self.base_hash: str | None = base_hash
        self.saved_text = text
        self.conflict = False
        self._text = text

    def compose(self) -> ComposeResult:
        yield Label(self._title(dirty=False), classes="pane-title")
        yield TextArea(
            self._text,
            show_line_numbers=True,
            soft_wrap=self.path.endswith(".md"),
            read_only=self.read_only,
        )

    @property
    def read_only(self) -> bool:
        """project.json changes through the session (the timeline, undo), never as text."""
        return self.path == PROJECT_FILE

    @property
    def area(self) -> TextArea:
        return self.query_one(TextArea)

    @property
    def dirty(self) -> bool:
        return self.area.text != self.saved_text

    def _title(self, *, dirty: bool) -> str:
        mark = " (read-only)" if self.read_only else " ●" if dirty else ""
        if self.conflict:
            mark += "  (changed on disk: Ctrl+R reloads, Ctrl+Alt+S overwrites)"
        return self.path + mark

    def show_title(self) -> None:
        self.query_one(".pane-title", Label).update(self._title(dirty=self.dirty))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.show_title()


class ScriptPanes(Horizontal, can_focus=True):
    """Up to four panes side by side."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="panes.save"),
        Binding("ctrl+alt+s", "save(True)", "Save over", show=False, id="panes.force_save"),
        Binding("ctrl+r", "reload_pane", "Reload", show=False, id="panes.reload"),
        Binding("ctrl+alt+w,ctrl+f4", "close_pane", "Close pane", id="panes.close"),
    ]

    class Said(Message):
        """A one-line outcome for the status bar."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, root: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.project_root = root

    def compose(self) -> ComposeResult:
        yield Label("Scripts: open a file from the project tree (Enter)", id="panes-empty")

    def _update_empty(self) -> None:
        self.query_one("#panes-empty", Label).display = not self.panes

    def on_focus(self) -> None:
        if self.panes:
            self.panes[0].area.focus()

    @property
    def panes(self) -> list[ScriptPane]:
        return list(self.query(ScriptPane))

    def focused_pane(self) -> ScriptPane | None:
        node = self.app.focused
        while node is not None and not isinstance(node, ScriptPane):
            node = node.parent  # type: ignore[assignment]
        return node

    async def open(self, path: str) -> None:
        for pane in self.panes:
            if pane.path == path:
                pane.area.focus()
                return
        try:
            text, digest = await asyncio.to_thread(read_text, self.project_root, path)
        except ReelcutError as exc:
            self.post_message(self.Said(f"cannot open {path}: {exc}"))
            return
        pane = ScriptPane(path, text, digest)
        target = self.focused_pane()
        if len(self.panes) >= MAX_PANES:
            target = target or self.panes[-1]
            if target.dirty:
                self.post_message(
                    self.Said(
                        f"four panes are open and {target.path} has unsaved changes; save or "
                        "close a pane first"
                    )
                )
                return
            await target.remove()
        await self.mount(pane)
        self._update_empty()
        pane.show_title()
        pane.area.focus()
        self.post_message(self.Said(f"opened {path}"))

    async def action_save(self, force: bool = False) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        if pane.read_only:
            self.post_message(
                self.Said(
                    f"{pane.path} is read-only here: it changes through the timeline and undo"
                )
            )
            return
        text = pane.area.text
        try:
            digest = await asyncio.to_thread(
                save_text, self.project_root, pane.path, text, pane.base_hash, force=force
            )
        except FileConflict as exc:
            pane.conflict = True
            pane.show_title()
            self.post_message(self.Said(f"not saved: {exc}"))
            return
        except ReelcutError as exc:
            self.post_message(self.Said(f"not saved: {exc}"))
            return
        pane.base_hash, pane.saved_text, pane.conflict = digest, text, False
        pane.show_title()
        self.post_message(self.Said(f"saved {pane.path}"))

    async def action_reload_pane(self) -> None:
        pane = self.focused_pane()
        if pane is not None:
            await self._reload(pane)
            self.post_message(self.Said(f"reloaded {pane.path} from disk"))

    async def action_close_pane(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        if pane.dirty:
            self.post_message(self.Said(f"{pane.path} has unsaved changes: save (Ctrl+S) first"))
            return
        await pane.remove()
        self._update_empty()

    async def _reload(self, pane: ScriptPane) -> None:
        try:
            text, digest = await asyncio.to_thread(read_text, self.project_root, pane.path)
        except ReelcutError as exc:
            self.post_message(self.Said(f"cannot reload {pane.path}: {exc}"))
            return
        cursor = pane.area.cursor_location
        scroll = pane.area.scroll_offset
        pane.area.load_text(text)
        pane.saved_text, pane.base_hash, pane.conflict = text, digest, False
        last = max(0, pane.area.document.line_count - 1)
        pane.area.cursor_location = (min(cursor[0], last), cursor[1])
        pane.area.scroll_to(scroll.x, scroll.y, animate=False)
        pane.show_title()

    async def poll(self) -> None:
        """A file changed on disk: a clean pane follows it in place; a dirty one is marked."""
        for pane in self.panes:
            now = await asyncio.to_thread(current_hash, self.project_root, pane.path)
            if now == pane.base_hash:
                continue
            if pane.dirty:
                if not pane.conflict:
                    pane.conflict = True
                    pane.show_title()
                    self.post_message(self.Said(f"{pane.path} changed on disk while you edit it"))
            else:
                await self._reload(pane)
                self.post_message(self.Said(f"{pane.path} changed on disk; the pane follows"))
