"""Why the file system refused, in one line that names the real cause.

A read-only mount, a folder the user may not write, a full disk or a pipe where a file belongs
are not bugs in reelcut and not damage to the project: the line says which it is, and never
advises a remedy that loses work (moving the state database aside loses the undo history; it
fixes neither a permission nor a full disk). SQLite reports these causes vaguely (``unable to
open database file``, ``disk I/O error``, ``attempt to write a readonly database``), so its
errors are explained by looking at the folder itself (`folder_refusal`).

`describe` words an ``errno``; `folder_refusal` says why a folder cannot take writes, if it
cannot; `sqlite_refusal` and `environment_error` turn an exception (or the one it was raised
while handling: a failed ``ROLLBACK`` after ``SQLITE_FULL`` hides the full disk behind "cannot
rollback - no transaction is active") into a `StorageError`, or None for a real bug.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.errors import StorageError

STATE_FILE = "state.sqlite"
"""The state database's name in ``.reelcut/`` (`engine.state.db.STATE_FILE`, which this module
cannot import: the database module uses this one)."""

LOW_SPACE = 1 << 20
"""Below this much free space, an I/O error from SQLite is put down to the full disk: SQLite
needs room for its WAL and shared-memory files before it reports ``SQLITE_FULL`` itself."""

ENVIRONMENT = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.ELOOP,
        errno.ENXIO,
        errno.ETXTBSY,
        errno.EMFILE,
        errno.ENFILE,
    }
)
"""The ``errno`` values that come from the machine and its file systems, not from a bug."""

_PHRASES = {
    errno.ENOSPC: "no space left on the device (free some space and try again)",
    errno.EDQUOT: "the disk quota is used up (free some space and try again)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied (check the folder's owner and permissions)",
    errno.EPERM: "permission denied (check the folder's owner and permissions)",
    errno.EISDIR: "a folder is where a file belongs",
    errno.ENOTDIR: "a file is where a folder belongs",
    errno.ELOOP: "a symbolic link is where reelcut keeps a file (links are not followed there)",
    errno.ENXIO: "a special file (a pipe or a socket) is where a file belongs",
    errno.EMFILE: "too many open files (raise `ulimit -n`)",
    errno.ENFILE: "too many open files on this machine",
}

# SQLite's primary result codes that can come from the file system rather than from the data.
_SQLITE_ENVIRONMENT = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_FULL,
    }
)
SQLITE_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
"""SQLite's codes for a file whose content is broken: the one case where moving the database
aside (and losing its history) is the way out."""


def describe(exc: OSError | int) -> str:
    """The cause of an OSError (or an ``errno``) in words a user can act on."""
    if isinstance(exc, OSError):
        return _PHRASES.get(exc.errno or 0) or exc.strerror or str(exc)
    return _PHRASES.get(exc) or os.strerror(exc)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, for a line that says a path is the wrong kind."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a file"


def folder_refusal(folder: Path, files: Iterable[Path] = ()) -> int | None:
    """Why ``folder`` (and ``files`` in it, where they exist) cannot take writes, as an
    ``errno`` (`describe` words it), or None when nothing in the file system says so: a
    read-only mount (``EROFS``), missing write permission (``EACCES``, checked with the
    process's effective ids, so root without ``CAP_DAC_OVERRIDE`` is judged as the kernel will
    judge it), or less than `LOW_SPACE` free (``ENOSPC``)."""
    try:
        fs = os.statvfs(folder)
    except OSError as exc:
        return exc.errno
    if fs.f_flag & os.ST_RDONLY:
        return errno.EROFS
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=True):
        return errno.EACCES
    for path in files:
        if path.exists() and not os.access(path, os.R_OK | os.W_OK, effective_ids=True):
            return errno.EACCES
    if fs.f_bavail * fs.f_frsize < LOW_SPACE:
        return errno.ENOSPC
    return None


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on ``folder``'s file system."""
    fs = os.statvfs(folder)
    return fs.f_bavail * fs.f_frsize


def sqlite_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of ``exc`` (None when the driver did not give one)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def sqlite_refusal(exc: sqlite3.Error, state_dir: Path) -> int | None:
    """The file-system cause of a SQLite error on the database in ``state_dir`` as an
    ``errno``, or None when the error is not the file system's (a bug, or a damaged file)."""
    code = sqlite_code(exc)
    if code == sqlite3.SQLITE_FULL:
        return errno.ENOSPC
    if code is not None and code not in _SQLITE_ENVIRONMENT:
        return None
    db = state_dir / STATE_FILE
    return folder_refusal(state_dir, [db, Path(f"{db}-wal"), Path(f"{db}-shm")])


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it was raised from or while handling, and so on, and the members of
    an exception group (a task group's failure: the MCP server's), each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        nxt = current.__cause__ or current.__context__
        if nxt is not None:
            todo.append(nxt)


def environment_error(exc: BaseException, root: Path | None = None) -> StorageError | None:
    """``exc`` as a one-line `StorageError` when the machine caused it (a refused write, a full
    disk, a special file), looking through the exceptions it was raised while handling; None
    when it is a bug. ``root``, the project folder, lets a SQLite error name its cause."""
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in ENVIRONMENT:
            where = f"{link.filename}: " if link.filename else ""
            return StorageError(f"{where}{describe(link)}")
        if isinstance(link, sqlite3.Error) and root is not None:
            state_dir = Path(root).absolute() / ".reelcut"
            cause = sqlite_refusal(link, state_dir)
            if cause is not None:
                verb = "open" if sqlite_code(link) == sqlite3.SQLITE_CANTOPEN else "write"
                return StorageError(
                    f"{state_dir / STATE_FILE}: cannot {verb} the state database: {describe(cause)}"
                )
    return None
