"""How a command reaches a project: through its holder when one serves it, else as its holder.

`door(root, purpose)` is for a command that makes one request (``reelcut edit``, ``import``,
``changes apply``, ``jobs cancel``...): through the control socket when a process holds the
project (the editor, ``reelcut serve``, a running ``reelcut chat``), else by opening the
project itself (taking its writer lock) and calling the same `Workspace` request, so the
output and exit status are the same either way. A socket left by a holder that died refuses
connections; the command then opens the project itself (the kernel released the dead holder's
lock).

`hold(root, purpose)` is for a command that works on the project for a while with nobody else
holding it (``reelcut chat`` running an agent, ``reelcut jobs run``): it takes the writer lock
and serves the door on the control socket until it ends, so the project has one writer and the
other commands run through it meanwhile instead of being locked out or writing beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from engine.control import Client
from engine.lock import WriterLock
from engine.projectdir import ProjectDir
from engine.requests import NEEDS_SESSION
from engine.session import Session
from engine.workspace import Workspace


class Door:
    """`call(method, params)` on a project: through its holder, or opened here."""

    def __init__(self, root: Path, purpose: str) -> None:
        self.root, self.purpose = root, purpose
        self.client: Client | None = None
        self.remote = False

    def call(self, name: str, params: dict[str, Any] | None = None) -> Any:
        params = params or {}
        if self.client is not None:
            return self.client.call(name, params)
        return asyncio.run(self._local(name, params))

    async def _local(self, name: str, params: dict[str, Any]) -> Any:
        if name in NEEDS_SESSION:
            session = Session(self.root, author="cli", purpose=self.purpose)
            workspace = Workspace(self.root, session)
            release = session.close
        else:  # changesets, jobs, runs: no project.json parsed (they must work while it is broken)
            lock = WriterLock(self.root, purpose=self.purpose).acquire()
            workspace = Workspace(self.root)
            release = lock.release
        try:
            return await workspace.call(name, params)
        finally:
            await workspace.close()
            release()


@contextlib.contextmanager
def door(root: Path, purpose: str) -> Iterator[Door]:
    """The way into ``root`` for one command (see the module's docstring)."""
    d = Door(Path(root), purpose)
    d.client = Client.connect(Path(root))
    d.remote = d.client is not None
    try:
        yield d
    finally:
        if d.client is not None:
            d.client.close()


@contextlib.asynccontextmanager
async def hold(
    root: Path, purpose: str, *, db: Any = None, events: Any = None, runner: Any = None
) -> AsyncIterator[Workspace]:
    """Hold ``root`` for the length of a command: its writer lock, and its door served to the
    other processes (the session opens on the first request that needs it, so a broken
    project.json does not keep an agent from running). ``db``, ``events`` and ``runner`` are
    the command's own when it has opened them already. `ProjectLocked` when another process
    holds the project: the caller asked `Client.connect` first and nobody answered, so that is
    a holder starting up at this moment or one that serves no door."""
    lock = ProjectDir(root).writer(purpose)
    workspace = Workspace(Path(root), lock=lock)
    server = None
    try:
        if db is not None and events is not None:
            workspace.attach(db, events, runner)
        else:
            await workspace.services()
        server = await workspace.open_door()
        yield workspace
    finally:
        if server is not None:
            await server.stop()
        await workspace.close()
        lock.release()
