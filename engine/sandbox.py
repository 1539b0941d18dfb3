"""The one place that turns a tool-supplied path into a file inside a project directory.

Agent tools name files with strings such as ``scripts/script.md``. Every such string passes
through here, in two stages:

1. **Lexical** (`normalize`). The string must be a relative POSIX path that stays below the
   project folder: not empty, not absolute, no ``..`` component anywhere (even one that would come
   back inside, such as ``a/../b``: the simplest rule to state and to check), no NUL byte or other
   control character, nothing under the project's own ``.reelcut/`` folder (compared without
   case, for case-folding file systems), at most 255 bytes per name and 4096 bytes for the whole
   path including the project folder. ``./`` and repeated or trailing slashes are dropped. Nothing
   is decoded: ``%2e%2e`` is a literal file name, and so is ``..\\x`` (a backslash is an ordinary
   character on Linux), ``~`` and ``$HOME``.

2. **On disk**. The project folder is resolved once with `os.path.realpath` (it may itself sit
   behind links); below it, the path is walked one name at a time from a directory file
   descriptor with ``dir_fd=`` and ``O_NOFOLLOW``, so the kernel never follows a symbolic link.
   Holding a descriptor to each real folder closes the check-then-use race: swapping a folder for
   a link after we looked changes nothing, because we never look the name up again. Every
   symbolic link is refused, including one that points back inside the project; so are named
   pipes, devices and sockets (refused before they are opened, and opened non-blocking in case
   of a swap), and folders where a file is expected.

Hard links are files of the project (there is nothing to follow); `write_atomic` replaces a file
by rename, so it never changes an inode another name shares, and `remove` and `rename` only unlink
or move the name.
A folder that someone moves out of the project while a call holds it is not detected: the call
finishes inside that folder, wherever it now is.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
import secrets
import stat as st
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError

INTERNAL_DIR = ".reelcut"
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
TEMP_SUFFIX = ".reelcut-tmp"

_EXAMPLE = "'scripts/script.md'"
# Unicode category Cc, exactly: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NO_LINKS = "reelcut's tools do not follow links"

# A folder on the way: a handle good only for *at() calls, and never through a link.
_WALK = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A folder whose entries we read or that we fsync (O_PATH descriptors allow neither).
_LISTABLE = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a regular file swapped for a FIFO after the check must not hang the read.
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class PathRefused(ReelcutError):
    """A tool-supplied path that reelcut will not use; the message names the path and why."""

    exit_code = 9


class PathNotFound(PathRefused):
    """Nothing is at the path, or a folder on the way is missing or is a file."""


class PathExists(PathRefused):
    """Something is already at a path that a call creates and never replaces."""


def normalize(root: Path, rel: str) -> str:
    """Check ``rel`` without touching the files and return it as a canonical relative path.

    ``normalize(root, "./scripts//a.md") == "scripts/a.md"``; raise `PathRefused` for anything the
    module docstring's rules forbid. ``root`` only counts towards the 4096-byte limit.
    """
    return "/".join(_parts(os.path.realpath(root), rel))


def read_bytes(root: Path, rel: str) -> bytes:
    """The contents of the regular file at ``rel``."""
    with _parent(root, rel) as (parent, name, path):
        return _read_at(parent, name, path)


def read_many(root: Path, rels: Sequence[str]) -> list[bytes | None]:
    """The contents of each regular file in ``rels`` (None where nothing is there), walking
    each folder once; the same checks as `read_bytes`."""
    real = os.path.realpath(root)
    root_fd = _open_root(real)
    folders: dict[str, int | None] = {}
    out: list[bytes | None] = []
    try:
        for rel in rels:
            parts = _parts(real, rel)
            path, key = "/".join(parts), "/".join(parts[:-1])
            if key not in folders:
                try:
                    folders[key] = _walk(root_fd, path, parts[:-1])
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

    The bytes go to a hidden temp file beside the target (created with ``O_EXCL|O_NOFOLLOW``),
    are fsynced, renamed over the target and the folder is fsynced; a reader sees the old bytes
    or the new, and any failure removes the temp file and leaves the target as it was. An
    existing file keeps its permission bits. ``create_parents`` makes missing folders on the way
    (never through a link). With ``sync_folder=False`` the rename is not durable yet: a caller
    writing several files calls ``sync_parent`` once per folder afterwards. With ``exclusive``
    the call only creates: `PathExists` if anything is at ``rel``, including something that
    appears while the bytes are written (the final rename refuses to replace it).
    """
    with _parent(root, rel, create=create_parents) as (parent, name, path):
        mode: int | None = None
        try:
            found = _lstat(parent, name, path).st_mode
        except PathNotFound:
            pass
        else:
            if exclusive:
                raise _exists(path, found)
            mode = _require_file(path, found)
        folder = _reopen(parent, path)
        try:
            _replace(folder, name, path, data, mode, sync_folder, exclusive=exclusive)
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
    with _parent(root, old) as (src, src_name, src_path):
        _require_file(src_path, _lstat(src, src_name, src_path).st_mode)
        with _parent(root, new, create=create_parents) as (dst, dst_name, dst_path):
            try:
                _rename_noreplace(src, src_name, dst, dst_name)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise _exists(dst_path) from exc
                if exc.errno == errno.ENOENT:
                    raise _leaf_error(src, src_name, src_path, exc) from exc
                if exc.errno == errno.EXDEV:
                    raise _failed(
                        f"move {_show(src_path)} to",
                        dst_path,
                        exc,
                        " (a move cannot cross file systems); nothing was changed",
                    ) from exc
                raise _failed(
                    f"move {_show(src_path)} to", dst_path, exc, "; nothing was changed"
                ) from exc
            try:
                _fsync_folder(dst, dst_path)
                if not _same_folder(src, dst):
                    _fsync_folder(src, src_path)
            except OSError as exc:
                raise ReelcutError(
                    f"moved {_show(src_path)} to {_show(dst_path)} but could not confirm it "
                    f"reached the disk: {exc.strerror or exc}"
                ) from exc


