"""What a reelcut temp file is, and the one way bytes become a file: atomically and durably.

Every file reelcut writes in place (project.json, the hash beside it, a script the agent edits,
a proxy ffmpeg renders) goes through the same four steps, as git's lockfile and SQLite's
journal do:

1. **stage**: a temp file is created beside the target with ``O_CREAT|O_EXCL|O_NOFOLLOW`` (never
   an existing file, never through a link), under the name `temp_name` gives;
2. **fsync** the temp file's bytes;
3. **rename** it over the target (``exclusive``: to a free name only, ``renameat2`` with
   ``RENAME_NOREPLACE``), so a reader sees the old bytes or the new, never a mix;
4. **fsync the folder**, so the rename itself survives a power cut.

A failure before the rename removes the temp file and leaves the target as it was. A failed
fsync is an error, never retried (PostgreSQL's "fsyncgate": after a failed fsync the page cache
can no longer be trusted). A failure at step 4 leaves the new file in place: `FolderSyncFailed`.

One scheme names every temp file: ``.<target name>.<16 hex digits>.reelcut-tmp``. The leading
dot hides it, the 64 random bits keep two writers (and a user's own files) apart, the target's
name says what it was for and lets one target's leftovers be cleared without touching another's
(a job rendering ``a.mp4`` never removes the temp of one rendering ``b.mp4``), and the suffix is
one no user file is expected to carry (the script tools refuse to create it). Names longer than
`MAX_STEM_BYTES` are cut to fit the 255-byte limit.

Faces: `write_at` (a folder descriptor, as the sandbox walks it), `write_path` and
`atomic_write` (a plain path), `commit_path` (a temp file someone else wrote, such as ffmpeg's
output at `temp_path`), and the staged pieces a multi-file batch combines with its own barriers
(`create_temp`, `write_all`, `install`, `discard`). `remove_stale_temps` and
`remove_stale_temps_at` are the one cleanup; `is_temp_name` is the one definition they share.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from engine.errors import ReelcutError
from engine.fsio import causes

TEMP_SUFFIX = ".reelcut-tmp"
"""The suffix of every temp file reelcut writes (see the module docstring for the whole name)."""

RANDOM_HEX = 16
"""Hex digits of randomness in a temp name: 64 bits, so concurrent writers never collide."""

MAX_STEM_BYTES = 255 - len(f"..{'0' * RANDOM_HEX}{TEMP_SUFFIX}")
"""How much of the target's name a temp name keeps: the rest of the name needs the other 30."""

# Older names, still cleared where they were cleared before, so a project last written by an
# older reelcut loses its leftovers too: engine/atomic.py wrote ``.<target>.<12 hex>.tmp`` (for
# project.json, .reelcut/project.sha256 and the derivatives in proxies/ and previews/), and older
# importers wrote ``.import-<12 hex>.tmp`` in assets/ (today's use `temp_path`). Only the
# callers that cleared them before ask for them (``legacy``).
_LEGACY_ANY = re.compile(r"\.(?:.+\.[0-9a-f]{12}|import-[0-9a-f]{12})\.tmp", re.DOTALL)
# A target whose older temps were named otherwise: the importer's (target ``import``).
_LEGACY_BY_TARGET = {"import": re.compile(r"\.import-[0-9a-f]{12}\.tmp")}
# The random part and suffix that end every current temp name.
_TAIL = rf"\.[0-9a-f]{{{RANDOM_HEX}}}{re.escape(TEMP_SUFFIX)}"
# The current scheme; the stem is optional because the sandbox once named its temps
# ``.<16 hex>.reelcut-tmp`` without the target.
_CURRENT_ANY = re.compile(rf"(?:\..+)?{_TAIL}", re.DOTALL)

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class FolderSyncFailed(OSError):
    """The new file is in place, but the fsync that makes its rename durable failed."""


# -- names --------------------------------------------------------------------------------------


