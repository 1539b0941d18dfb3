"""Text files a person edits in the script panes: read with their hash, saved only over the
version they were read from, created, renamed and deleted.

A pane keeps the sha256 of what it loaded; `save_text` writes atomically (through the sandbox:
no path leaves the project) only when the file still has that hash, and otherwise raises
`FileConflict` carrying both hashes, so a pane never silently overwrites a newer file (an
applied agent changeset, another editor). `rename_text` and `delete_text` take the same hash;
`create_text` never replaces anything. Binary and huge files are refused with the reason.

The script area is every project file outside ``assets/``, ``proxies/``, ``previews/`` and
``.reelcut/``, except ``project.json`` (the timeline, changed only through the editor).

What a pane checks before it saves (strict JSON, and the formats of the files reelcut reads) is
`engine.filechecks.check_text`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine import sandbox
from engine.errors import ReelcutError
from engine.projectfile import PROJECT_FILE

MAX_TEXT_BYTES = 2 << 20
TEXT_SUFFIXES = frozenset(
    {
        ".md",
        ".markdown",
        ".txt",
        ".json",
        ".tsx",
        ".ts",
        ".jsx",
        ".js",
        ".css",
        ".yaml",
        ".yml",
        ".toml",
        ".srt",
        ".vtt",
    }
)
NOT_SCRIPTS = frozenset({"assets", "proxies", "previews"})


class NotText(ReelcutError):
    """A file the script panes will not open (binary, not UTF-8, too large)."""


class NotAScript(ReelcutError):
    """A path the script panes do not create, rename or delete: project.json, a media or
    derivative folder, or a name without a text suffix."""


class FileExists(ReelcutError):
    """A new script's name is already taken."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} already exists; choose another name (or open the file)")


