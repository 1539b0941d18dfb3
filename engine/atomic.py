"""Atomic file replacement: a reader sees the old bytes or the new bytes, never a mix.

The new bytes go to a temp file in the same folder, are fsynced, renamed over the target, and the
folder is fsynced so the rename itself is durable (git's lockfile and SQLite's journal do the
same). Any failure removes the temp file and leaves the target as it was; an fsync failure is an
error, never retried (PostgreSQL's "fsyncgate": after a failed fsync the page cache can no longer
be trusted).
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from engine.errors import ReelcutError

TEMP_SUFFIX = ".tmp"


def temp_name(target: Path) -> Path:
    """The temp path used while replacing ``target`` (hidden, same folder)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Replace ``target`` with ``data`` atomically and durably; raise ReelcutError on failure.
    ``mode`` (less the umask) is the new file's permissions: 0o600 for a secret."""
    tmp = temp_name(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        _remove_quietly(tmp)
        raise ReelcutError(
            f"could not save {target.name}: {_describe(exc)}; {target.name} is unchanged"
        ) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise
    try:
        fsync_dir(target.parent)
    except OSError as exc:
        raise ReelcutError(
            f"saved {target.name} but could not confirm it reached the disk: {_describe(exc)}"
        ) from exc


def remove_stale_temps(folder: Path, target_name: str) -> list[Path]:
    """Delete temp files a killed writer left for ``target_name``; call only under the lock."""
    removed = []
    for p in folder.glob(f".{target_name}.*{TEMP_SUFFIX}"):
        _remove_quietly(p)
        removed.append(p)
    return removed


def _remove_quietly(path: Path) -> None:
    path.unlink(missing_ok=True)


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device (free some space and try again)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (check the folder's owner and permissions)"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return exc.strerror or str(exc)
