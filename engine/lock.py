"""One writer per project: an exclusive ``flock`` on ``.reelcut/lock``.

The kernel drops the lock when its holder exits, however it exits, so a crash never leaves a
stale lock behind. The holder writes who it is into the file, so the next process can name it.
Readers (``reelcut info``) never take the lock: saves are atomic renames, so a reader always sees
a whole file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from pathlib import Path
from types import TracebackType

from engine.errors import ProjectInvalid, ProjectLocked, StorageError
from engine.fsio.causes import describe, kind_of

LOCK_FILE = "lock"
_OPEN = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


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
        """Take the lock, or raise: `ProjectLocked` naming the holder, or `StorageError` naming
        what keeps the lock file from being opened (a read-only file system, permissions, a
        full disk, a folder, link or pipe in its place). Only ``.reelcut/`` itself is made, never
        the folders above it: a lock never creates a project where there was none."""
        if self._fd is not None:
            return self
        self._make_state_folder()
        try:
            # No link is followed (a link to a file outside would be truncated and written)
            # and a pipe does not block the open; what was opened is checked below.
            fd = os.open(self.path, _OPEN, 0o644)
        except OSError as exc:
            raise self._refused(exc) from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise StorageError(
                    f"{self.path}: is {kind_of(mode)}, where reelcut keeps its writer lock (a "
                    "plain file); remove it and try again"
                )
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ProjectLocked(
                f"{self.root}: the project is open for writing by {describe_holder(self.path)}; "
                "close it there first (read-only commands like `reelcut info` still work)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": self.purpose,
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError as exc:
            # Who holds the lock is a courtesy for the next process's message; the flock is
            # the lock. On a full disk the holder goes unnamed ("another process") and the
            # command's own writes say what is wrong.
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                os.close(fd)
                raise self._refused(exc) from None
        self._fd = fd
        return self

    def _make_state_folder(self) -> None:
        state = self.path.parent
        try:
            state.mkdir(exist_ok=True)
        except FileExistsError:
            pass  # something that is not a folder: the open says what
        except FileNotFoundError:
            raise ProjectInvalid(f"{self.root}: no such folder") from None
        except OSError as exc:
            raise self._refused(exc, state) from None

    def _refused(self, exc: OSError, path: Path | None = None) -> StorageError:
        path = path or self.path
        if exc.errno == errno.ENOTDIR:
            return StorageError(
                f"{path.parent}: is a file, where reelcut keeps its state folder; move it out "
                "of the way and try again"
            )
        if exc.errno in (errno.EISDIR, errno.ELOOP):
            what = "a folder" if exc.errno == errno.EISDIR else "a symbolic link"
            return StorageError(
                f"{path}: is {what}, where reelcut keeps its writer lock (a plain file); "
                "remove it and try again"
            )
        writing = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM)
        verb = "write" if exc.errno in writing else "open"
        return StorageError(f"cannot {verb} {path}: {describe(exc)}")

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
