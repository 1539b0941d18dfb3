"""Reading, writing, renaming, removing and listing a project's files for the agent's tools.

Every call takes the project folder and a tool-supplied relative path, checks the path
(`engine.fsio.paths`), walks to its folder without following links (`engine.fsio.walk`) and only
then acts on the leaf through that folder's descriptor. Named pipes, devices and sockets are
refused before they are opened (and opened non-blocking in case of a swap), and so are folders
where a file is expected.

Hard links are files of the project (there is nothing to follow); `write_atomic` replaces a file
by rename (`engine.fsio.durable`), so it never changes an inode another name shares, and
`remove` and `rename` only unlink or move the name.
"""

from __future__ import annotations

import errno
import os
import stat as st
from collections.abc import Sequence
from pathlib import Path

from engine.errors import ReelcutError
from engine.fsio import durable
from engine.fsio.paths import (
    INTERNAL_DIR,
    PathNotFound,
    PathRefused,
    components,
    exists_error,
    failed,
    is_listable,
    link_refusal,
    refuse,
    require_file,
    show,
)
from engine.fsio.walk import (
    fsync_folder,
    leaf_error,
    lstat_at,
    open_root,
    parent_of,
    reopen,
    same_folder,
    walk,
)

# O_NONBLOCK: a regular file swapped for a FIFO after the check must not hang the read.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def read_bytes(root: Path, rel: str) -> bytes:
    """The contents of the regular file at ``rel``."""
    with parent_of(root, rel) as (parent, name, path):
        return _read_at(parent, name, path)


def read_many(root: Path, rels: Sequence[str]) -> list[bytes | None]:
    """The contents of each regular file in ``rels`` (None where nothing is there), walking
    each folder once; the same checks as `read_bytes`."""
    real = os.path.realpath(root)
    root_fd = open_root(real)
    folders: dict[str, int | None] = {}
    out: list[bytes | None] = []
    try:
        for rel in rels:
            parts = components(real, rel)
            path, key = "/".join(parts), "/".join(parts[:-1])
            if key not in folders:
                try:
                    folders[key] = walk(root_fd, path, parts[:-1])
                except PathNotFound:
                    folders[key] = None
            folder = folders[key]
            try:
                if folder is None:
                    raise PathNotFound(path)
                out.append(_read_at(folder, parts[-1], path))
            except PathNotFound:
                out.append(None)
    finally:
        for fd in folders.values():
            if fd is not None:
                os.close(fd)
        os.close(root_fd)
    return out


def write_atomic(
    root: Path,
    rel: str,
    data: bytes,
    *,
    create_parents: bool = False,
    sync_folder: bool = True,
    exclusive: bool = False,
) -> None:
    """Replace (or create) the regular file at ``rel`` with ``data``, atomically and durably.

    `engine.fsio.durable.write_at` does the work in the folder this call walked to: a hidden
    temp file beside the target, fsynced, renamed over it, the folder fsynced; a reader sees the
    old bytes or the new, and any failure removes the temp file and leaves the target as it
    was. An existing file keeps its permission bits. ``create_parents`` makes missing folders on
    the way (never through a link). With ``sync_folder=False`` the rename is not durable yet: a
    caller writing several files calls ``sync_parent`` once per folder afterwards. With
    ``exclusive`` the call only creates: `PathExists` if anything is at ``rel``, including
    something that appears while the bytes are written (the final rename refuses to replace it).
    """
    with parent_of(root, rel, create=create_parents) as (parent, name, path):
        mode: int | None = None
        try:
            found = lstat_at(parent, name, path).st_mode
        except PathNotFound:
            pass
        else:
            if exclusive:
                raise exists_error(path, found)
            mode = require_file(path, found)
        folder = reopen(parent, path)
        try:
            durable.write_at(
                folder, name, data, chmod=mode, exclusive=exclusive, sync_folder=sync_folder
            )
        except durable.FolderSyncFailed as exc:
            raise ReelcutError(
                f"wrote {show(path)} but could not confirm it reached the disk: "
                f"{exc.strerror or exc}"
            ) from exc
        except FileExistsError as exc:
            raise exists_error(path) from exc
        except IsADirectoryError as exc:
            # renameat replaces whatever name is there now, but never a folder.
            raise refuse(path, "is a folder, not a file") from exc
        except OSError as exc:
            raise failed("write", path, exc, f"; {path!r} is unchanged") from exc
        finally:
            os.close(folder)


