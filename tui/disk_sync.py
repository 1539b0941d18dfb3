"""The editor and the disk kept in step: the view (the playhead, the selection, the zoom) saved
in the state database a second after it stops changing, and changes made outside (project.json
by another program, the open scripts, the tree's files) picked up by a poll.

`DiskSync` is a plain object the app holds (``app.disk``); the app's timers, its quit and the
screen's zoom and save-state actions call it. Changes sent through the door need no poll: they
come back as the app's `ProjectChanged`; only other programs' writes are looked for here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from engine.workspace import PROJECT_FILE, ReelcutError
from tui.project_tree import ProjectTree
from tui.scripts import ScriptPanes

if TYPE_CHECKING:
    from tui.app import ReelcutApp

SAVE_STATE_AFTER = 1.0  # seconds of quiet before the playhead and selection are saved
TREE_EVERY_POLLS = 5


class DiskSync:
    """The navigation state saved after it settles, and outside changes reloaded. Not a
    widget: the app holds one (``app.disk``) and its timers call `maybe_save_state` and
    `poll`."""

    def __init__(self, app: ReelcutApp) -> None:
        self.app = app
        self.state_dirty_at: float | None = None  # when the navigation state last changed
        self.disk_stat: tuple[int, int, int] | None = self._stat()  # project.json as last seen
        self.polls = 0

    # -- the navigation state --------------------------------------------------------------

    def state_changed(self) -> None:
        """The playhead, the selection or the zoom moved: saved once it has been quiet."""
        self.state_dirty_at = time.monotonic()

    async def maybe_save_state(self) -> None:
        """Save the navigation state once it has been quiet for a while (not while playing)."""
        if self.state_dirty_at is None or self.app.playback.speed:
            return
        if time.monotonic() - self.state_dirty_at >= SAVE_STATE_AFTER:
            await self.save_state()

    async def save_state(self) -> None:
        """Save the playhead, the selection and the zoom when they differ from the saved ones
        (in the state database: project.json is not written, so this never conflicts with a
        change made outside)."""
        if self.state_dirty_at is None:
            return
        self.state_dirty_at = None
        app = self.app
        await app.editor.cutting.save_marks()  # the source marks, when they moved
        ed = app.session.project.editor
        fpc = app.timeline.frames_per_col
        if (ed.playhead, ed.selection, ed.frames_per_cell) == (app.playhead, app.selection, fpc):
            return
        playhead, selection = app.playhead, app.selection
        async with app.workspace.writing:
            with contextlib.suppress(ReelcutError):  # a selection gone meanwhile is dropped
                await asyncio.to_thread(
                    lambda: app.session.set_editor(
                        playhead=playhead, selection=selection, frames_per_cell=fpc
                    )
                )

    # -- the disk --------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.app.session.dir.root / PROJECT_FILE)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    async def poll(self, *, force: bool = False) -> bool:
        """project.json changed outside (an applied changeset, another editor): reload it;
        True when it did. The file's status only says when to look (``force`` looks anyway);
        `Session.reload` compares hashes, so the editor's own writes cost one read and are
        not taken for outside ones, and no status is ever recorded for a file not read.
        Open script panes are checked by hash."""
        app = self.app
        try:
            panes = app.editor.query_one(ScriptPanes)
            tree = app.editor.query_one(ProjectTree)
        except NoMatches:  # the screen is being torn down (quitting): nothing to look at
            return False
        await panes.poll()
        self.polls += 1
        if self.polls % TREE_EVERY_POLLS == 0:  # files made by the agent, the CLI, a shell
            await tree.reload()
        lock = app.workspace.writing
        now = self._stat()
        if not force and (now == self.disk_stat or lock.locked()):
            return False
        async with lock:
            now = self._stat()  # taken before the read: a write after it is seen next time
            try:
                change = await asyncio.to_thread(app.session.reload)
            except ReelcutError as exc:
                self.disk_stat = now
                app.flash(f"{PROJECT_FILE} changed on disk and cannot be read: {exc}")
                return False
            self.disk_stat = now
        if change is None:
            return False
        app._refresh()
        app.flash(f"{PROJECT_FILE} changed on disk; reloaded")
        return True

    async def files_changed(self) -> None:
        """Scripts or files changed through the door (an applied changeset): the panes and
        the tree now, not at the next poll."""
        with contextlib.suppress(NoMatches):
            await self.app.editor.query_one(ScriptPanes).poll()
            await self.app.editor.query_one(ProjectTree).reload()
