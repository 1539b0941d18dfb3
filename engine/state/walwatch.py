"""A wake-up when the state database's write-ahead log changes, from Linux inotify.

Every commit to ``state.sqlite``, from any process, appends to ``state.sqlite-wal`` while a
connection is open (ours stays open), so an ``IN_MODIFY`` on that file says "look again". The
event tail uses it to notice other processes' commits without asking SQLite 50 times a second
(each timer wake costs CPU even when nothing changed; an idle editor paid 1.5% of a core).

The watch only wakes; it never decides. After a wake the caller reads what is new, and it keeps
a slow poll of ``PRAGMA data_version`` for what a watch can miss (the log replaced under it, a
platform without inotify). Under a stream of commits it wakes at most once per
``min_interval``: it stops reading until then, and whatever arrived meanwhile makes it readable
again at once. A commit missed mid-write is thus seen at most ``min_interval`` later.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

IN_MODIFY = 0x00000002
SETTLE = 0.002
"""Seconds between the first write to the log and the wake-up: a commit is several writes, and
a wake in the middle of one finds nothing new (the next wake, ``min_interval`` later, would)."""
_libc: ctypes.CDLL | None = None


def _inotify() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.inotify_init1.argtypes = [ctypes.c_int]
            libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            _libc = libc
    return _libc


class WalWatch:
    """Calls ``on_change`` on the event loop after the watched file is written."""

    def __init__(self, fd: int, on_change: Callable[[], None], min_interval: float) -> None:
        self._fd = fd
        self._on_change = on_change
        self._min_interval = min_interval
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._loop.add_reader(fd, self._readable)
        self.wakes = 0  # for tests and benchmarks

    @classmethod
    def open(
        cls, path: Path, on_change: Callable[[], None], *, min_interval: float
    ) -> WalWatch | None:
        """Watch ``path`` (which must exist), or None where inotify is not available."""
        libc = _inotify()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(path), IN_MODIFY) < 0:
            os.close(fd)
            return None
        return cls(fd, on_change, min_interval)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self._fd, 4096):
                pass
        self.wakes += 1
        self._loop.remove_reader(self._fd)
        # The first write of a commit wakes us, often before its last one: let it finish.
        self._timer = self._loop.call_later(SETTLE, self._fire)

    def _fire(self) -> None:
        self._timer = self._loop.call_later(max(0.0, self._min_interval - SETTLE), self._rearm)
        self._on_change()

    def _rearm(self) -> None:
        self._timer = None
        self._loop.add_reader(self._fd, self._readable)

    def close(self) -> None:
        if self._fd < 0:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
