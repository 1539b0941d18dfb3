"""One writer of a project's files at a time, inside the process that holds it as well.

Between processes the writer lock (`engine.lock`) does it. Inside the process that holds the
lock several writers share the project: the session saves project.json on a worker thread,
and changeset ledgers (the door's, and each agent run's own) apply, revert and reconcile on the
event loop. `file_writes(root)` is the one lock they all take around "check the hashes, then
write", so a check always sees the file its write replaces. (Without it an edit in the editor
and an agent run's auto-apply, both reported done, lost the edit in 13 of 40 trials:
`tests/engine/test_parallel_writers.py`.) Threads take it directly; async code takes it with
`writing_files`, which polls, so the event loop never blocks on it and a cancelled waiter
holds nothing.

`as_writer` says whether this process may finish what a killed writer left half-done (a
changeset in flight): only as the project's writer, since while another process holds the lock
a changeset in flight may be its apply under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from engine.errors import ProjectLocked
from engine.lock import LOCK_FILE, WriterLock

POLL_SECONDS = 0.002
"""How often `writing_files` tries the lock while another writer of this process holds it."""

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_MADE = threading.Lock()


def file_writes(root: Path | str) -> threading.Lock:
    """The lock of this process's writes to the files of the project at ``root``."""
    key = os.path.realpath(root)
    with _LOCKS_MADE:
        return _LOCKS.setdefault(key, threading.Lock())


@contextlib.asynccontextmanager
async def writing_files(root: Path | str) -> AsyncIterator[None]:
    """Hold `file_writes` for ``root`` inside, from async code."""
    lock = file_writes(root)
    while not lock.acquire(blocking=False):
        await asyncio.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def as_writer(root: Path | str) -> Iterator[bool]:
    """True inside when this process is the project's writer: it holds the writer lock, or
    nobody did and it holds it now (released on leaving); False while another process holds
    it."""
    try:
        lock = WriterLock(Path(root), purpose="finishing an interrupted changeset").acquire()
    except ProjectLocked:
        yield _held_here(Path(root))
        return
    try:
        yield True
    finally:
        lock.release()


def _held_here(root: Path) -> bool:
    # The holder writes its pid into the lock file, and a release empties it (a flock on a
    # second descriptor conflicts with this process's own, so the lock cannot say it).
    try:
        info = json.loads((root / ".reelcut" / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and info.get("pid") == os.getpid()
