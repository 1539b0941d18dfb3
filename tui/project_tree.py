"""The project tree: the project's text files by folder (`engine.scripts.script_files`).

Enter opens a file, ``n`` makes a new one, ``r``/F2 renames and ``d``/Delete deletes; the tree
only posts these as messages (the script panes do the work, they know which files are open).
`reload` lists the files again and redraws only when the list changed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath
from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree

from engine.workspace import script_files


class ProjectTree(Tree[str]):
    """The project's text files by folder; the data of a file node is its relative path."""

    BINDINGS = [
        Binding("n", "new_file", "New file", id="tree.new"),
        Binding("r,f2", "rename_file", "Rename", id="tree.rename"),
        Binding("d,delete", "delete_file", "Delete", id="tree.delete"),
    ]

    class OpenRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class NewFileRequested(Message):
        """A new file in the folder ``path`` ("" for the project's top)."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class RenameFileRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class DeleteFileRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    class Changed(Message):
        """Files were created, renamed or deleted: list them again."""

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__("Project", **kwargs)
        self.project_root = root
        self.show_root = False
        self.files: list[str] = []

    async def reload(self) -> None:
        """List the files again (only redrawn when the list changed; the cursor stays on the
        same file)."""
        files = await asyncio.to_thread(script_files, self.project_root)
        if files == self.files:
            return
        self.files = files
        node = self.cursor_node
        keep = node.data if node is not None else None
        self.clear()
        folders: dict[str, Any] = {"": self.root}
        for rel in files:
            parts = rel.split("/")
            parent = self.root
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in folders:
                    folders[key] = parent.add(parts[depth - 1] + "/", data=None, expand=True)
                parent = folders[key]
            parent.add_leaf(parts[-1], data=rel)
        self.root.expand_all()
        if keep is not None:
            for candidate in self._tree_nodes.values():
                if candidate.data == keep:
                    self.move_cursor(candidate)
                    break

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.post_message(self.OpenRequested(event.node.data))

    def _cursor_file(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None and node.data else None

    def _cursor_folder(self) -> str:
        node = self.cursor_node
        if node is None:
            return "scripts"
        if node.data:
            parent = str(PurePosixPath(node.data).parent)
            return "" if parent == "." else parent
        parts: list[str] = []
        while node is not None and node is not self.root:
            parts.append(str(node.label).rstrip("/"))
            node = node.parent
        return "/".join(reversed(parts))

    def action_new_file(self) -> None:
        self.post_message(self.NewFileRequested(self._cursor_folder()))

    def action_rename_file(self) -> None:
        rel = self._cursor_file()
        if rel is not None:
            self.post_message(self.RenameFileRequested(rel))

    def action_delete_file(self) -> None:
        rel = self._cursor_file()
        if rel is not None:
            self.post_message(self.DeleteFileRequested(rel))