def temp_name(target_name: str) -> str:
    """A fresh temp name for a file that will become ``target_name`` in the same folder."""
    return f".{_stem(target_name)}.{secrets.token_hex(RANDOM_HEX // 2)}{TEMP_SUFFIX}"


def temp_path(target: Path) -> Path:
    """A fresh temp path beside ``target``, for a writer that needs a path (ffmpeg); install it
    with `commit_path`."""
    return target.with_name(temp_name(target.name))


def is_temp_name(name: str, target_name: str | None = None, *, legacy: bool = False) -> bool:
    """Whether ``name`` is a reelcut temp file (for ``target_name``, when given).

    ``legacy`` also accepts the older ``.tmp`` names (see ``_LEGACY_ANY``).
    """
    if target_name is None:
        return bool(_CURRENT_ANY.fullmatch(name) or (legacy and _LEGACY_ANY.fullmatch(name)))
    if re.fullmatch(rf"\.{re.escape(_stem(target_name))}{_TAIL}", name, re.DOTALL):
        return True
    if not legacy:
        return False
    if target_name in _LEGACY_BY_TARGET:
        return bool(_LEGACY_BY_TARGET[target_name].fullmatch(name))
    return bool(re.fullmatch(rf"\.{re.escape(target_name)}\.[0-9a-f]{{12}}\.tmp", name, re.DOTALL))


def _stem(target_name: str) -> str:
    # fsdecode(fsencode(...)) keeps a cut multi-byte character as surrogate escapes, which
    # encode back to the same bytes: writer and cleanup always agree on the stem.
    raw = os.fsencode(target_name)
    return target_name if len(raw) <= MAX_STEM_BYTES else os.fsdecode(raw[:MAX_STEM_BYTES])


# -- the primitive ------------------------------------------------------------------------------


def write_at(
    folder: int,
    name: str,
    data: bytes,
    *,
    mode: int = 0o666,
    chmod: int | None = None,
    exclusive: bool = False,
    sync_folder: bool = True,
) -> None:
    """Make ``name`` in the folder open as ``folder`` hold ``data``, by the module's four steps.

    ``folder`` must allow fsync (not ``O_PATH``). ``mode`` (less the umask) is a new file's
    permissions; ``chmod`` sets exact bits instead (to keep an existing file's). ``exclusive``
    only creates: ``FileExistsError`` if the name is taken, even by a file that appeared while
    the bytes were written. ``sync_folder=False`` skips step 4 for a caller that syncs the
    folder once after several writes. Raises OSError with the target unchanged, or
    `FolderSyncFailed` with the new file in place.
    """
    fd, tmp = create_temp(folder, name, mode=mode, chmod=chmod)
    try:
        write_all(fd, data)
    except BaseException:
        os.close(fd)
        discard(folder, tmp)
        raise
    _finish(folder, fd, tmp, name, exclusive=exclusive, sync_folder=sync_folder)


def write_path(target: Path, data: bytes, *, mode: int = 0o666) -> None:
    """`write_at` for a plain path: OSError (target unchanged) or `FolderSyncFailed`."""
    folder = os.open(target.parent, _FOLDER)
    try:
        write_at(folder, target.name, data, mode=mode)
    finally:
        os.close(folder)


