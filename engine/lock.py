"""One writer per project: an exclusive ``flock`` on ``.reelcut/lock``.

The kernel drops the lock when its holder exits, however it exits, so a crash never leaves a
stale lock behind. The holder writes who it is into the file, so the next process can name it.
Readers (``reelcut info``) never take the lock: saves are atomic renames, so a reader always sees
a whole file.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from engine.errors import ProjectLocked

LOCK_FILE = "lock"


class WriterLock:
    """Exclusive write access to a project directory; use as a context manager or acquire()."""

    def __init__(self, root: Path, *, purpose: str = "") -> None:
        self.root = root
        self.path = root / ".reelcut" / LOCK_FILE
        self.purpose = purpose or " ".join(os.path.basename(a) for a in sys.argv[:2])
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> WriterLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ProjectLocked(
                f"{self.root}: the project is open for writing by {describe_holder(self.path)}; "
                "close it there first (read-only commands like `reelcut info` still work)"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": self.purpose,
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def describe_holder(path: Path) -> str:
    """``pid 123 (reelcut open) on host since ...``, or a vaguer line if the file is unreadable."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    purpose = f" ({info['purpose']})" if info.get("purpose") else ""
    return f"pid {info.get('pid')}{purpose} on {info.get('host')} since {info.get('since')}"