def sync_parent(root: Path, rel: str) -> None:
    """fsync the folder holding ``rel``, making renames and removals in it durable."""
    with _parent(root, rel) as (parent, _name, path):
        _fsync_folder(parent, path)


@dataclass
class _Staged:
    folder: int  # listable descriptor of the folder, owned by the Batch
    name: str
    path: str
    tmp: str | None  # None: the file is to be removed
    done: bool = False


class Batch:
    """Replace (or remove) several files, each atomically, all made durable with few barriers.

    ``stage(rel, data)`` checks the path, writes the bytes to a hidden temp file beside the
    target and changes nothing visible; ``sync()`` makes every staged byte durable at once;
    ``commit(rel)`` then renames one staged file over its target (or removes it); ``close()``
    makes the renames durable, removes temp files never committed and releases the folders.
    Each folder is walked once however many files it holds. Durability uses the cheapest
    barrier that is still a barrier: one ``syncfs`` per file system when little else is waiting
    to be written, or else an fsync of every file in parallel (`_sync_all`).

    Nothing is visible before the first ``commit``; a caller that fails part-way restores the
    files it committed (the ledger does). A crash leaves temp files named ``*TEMP_SUFFIX``
    beside their targets; `remove_temp_files` clears them.
    """

    def __init__(self, root: Path) -> None:
        self._real = os.path.realpath(root)
        self._root_fd = _open_root(self._real)
        self._folders: dict[str, int] = {}
        self._staged: dict[str, _Staged] = {}
        self._unsynced: list[int] = []  # descriptors of temp files written but not yet synced
        self._dirty: set[int] = set()  # folders with a commit not yet made durable

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stage(self, rel: str, data: bytes | None) -> None:
        parts = _parts(self._real, rel)
        path = "/".join(parts)
        if path in self._staged:
            raise ValueError(f"{path!r} is staged twice in one batch")
        name = parts[-1]
        try:
            folder = self._folder(parts[:-1], path, create=data is not None)
        except PathNotFound:
            if data is not None:
                raise
            self._staged[path] = _Staged(-1, name, path, None)  # nothing there to remove
            return
        mode: int | None = None
        with contextlib.suppress(PathNotFound):
            mode = _require_file(path, _lstat(folder, name, path).st_mode)
        if data is None:
            self._staged[path] = _Staged(folder, name, path, None)
            return
        tmp = f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, _CREATE, 0o666, dir_fd=folder)
        except OSError as exc:
            raise _failed("write", path, exc) from exc
        self._staged[path] = _Staged(folder, name, path, tmp)
        self._unsynced.append(fd)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise _failed("write", path, exc, f"; {path!r} is unchanged") from exc

    def sync(self) -> None:
        """Make every staged byte durable (before any rename can be)."""
        fds, self._unsynced = self._unsynced, []
        if not fds:
            return
        try:
            _sync_all(fds)
        except OSError as exc:
            raise ReelcutError(
                f"could not make the new files durable: {exc.strerror or exc}; nothing was changed"
            ) from exc
        finally:
            for fd in fds:
                os.close(fd)

    def commit(self, rel: str) -> None:
        item = self._staged.get(rel) or self._staged[normalize(Path(self._real), rel)]
        if self._unsynced:
            self.sync()
        if item.folder < 0:
            pass
        elif item.tmp is None:
            try:
                os.unlink(item.name, dir_fd=item.folder)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _leaf_error(item.folder, item.name, item.path, exc) from exc
        else:
            try:
                os.rename(item.tmp, item.name, src_dir_fd=item.folder, dst_dir_fd=item.folder)
            except IsADirectoryError as exc:
                raise _refuse(item.path, "is a folder, not a file") from exc
            except OSError as exc:
                raise _failed("write", item.path, exc, f"; {item.path!r} is unchanged") from exc
        item.done = True
        if item.folder >= 0:
            self._dirty.add(item.folder)

    def close(self) -> None:
        try:
            for fd in self._unsynced:
                os.close(fd)
            self._unsynced = []
            for item in self._staged.values():
                if item.tmp is not None and not item.done:
                    with contextlib.suppress(OSError):
                        os.unlink(item.tmp, dir_fd=item.folder)
            dirty, self._dirty = sorted(self._dirty), set()
            if dirty:
                try:
                    _sync_all(dirty)
                except OSError as exc:
                    raise ReelcutError(
                        "wrote the files but could not confirm the renames reached the disk: "
                        f"{exc.strerror or exc}"
                    ) from exc
        finally:
            for fd in self._folders.values():
                os.close(fd)
            self._folders = {}
            if self._root_fd >= 0:
                os.close(self._root_fd)
                self._root_fd = -1

    def _folder(self, dirs: list[str], path: str, *, create: bool) -> int:
        key = "/".join(dirs)
        if key not in self._folders:
            walked = _walk(self._root_fd, path, dirs, create=create)
            try:
                self._folders[key] = _reopen(walked, path)
            finally:
                os.close(walked)
        return self._folders[key]


