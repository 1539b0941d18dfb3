"""Walking a checked path on disk, folder by folder, without ever following a link.

The project folder is resolved once with `os.path.realpath` (it may itself sit behind links);
below it, the path (already through `engine.fsio.paths`) is walked one name at a time from a
directory file descriptor with ``dir_fd=`` and ``O_NOFOLLOW``, so the kernel never follows a
symbolic link. Holding a descriptor to each real folder closes the check-then-use race: swapping
a folder for a link after we looked changes nothing, because we never look the name up again.
Every symbolic link is refused, including one that points back inside the project.

A folder that someone moves out of the project while a call holds it is not detected: the call
finishes inside that folder, wherever it now is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as st
from collections.abc import Iterator, Sequence
from pathlib import Path

from engine.errors import ReelcutError
from engine.fsio.paths import (
    PathNotFound,
    components,
    failed,
    kind,
    link_refusal,
    refuse,
    show,
)

# A folder on the way: a handle good only for *at() calls, and never through a link.
_WALK = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A folder whose entries we read or that we fsync (O_PATH descriptors allow neither).
_LISTABLE = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@contextlib.contextmanager
def parent_of(root: Path, rel: str, *, create: bool = False) -> Iterator[tuple[int, str, str]]:
    """Yield (descriptor of the folder holding the leaf, leaf name, canonical path).

    ``create`` makes missing folders on the way (never through a link)."""
    real = os.path.realpath(root)
    parts = components(real, rel)
    path = "/".join(parts)
    root_fd = open_root(real)
    try:
        parent = walk(root_fd, path, parts[:-1], create=create)
    finally:
        os.close(root_fd)
    try:
        yield parent, parts[-1], path
    finally:
        os.close(parent)


def open_root(real: str) -> int:
    """A walking descriptor for the resolved project folder ``real``."""
    try:
        return os.open(real, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ReelcutError(
            f"project folder {real!r} cannot be opened ({exc.strerror}); check that it exists"
        ) from exc


def walk(start: int, path: str, dirs: Sequence[str], *, create: bool = False) -> int:
    """A new descriptor for the folder ``dirs`` below ``start``, never passing through a link."""
    current = os.dup(start)
    try:
        for depth, name in enumerate(dirs):
            below = _enter(current, name, path, "/".join(dirs[: depth + 1]), create)
            os.close(current)
            current = below
    except BaseException:
        os.close(current)
        raise
    return current


def _enter(parent: int, name: str, path: str, where: str, create: bool) -> int:
    try:
        return os.open(name, _WALK, dir_fd=parent)
    except FileNotFoundError as exc:
        if not create:
            raise leaf_error(parent, name, path, exc, where) from exc
    except OSError as exc:
        raise leaf_error(parent, name, path, exc, where) from exc
    try:
        # mkdirat does not follow a link either: a dangling link here is EEXIST, and the open
        # below then refuses it.
        os.mkdir(name, 0o777, dir_fd=parent)
        fsync_folder(parent, path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise failed("create a folder for", path, exc) from exc
    try:
        return os.open(name, _WALK, dir_fd=parent)
    except OSError as exc:
        raise leaf_error(parent, name, path, exc, where) from exc


def reopen(folder: int, path: str) -> int:
    """A descriptor of the same folder that can be listed and fsynced (``folder`` may be
    ``O_PATH``); ``path`` is for the message."""
    try:
        return os.open(".", _LISTABLE, dir_fd=folder)
    except OSError as exc:
        raise failed("open the folder of", path, exc) from exc


def fsync_folder(folder: int, path: str) -> None:
    fd = reopen(folder, path)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def lstat_at(parent: int, name: str, path: str) -> os.stat_result:
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except OSError as exc:
        raise leaf_error(parent, name, path, exc) from exc


def same_folder(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def leaf_error(
    parent: int, name: str, path: str, exc: OSError, where: str | None = None
) -> ReelcutError:
    """Turn a failed *at() call on ``name`` into one line.

    ``where`` is set when ``name`` had to be a folder: the part of ``path`` it ends.
    """
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.ENXIO):
        # Only the message depends on this second look; the refusal came from the kernel.
        try:
            mode: int | None = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        except OSError:
            mode = None
        what = kind(mode) if mode is not None else "not there any more"
        if mode is not None and st.S_ISLNK(mode):
            return link_refusal(path, where or path)
        if where is None:
            return refuse(path, f"is {what}, not a regular file")
        if where == path:
            return PathNotFound(f"path {show(path)} is {what}, not a folder")
        return PathNotFound(f"path {show(path)} goes through {where!r}, which is {what}")
    where = where or path
    if exc.errno == errno.ENOENT:
        if where == path:
            return PathNotFound(
                f"path {show(path)} does not exist; list the project's files to find the name"
            )
        return PathNotFound(
            f"path {show(path)} needs the folder {where!r}, which does not exist; "
            "create it first or write with create_parents"
        )
    return failed("open", path, exc)