class FileConflict(ReelcutError):
    """The file changed on disk since the pane loaded it."""

    def __init__(self, path: str, expected: str | None, actual: str | None) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path} changed on disk since it was opened (expected sha256 "
            f"{(expected or 'none')[:12]}, found {(actual or 'no file')[:12]}); "
            "reload it or save explicitly over it"
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def script_files(root: Path) -> list[str]:
    """The project's text files a person edits (not media, derivatives or .reelcut/), sorted.

    The media folders are not walked at all (the editor lists the files every few seconds,
    and a project can hold thousands of assets)."""
    found: list[str] = []
    with os.scandir(root) as entries:
        names = sorted(
            (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
            for e in entries
        )
    for name, is_dir, is_file in names:
        if name.startswith(".") or name.lower() in NOT_SCRIPTS:
            continue
        if is_file:
            found.append(name)
        elif is_dir:
            try:
                found.extend(sandbox.list_files(root, name))
            except sandbox.PathRefused:
                continue  # replaced by a link meanwhile: not listed
    return sorted(rel for rel in found if Path(rel).suffix.lower() in TEXT_SUFFIXES)


def read_text(root: Path, rel: str) -> tuple[str, str]:
    """(text, sha256 of its bytes); `NotText` for what a pane cannot show."""
    data = sandbox.read_bytes(root, rel)
    if len(data) > MAX_TEXT_BYTES:
        raise NotText(
            f"{rel} is {len(data) >> 20} MB; the script panes open files up to "
            f"{MAX_TEXT_BYTES >> 20} MB"
        )
    if b"\0" in data:
        raise NotText(f"{rel} is binary (it holds NUL bytes); it is not a script")
    try:
        return data.decode("utf-8"), sha256(data)
    except UnicodeDecodeError as exc:
        raise NotText(f"{rel} is not UTF-8 text (byte {exc.start}); it is not a script") from None


def current_hash(root: Path, rel: str) -> str | None:
    try:
        return sha256(sandbox.read_bytes(root, rel))
    except sandbox.PathNotFound:
        return None


def save_text(
    root: Path, rel: str, text: str, base_hash: str | None, *, force: bool = False
) -> str:
    """Write ``text`` if the file still hashes to ``base_hash`` (None: must not exist yet), or
    whatever is there with ``force``; return the new hash.

    `NotAScript` (nothing written) outside the script area or for a name without a text
    suffix, as for `create_text`: a pane never writes the timeline, media or a binary file.
    """
    path = _script_path(root, rel, _SAVE)
    _require_text_suffix(path)
    actual = current_hash(root, path)
    if actual != base_hash and not force:
        raise FileConflict(path, base_hash, actual)
    data = text.encode("utf-8")
    sandbox.write_atomic(root, path, data, create_parents=True)
    return sha256(data)


def create_text(root: Path, rel: str, text: str = "") -> str:
    """Create the script ``rel`` holding ``text`` (folders on the way too) and return its hash.

    Never replaces anything: `FileExists` if the name is taken, even by a file that appears while
    the bytes are written. `NotAScript` outside the script area or without a text suffix;
    `sandbox.PathRefused` for a path that leaves the project or goes through a link.
    """
    path = _script_path(root, rel, _CREATE)
    _require_text_suffix(path)
    data = text.encode("utf-8")
    try:
        sandbox.write_atomic(root, path, data, create_parents=True, exclusive=True)
    except sandbox.PathExists:
        raise FileExists(path) from None
    return sha256(data)


def rename_text(root: Path, old: str, new: str, base_hash: str) -> None:
    """Move the script ``old`` to ``new`` if it still hashes to ``base_hash``.

    One atomic rename (folders on the way to ``new`` are made), durable when this returns.
    `FileConflict` if ``old`` changed or is gone, `FileExists` if ``new`` is taken, `NotAScript`
    if either path is outside the script area or ``new`` has no text suffix. ``old`` may have any
    suffix, so a misnamed file can be given a text one.
    """
    src = _script_path(root, old, _RENAME)
    dst = _script_path(root, new, _RENAME)
    _require_text_suffix(dst)
    actual = current_hash(root, src)
    if actual != base_hash:
        raise FileConflict(src, base_hash, actual)
    if src == dst:
        raise FileExists(dst)
    try:
        sandbox.rename(root, src, dst, create_parents=True)
    except sandbox.PathExists:
        raise FileExists(dst) from None


def delete_text(root: Path, rel: str, base_hash: str) -> None:
    """Remove the script ``rel`` if it still hashes to ``base_hash``, durably.

    `FileConflict` (the file untouched) if it changed or is already gone; `NotAScript` for
    project.json and files under assets/, proxies/ and previews/. Emptied folders stay.
    """
    path = _script_path(root, rel, _DELETE)
    actual = current_hash(root, path)
    if actual != base_hash:
        raise FileConflict(path, base_hash, actual)
    sandbox.remove(root, path)
    sandbox.sync_parent(root, path)


# What a refused call would have done: (to the file itself, to files in a folder).
_CREATE = ("create it", "create files there")
_SAVE = ("save it", "save files there")
_RENAME = ("rename a file to or from it", "move files into or out of it")
_DELETE = ("delete it", "delete files there")


def _script_path(root: Path, rel: str, verb: tuple[str, str]) -> str:
    """``rel`` as a canonical path inside the script area; raise if it is not."""
    path = sandbox.normalize(root, rel)
    top = path.split("/", 1)[0]
    # Compared without case: on a case-folding file system "Assets/x" is assets/x.
    if path.casefold() == PROJECT_FILE:
        raise NotAScript(
            f"{path} is the timeline, which only the editor changes; the script panes cannot "
            f"{verb[0]}"
        )
    if top.casefold() in NOT_SCRIPTS and "/" in path:
        raise NotAScript(
            f"{path} is inside {top}/, which holds media reelcut manages; the script panes "
            f"cannot {verb[1]} (keep scripts under scripts/)"
        )
    return path


def _require_text_suffix(path: str) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        kind = f"the suffix {suffix!r}" if suffix else "no suffix"
        raise NotAScript(
            f"{path} has {kind}; a script's name ends in one of {', '.join(sorted(TEXT_SUFFIXES))}"
        )