def remove_temp_files(root: Path, folders: Sequence[str]) -> list[str]:
    """Delete the temp files a killed `Batch` or `write_atomic` left in ``folders``; return them."""
    real = os.path.realpath(root)
    removed: list[str] = []
    root_fd = _open_root(real)
    try:
        for folder in sorted(set(folders)):
            dirs = _parts(real, folder, allow_root=True)
            try:
                walked = _walk(root_fd, folder, dirs)
            except PathRefused:
                continue
            try:
                fd = _reopen(walked, folder)
            finally:
                os.close(walked)
            try:
                for name in os.listdir(fd):
                    if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(name, dir_fd=fd)
                            removed.append(f"{folder}/{name}" if folder else name)
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)
    return removed


# -- durability barriers ------------------------------------------------------------------------

# Above this much data waiting to be written machine-wide (say, a proxy render in progress),
# syncfs would wait for all of it, so the files are fsynced one by one (in parallel) instead.
SYNCFS_DIRTY_LIMIT = 32 << 20
_FSYNC_THREADS = 16
_pool: ThreadPoolExecutor | None = None


def _load_syncfs() -> object | None:
    """libc's syncfs where it reports write-back errors (Linux 5.8 and later), else None."""
    if platform.system() != "Linux":
        return None
    try:
        major, minor = (int(x) for x in platform.release().split(".")[:2])
    except ValueError:
        return None
    if (major, minor) < (5, 8):
        return None  # older kernels' syncfs returns 0 even when write-back failed
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_syncfs = _load_syncfs()