def rename(root: Path, old: str, new: str, *, create_parents: bool = False) -> None:
    """Move the regular file at ``old`` to ``new`` in one atomic step, durably, never replacing.

    The kernel checks that ``new`` is free in the same step as the move (``renameat2`` with
    ``RENAME_NOREPLACE``, or ``linkat`` then ``unlinkat`` where the file system lacks it), so a
    file that appears at ``new`` meanwhile is never replaced: `PathExists`. Both folders are
    fsynced afterwards. ``create_parents`` makes missing folders on the way to ``new``. Links,
    folders and special files at ``old`` are refused; both paths must be on one file system.
    """
    with parent_of(root, old) as (src, src_name, src_path):
        require_file(src_path, lstat_at(src, src_name, src_path).st_mode)
        with parent_of(root, new, create=create_parents) as (dst, dst_name, dst_path):
            try:
                durable.rename_noreplace(src, src_name, dst, dst_name)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise exists_error(dst_path) from exc
                if exc.errno == errno.ENOENT:
                    raise leaf_error(src, src_name, src_path, exc) from exc
                if exc.errno == errno.EXDEV:
                    raise failed(
                        f"move {show(src_path)} to",
                        dst_path,
                        exc,
                        " (a move cannot cross file systems); nothing was changed",
                    ) from exc
                raise failed(
                    f"move {show(src_path)} to", dst_path, exc, "; nothing was changed"
                ) from exc
            try:
                fsync_folder(dst, dst_path)
                if not same_folder(src, dst):
                    fsync_folder(src, src_path)
            except OSError as exc:
                raise ReelcutError(
                    f"moved {show(src_path)} to {show(dst_path)} but could not confirm it "
                    f"reached the disk: {exc.strerror or exc}"
                ) from exc


def sync_parent(root: Path, rel: str) -> None:
    """fsync the folder holding ``rel``, making renames and removals in it durable."""
    with parent_of(root, rel) as (parent, _name, path):
        fsync_folder(parent, path)


def exists(root: Path, rel: str) -> bool:
    """Whether a file or folder is at ``rel``; a symbolic link on the way is refused, not False."""
    try:
        with parent_of(root, rel) as (parent, name, path):
            mode = lstat_at(parent, name, path).st_mode
    except PathNotFound:
        return False
    if st.S_ISLNK(mode):
        raise link_refusal(path, path)
    return True


def stat(root: Path, rel: str) -> os.stat_result:
    """The status of the regular file at ``rel`` (size, times, mode)."""
    with parent_of(root, rel) as (parent, name, path):
        result = lstat_at(parent, name, path)
        require_file(path, result.st_mode)
        return result


def remove(root: Path, rel: str) -> None:
    """Delete the regular file at ``rel``; folders, links and special files are refused."""
    with parent_of(root, rel) as (parent, name, path):
        require_file(path, lstat_at(parent, name, path).st_mode)
        try:
            # unlink never follows a link: a swap after the check removes only the swapped name.
            os.unlink(name, dir_fd=parent)
        except OSError as exc:
            raise leaf_error(parent, name, path, exc) from exc


def list_files(root: Path, under: str = "") -> list[str]:
    """Every regular file at or below the folder ``under`` ("" is the project), sorted.

    Paths are relative to the project, not to ``under``. Links are neither followed nor listed,
    nor are special files, ``.reelcut/`` or names the lexical rules would refuse, so every path
    returned can be passed back to `read_bytes`.
    """
    real = os.path.realpath(root)
    top = components(real, under, allow_root=True)
    root_fd = open_root(real)
    found: list[str] = []
    try:
        pending = [top]
        while pending:
            dirs = pending.pop()
            prefix = "/".join(dirs)
            try:
                walked = walk(root_fd, prefix, dirs)
                try:
                    fd = reopen(walked, prefix)
                finally:
                    os.close(walked)
            except PathRefused:
                if dirs is top:
                    raise
                continue  # changed while we listed: skip it rather than follow it
            try:
                names = os.listdir(fd)
                for name in names:
                    if not dirs and name.casefold() == INTERNAL_DIR:
                        continue
                    path = f"{prefix}/{name}" if prefix else name
                    if not is_listable(real, path):
                        continue
                    try:
                        mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
                    except FileNotFoundError:
                        continue
                    if st.S_ISREG(mode):
                        found.append(path)
                    elif st.S_ISDIR(mode):
                        pending.append([*dirs, name])
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)
    return sorted(found)


def open_regular(root: Path, rel: str) -> int:
    """A read-only descriptor of the regular file at ``rel``; the caller closes it.

    For a reader that must use exactly the file it checked (the preview server serving media):
    the name is opened once, through folder descriptors and with ``O_NOFOLLOW``, and checked
    with ``fstat`` on the descriptor itself, so a swap of the name for a link or a special file
    at any moment either is refused here or changes nothing about what the descriptor reads.
    Size and times come from ``os.fstat`` on it, bytes from ``os.pread``; never open the name
    again."""
    with parent_of(root, rel) as (parent, name, path):
        # A look first, so a device or a FIFO already there is refused without being opened.
        require_file(path, lstat_at(parent, name, path).st_mode)
        try:
            fd = os.open(name, _READ, dir_fd=parent)
        except OSError as exc:
            raise leaf_error(parent, name, path, exc) from exc
        try:
            require_file(path, os.fstat(fd).st_mode)
        except BaseException:
            os.close(fd)
            raise
        return fd


def _read_at(parent: int, name: str, path: str) -> bytes:
    require_file(path, lstat_at(parent, name, path).st_mode)
    try:
        fd = os.open(name, _READ, dir_fd=parent)
    except OSError as exc:
        raise leaf_error(parent, name, path, exc) from exc
    try:
        require_file(path, os.fstat(fd).st_mode)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise failed("read", path, exc) from exc
    finally:
        os.close(fd)
