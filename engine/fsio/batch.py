"""Several files replaced (or removed) as one staged commit, made durable with few barriers.

The ledger applies a changeset through a `Batch`: every new version is staged as a temp file
beside its target (`engine.fsio.durable` names and creates it, exactly as a single write does),
one durability barrier covers all their bytes, each is renamed into place, and one more barrier
covers the renames. A crash leaves temp files of the one scheme; `remove_temp_files` is the
sandboxed face of the one cleanup.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError
from engine.fsio import durable
from engine.fsio.paths import (
    PathNotFound,
    PathRefused,
    components,
    failed,
    normalize,
    refuse,
    require_file,
)
from engine.fsio.walk import leaf_error, lstat_at, open_root, reopen, walk


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
        self._root_fd = open_root(self._real)
        self._folders: dict[str, int] = {}
        self._staged: dict[str, _Staged] = {}
        self._unsynced: list[int] = []  # descriptors of temp files written but not yet synced
        self._dirty: set[int] = set()  # folders with a commit not yet made durable

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stage(self, rel: str, data: bytes | None) -> None:
        """Check ``rel`` and write ``data`` to a temp file beside it (None: remove it at commit)."""
        parts = components(self._real, rel)
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
            mode = require_file(path, lstat_at(folder, name, path).st_mode)
        if data is None:
            self._staged[path] = _Staged(folder, name, path, None)
            return
        try:
            fd, tmp = durable.create_temp(folder, name, chmod=mode)
        except OSError as exc:
            raise failed("write", path, exc) from exc
        self._staged[path] = _Staged(folder, name, path, tmp)
        self._unsynced.append(fd)
        try:
            durable.write_all(fd, data)
        except OSError as exc:
            raise failed("write", path, exc, f"; {path!r} is unchanged") from exc

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
        """Make the staged version of ``rel`` visible (syncing first if anything is unsynced)."""
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
                raise leaf_error(item.folder, item.name, item.path, exc) from exc
        else:
            try:
                durable.install(item.folder, item.tmp, item.name)
            except IsADirectoryError as exc:
                raise refuse(item.path, "is a folder, not a file") from exc
            except OSError as exc:
                raise failed("write", item.path, exc, f"; {item.path!r} is unchanged") from exc
        item.done = True
        if item.folder >= 0:
            self._dirty.add(item.folder)

    def close(self) -> None:
        """Make the commits durable, remove temp files never committed, release the folders."""
        try:
            for fd in self._unsynced:
                os.close(fd)
            self._unsynced = []
            for item in self._staged.values():
                if item.tmp is not None and not item.done:
                    durable.discard(item.folder, item.tmp)
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
            walked = walk(self._root_fd, path, dirs, create=create)
            try:
                self._folders[key] = reopen(walked, path)
            finally:
                os.close(walked)
        return self._folders[key]


def remove_temp_files(root: Path, folders: Sequence[str]) -> list[str]:
    """Delete the temp files a killed `Batch` or `write_atomic` left in ``folders``; return them.

    Call it only under the writer lock: it clears every reelcut temp file in those folders."""
    real = os.path.realpath(root)
    removed: list[str] = []
    root_fd = open_root(real)
    try:
        for folder in sorted(set(folders)):
            dirs = components(real, folder, allow_root=True)
            try:
                walked = walk(root_fd, folder, dirs)
            except PathRefused:
                continue
            try:
                fd = reopen(walked, folder)
            finally:
                os.close(walked)
            try:
                for name in durable.remove_stale_temps_at(fd):
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