def _dirty_bytes() -> int:
    """Bytes the kernel has yet to write back (Dirty + Writeback), or a large number if unknown."""
    try:
        with open("/proc/meminfo", "rb") as f:
            text = f.read()
    except OSError:
        return 1 << 62
    total = 0
    for line in text.splitlines():
        if line.startswith((b"Dirty:", b"Writeback:")):
            total += int(line.split()[1]) * 1024
    return total


def _sync_all(fds: Sequence[int]) -> None:
    """Make the data and metadata of every descriptor durable; raise OSError if any fails."""
    if not fds:
        return
    if _syncfs is not None and _dirty_bytes() <= SYNCFS_DIRTY_LIMIT:
        # One syncfs per file system writes back and waits for everything on it, ours included.
        by_device: dict[int, int] = {}
        for fd in fds:
            by_device.setdefault(os.fstat(fd).st_dev, fd)
        for fd in by_device.values():
            if _syncfs(fd) != 0:  # type: ignore[operator]
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code))
        return
    if len(fds) == 1:
        os.fsync(fds[0])
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_FSYNC_THREADS, thread_name_prefix="reelcut-fsync")
    # fsync releases the GIL; concurrent fsyncs share the file system's journal commits. Wait
    # for every one before raising: the caller closes these descriptors next.
    futures = [_pool.submit(os.fsync, fd) for fd in fds]
    wait(futures)
    for future in futures:
        future.result()


def exists(root: Path, rel: str) -> bool:
    """Whether a file or folder is at ``rel``; a symbolic link on the way is refused, not False."""
    try:
        with _parent(root, rel) as (parent, name, path):
            mode = _lstat(parent, name, path).st_mode
    except PathNotFound:
        return False
    if st.S_ISLNK(mode):
        raise _link_refusal(path, path)
    return True


def stat(root: Path, rel: str) -> os.stat_result:
    """The status of the regular file at ``rel`` (size, times, mode)."""
    with _parent(root, rel) as (parent, name, path):
        result = _lstat(parent, name, path)
        _require_file(path, result.st_mode)
        return result


def remove(root: Path, rel: str) -> None:
    """Delete the regular file at ``rel``; folders, links and special files are refused."""
    with _parent(root, rel) as (parent, name, path):
        _require_file(path, _lstat(parent, name, path).st_mode)
        try:
            # unlink never follows a link: a swap after the check removes only the swapped name.
            os.unlink(name, dir_fd=parent)
        except OSError as exc:
            raise _leaf_error(parent, name, path, exc) from exc


def list_files(root: Path, under: str = "") -> list[str]:
    """Every regular file at or below the folder ``under`` ("" is the project), sorted.

    Paths are relative to the project, not to ``under``. Links are neither followed nor listed,
    nor are special files, ``.reelcut/`` or names the lexical rules would refuse, so every path
    returned can be passed back to `read_bytes`.
    """
    real = os.path.realpath(root)
    top = _parts(real, under, allow_root=True)
    root_fd = _open_root(real)
    found: list[str] = []
    try:
        pending = [top]
        while pending:
            dirs = pending.pop()
            prefix = "/".join(dirs)
            try:
                walked = _walk(root_fd, prefix, dirs)
                try:
                    fd = _reopen(walked, prefix)
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
                    if not _listable_name(real, path):
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


# -- lexical ------------------------------------------------------------------------------------