def commit_path(tmp: Path, target: Path) -> None:
    """Install ``tmp`` (from `temp_path`, written by someone else) as ``target``: steps 2-4.

    The caller removes ``tmp`` if this raises before the rename (it is its file)."""
    folder = os.open(target.parent, _FOLDER)
    try:
        fd = os.open(tmp.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        _finish(folder, fd, tmp.name, target.name, exclusive=False, sync_folder=True)
    finally:
        os.close(folder)


def atomic_write(target: Path, data: bytes, *, mode: int = 0o666) -> None:
    """Replace ``target`` with ``data`` atomically and durably; raise ReelcutError on failure.
    ``mode`` (less the umask) is the new file's permissions: 0o600 for a secret."""
    try:
        write_path(target, data, mode=mode)
    except FolderSyncFailed as exc:
        raise ReelcutError(
            f"saved {target.name} but could not confirm it reached the disk: {describe(exc)}"
        ) from exc
    except OSError as exc:
        raise ReelcutError(
            f"could not save {target.name}: {describe(exc)}; {target.name} is unchanged"
        ) from exc


def _finish(
    folder: int, fd: int, tmp: str, name: str, *, exclusive: bool, sync_folder: bool
) -> None:
    """Steps 2 to 4 for the temp file ``tmp`` open as ``fd`` (closed here)."""
    try:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        install(folder, tmp, name, exclusive=exclusive)
    except BaseException:
        discard(folder, tmp)
        raise
    if sync_folder:
        sync_folder_fd(folder)


# -- the staged pieces --------------------------------------------------------------------------


def create_temp(
    folder: int, target_name: str, *, mode: int = 0o666, chmod: int | None = None
) -> tuple[int, str]:
    """Step 1: create a temp file for ``target_name``; return (writable descriptor, its name)."""
    tmp = temp_name(target_name)
    fd = os.open(tmp, _CREATE, mode, dir_fd=folder)
    if chmod is not None:
        try:
            os.fchmod(fd, chmod)
        except BaseException:
            os.close(fd)
            discard(folder, tmp)
            raise
    return fd, tmp


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def install(folder: int, tmp: str, name: str, *, exclusive: bool = False) -> None:
    """Step 3: rename the (already durable) temp file ``tmp`` to ``name`` in the same folder.

    Neither name is followed if it is a link: a link swapped in at ``name`` is replaced, not
    written through. ``exclusive`` refuses a taken name with ``FileExistsError``."""
    if exclusive:
        rename_noreplace(folder, tmp, folder, name)
    else:
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)


def discard(folder: int, tmp: str) -> None:
    """Remove a temp file that will not be installed (quietly: it may already be gone)."""
    with contextlib.suppress(OSError):
        os.unlink(tmp, dir_fd=folder)


def sync_folder_fd(folder: int) -> None:
    """Step 4: fsync the folder open as ``folder``; `FolderSyncFailed` if it fails."""
    try:
        os.fsync(folder)
    except OSError as exc:
        raise FolderSyncFailed(exc.errno, exc.strerror) from exc


def fsync_dir(folder: Path) -> None:
    """fsync the folder at ``folder`` (makes renames and removals in it durable)."""
    fd = os.open(folder, _FOLDER)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the one cleanup ----------------------------------------------------------------------------


def remove_stale_temps_at(
    folder: int, target_name: str | None = None, *, legacy: bool = False
) -> list[str]:
    """Delete the temp files killed writers left in the folder open as ``folder`` (those for
    ``target_name`` only, when given); return their names. Call it only where no writer can be
    running: under the writer lock, or for a target no one else writes.

    Only regular files go: a temp file is always one (`create_temp`), so a folder, link or pipe
    that happens to carry such a name is someone else's and stays."""
    removed = []
    for name in sorted(os.listdir(folder)):
        if not is_temp_name(name, target_name, legacy=legacy):
            continue
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
                continue
            os.unlink(name, dir_fd=folder)
            removed.append(name)
    return removed


def remove_stale_temps(
    folder: Path, target_name: str | None = None, *, legacy: bool = False
) -> list[Path]:
    """`remove_stale_temps_at` for a plain path; a missing folder has nothing to clear."""
    try:
        fd = os.open(folder, _FOLDER)
    except (FileNotFoundError, NotADirectoryError):
        return []
    try:
        return [folder / name for name in remove_stale_temps_at(fd, target_name, legacy=legacy)]
    finally:
        os.close(fd)


# -- renaming without replacing -----------------------------------------------------------------

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


def rename_noreplace(src_dir: int, src: str, dst_dir: int, dst: str) -> None:
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


# -- messages -----------------------------------------------------------------------------------


def describe(exc: OSError) -> str:
    """The cause of ``exc`` in words a user can act on (`engine.fsio.causes.describe`)."""
    return causes.describe(exc)
