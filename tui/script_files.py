"""The project tree's file commands: a new file, a rename and a delete, asked for in a dialog
and made through the project's door over the version the panes know.

A file open in a pane follows its rename and closes with its delete; one with unsaved edits is
refused (save it first), and a rename or delete is made over the hash its document was read at,
so a file changed on disk meanwhile is not lost. `ScriptFiles` is a plain object the script
panes hold (``panes.files``): it needs their open documents, and its dialogs wait in the panes'
workers. The tree only asks (`ProjectTree.NewFileRequested`...); the screen hands the request
here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.workspace import ReelcutError
from tui.project_tree import ProjectTree
from tui.script_dialogs import ConfirmScreen, PromptScreen

if TYPE_CHECKING:
    from tui.script_docs import Doc
    from tui.scripts import ScriptPanes


class ScriptFiles:
    """New, rename and delete for the project tree, kept true to the open panes. Not a widget:
    the panes hold one (``panes.files``); run its commands in a panes worker (they wait for a
    dialog)."""

    def __init__(self, panes: ScriptPanes) -> None:
        self.panes = panes

    async def new_file(self, folder: str) -> None:
        """Ask for a path (in ``folder``, "" for the project's top), create it empty, open it."""
        panes = self.panes
        default = f"{folder.rstrip('/')}/untitled.md" if folder else "scripts/untitled.md"
        rel = await panes.app.push_screen_wait(
            PromptScreen("New file (path in the project)", default, "markdown, JSON, TSX ...")
        )
        if not rel:
            return
        try:
            await panes.workspace.create_script(rel, "")
        except ReelcutError as exc:
            panes.say(f"not created: {exc}")
            return
        panes.say(f"created {rel}")
        panes.post_message(ProjectTree.Changed())
        await panes.open(rel)

    async def rename_file(self, rel: str) -> None:
        """Ask for the new path and rename ``rel``; its open panes show the new name."""
        panes = self.panes
        doc = panes.docs.get(rel)
        if doc is not None and panes.has_edits(doc):
            panes.say(f"{rel} has unsaved changes: save it before renaming")
            return
        new = await panes.app.push_screen_wait(PromptScreen(f"Rename {rel} to", rel))
        if not new or new == rel:
            return
        base = await self._base(rel, doc)
        if base is None:
            return
        try:
            await panes.workspace.rename_script(rel, new, base)
        except ReelcutError as exc:
            panes.say(f"not renamed: {exc}")
            return
        if doc is not None:
            panes.documents.renamed(doc, new)
            panes.show_titles(doc)
        panes.say(f"renamed {rel} to {new}")
        panes.post_message(ProjectTree.Changed())

    async def delete_file(self, rel: str) -> None:
        """Ask, then delete ``rel``; its open panes close."""
        panes = self.panes
        doc = panes.docs.get(rel)
        if doc is not None and panes.has_edits(doc):
            panes.say(f"{rel} has unsaved changes: save or close it before deleting")
            return
        if not await panes.app.push_screen_wait(ConfirmScreen(f"Delete {rel}?")):
            return
        base = await self._base(rel, doc)
        if base is None:
            return
        try:
            await panes.workspace.delete_script(rel, base)
        except ReelcutError as exc:
            panes.say(f"not deleted: {exc}")
            return
        if doc is not None:
            for view in panes.views(doc):
                await panes.remove_view(view)
            panes.arrange_panes()
        panes.say(f"deleted {rel}")
        panes.post_message(ProjectTree.Changed())

    async def _base(self, rel: str, doc: Doc | None) -> str | None:
        """The hash a rename or delete of ``rel`` is made over: its document's base, else the
        disk's; None (and said) when the file is gone."""
        panes = self.panes
        base = doc.base_hash if doc is not None else await panes.workspace.script_hash(rel)
        if base is None:
            panes.say(f"{rel} no longer exists")
            panes.post_message(ProjectTree.Changed())
        return base