def _parts(real_root: str, rel: object, *, allow_root: bool = False) -> list[str]:
    # Tool arguments come from JSON, so the type is checked here too.
    if not isinstance(rel, str):
        raise PathRefused(f"path {rel!r} is not text; pass a path such as {_EXAMPLE}")
    if rel.startswith("/"):
        raise _refuse(
            rel, f"is absolute; use a path relative to the project folder such as {_EXAMPLE}"
        )
    control = _CONTROL.search(rel)
    if control:
        raise _refuse(
            rel,
            f"contains the control character {control.group()!r}; file names must be printable",
        )
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refuse(
            rel,
            "uses '..', which reelcut's tools never follow; "
            f"use a path relative to the project folder such as {_EXAMPLE}",
        )
    if not parts:
        if allow_root:
            return []
        reason = "is empty" if not rel else "names the project folder itself, not a file"
        raise _refuse(rel, f"{reason}; name a file in the project such as {_EXAMPLE}")
    if parts[0].casefold() == INTERNAL_DIR:
        raise _refuse(
            rel, "is inside .reelcut/, reelcut's private state; tools cannot read or change it"
        )
    for part in parts:
        try:
            size = len(os.fsencode(part))
        except UnicodeEncodeError:
            raise _refuse(rel, "is not valid text; file names must be UTF-8") from None
        if size > MAX_NAME_BYTES:
            raise _refuse(
                rel, f"has a {size}-byte name; a file or folder name is at most {MAX_NAME_BYTES}"
            )
    total = len(os.fsencode(real_root)) + 1 + len(os.fsencode("/".join(parts)))
    if total > MAX_PATH_BYTES:
        raise _refuse(
            rel,
            f"is too long ({total} bytes with the project folder; the limit is {MAX_PATH_BYTES})",
        )
    return parts


def _listable_name(real_root: str, path: str) -> bool:
    try:
        return _parts(real_root, path) != []
    except PathRefused:
        return False


# -- on disk ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _parent(root: Path, rel: str, *, create: bool = False) -> Iterator[tuple[int, str, str]]:
    """Yield (descriptor of the folder holding the leaf, leaf name, canonical path)."""
    real = os.path.realpath(root)
    parts = _parts(real, rel)
    path = "/".join(parts)
    root_fd = _open_root(real)
    try:
        parent = _walk(root_fd, path, parts[:-1], create=create)
    finally:
        os.close(root_fd)
    try:
        yield parent, parts[-1], path
    finally:
        os.close(parent)


def _open_root(real: str) -> int:
    try:
        return os.open(real, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise ReelcutError(
            f"project folder {real!r} cannot be opened ({exc.strerror}); check that it exists"
        ) from exc


def _walk(start: int, path: str, dirs: Sequence[str], *, create: bool = False) -> int:
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
            raise _leaf_error(parent, name, path, exc, where) from exc
    except OSError as exc:
        raise _leaf_error(parent, name, path, exc, where) from exc
    try:
        # mkdirat does not follow a link either: a dangling link here is EEXIST, and the open
        # below then refuses it.
        os.mkdir(name, 0o777, dir_fd=parent)
        _fsync_folder(parent, path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _failed("create a folder for", path, exc) from exc
    try:
        return os.open(name, _WALK, dir_fd=parent)
    except OSError as exc:
        raise _leaf_error(parent, name, path, exc, where) from exc


def _reopen(folder: int, path: str) -> int:
    try:
        return os.open(".", _LISTABLE, dir_fd=folder)
    except OSError as exc:
        raise _failed("open the folder of", path, exc) from exc


def _fsync_folder(folder: int, path: str) -> None:
    fd = _reopen(folder, path)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_at(parent: int, name: str, path: str) -> bytes:
    _require_file(path, _lstat(parent, name, path).st_mode)
    try:
        fd = os.open(name, _READ, dir_fd=parent)
    except OSError as exc:
        raise _leaf_error(parent, name, path, exc) from exc
    try:
        _require_file(path, os.fstat(fd).st_mode)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _failed("read", path, exc) from exc
    finally:
        os.close(fd)


def _lstat(parent: int, name: str, path: str) -> os.stat_result:
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except OSError as exc:
        raise _leaf_error(parent, name, path, exc) from exc


def _replace(
    folder: int,
    name: str,
    path: str,
    data: bytes,
    mode: int | None,
    sync_folder: bool = True,
    *,
    exclusive: bool = False,
) -> None:
    tmp = f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
    try:
        fd = os.open(tmp, _CREATE, 0o666, dir_fd=folder)
    except OSError as exc:
        raise _failed("write", path, exc) from exc
    try:
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            _rename_noreplace(folder, tmp, folder, name)
        else:
            # renameat replaces whatever name is there now; a link swapped in is replaced, not
            # followed.
            os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=folder)
        if isinstance(exc, FileExistsError):
            raise _exists(path) from exc
        if isinstance(exc, IsADirectoryError):
            raise _refuse(path, "is a folder, not a file") from exc
        if isinstance(exc, OSError):
            raise _failed("write", path, exc, f"; {path!r} is unchanged") from exc
        raise
    if not sync_folder:
        return
    try:
        os.fsync(folder)
    except OSError as exc:
        raise ReelcutError(
            f"wrote {_show(path)} but could not confirm it reached the disk: {exc.strerror or exc}"
        ) from exc


RENAME_NOREPLACE = 1  # from <linux/fs.h>


def _load_renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """libc's renameat2 (glibc 2.28 and later on Linux), else None."""
    if platform.system() != "Linux":
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()


def _rename_noreplace(src_dir: int, src: str, dst_dir: int, dst: str) -> None:
    """Rename ``src`` to ``dst`` (names in two folders) unless ``dst`` exists: OSError EEXIST.

    Neither name is followed if it is a link. Without renameat2 support (an old libc, or a file
    system that refuses the flag), a hard link to the new name and an unlink of the old one do
    the same: the link fails if the name is taken, and a crash in between leaves both names (the
    file is never lost).
    """
    if _renameat2 is not None:
        if _renameat2(src_dir, os.fsencode(src), dst_dir, os.fsencode(dst), RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code))
    os.link(src, dst, src_dir_fd=src_dir, dst_dir_fd=dst_dir, follow_symlinks=False)
    try:
        os.unlink(src, dir_fd=src_dir)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(dst, dir_fd=dst_dir)
        raise


def _same_folder(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


# -- messages -----------------------------------------------------------------------------------


def _show(rel: str) -> str:
    return repr(rel if len(rel) <= 120 else rel[:100] + "...")


def _refuse(rel: str, reason: str) -> PathRefused:
    return PathRefused(f"path {_show(rel)} {reason}")


def _exists(path: str, mode: int | None = None) -> PathExists:
    what = f" ({_kind(mode)})" if mode is not None and not st.S_ISREG(mode) else ""
    return PathExists(f"path {_show(path)} already exists{what}; choose a name that is not taken")


def _failed(verb: str, path: str, exc: OSError, tail: str = "") -> ReelcutError:
    return ReelcutError(f"could not {verb} {_show(path)}: {exc.strerror or exc}{tail}")


def _kind(mode: int) -> str:
    if st.S_ISDIR(mode):
        return "a folder"
    if st.S_ISLNK(mode):
        return "a symbolic link"
    if st.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if st.S_ISCHR(mode) or st.S_ISBLK(mode):
        return "a device"
    if st.S_ISSOCK(mode):
        return "a socket"
    if st.S_ISREG(mode):
        return "a file"
    return "a special file"


def _require_file(path: str, mode: int) -> int:
    """Refuse anything but a regular file; return its permission bits."""
    if st.S_ISLNK(mode):
        raise _link_refusal(path, path)
    if not st.S_ISREG(mode):
        raise _refuse(path, f"is {_kind(mode)}, not a regular file; reelcut's tools use files only")
    return st.S_IMODE(mode)


def _link_refusal(path: str, where: str) -> PathRefused:
    if where == path:
        return _refuse(path, f"is a symbolic link; {_NO_LINKS} (name the real file instead)")
    return _refuse(
        path, f"goes through {where!r}, a symbolic link; {_NO_LINKS} (use the real folder instead)"
    )


def _leaf_error(
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
        kind = _kind(mode) if mode is not None else "not there any more"
        if mode is not None and st.S_ISLNK(mode):
            return _link_refusal(path, where or path)
        if where is None:
            return _refuse(path, f"is {kind}, not a regular file")
        if where == path:
            return PathNotFound(f"path {_show(path)} is {kind}, not a folder")
        return PathNotFound(f"path {_show(path)} goes through {where!r}, which is {kind}")
    where = where or path
    if exc.errno == errno.ENOENT:
        if where == path:
            return PathNotFound(
                f"path {_show(path)} does not exist; list the project's files to find the name"
            )
        return PathNotFound(
            f"path {_show(path)} needs the folder {where!r}, which does not exist; "
            "create it first or write with create_parents"
        )
    return _failed("open", path, exc)
