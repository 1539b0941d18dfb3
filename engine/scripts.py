"""Text files a person edits in the script panes: read with their hash, saved only over the
version they were read from.

A pane keeps the sha256 of what it loaded; `save_text` writes atomically (through the sandbox:
no path leaves the project) only when the file still has that hash, and otherwise raises
`FileConflict` carrying both hashes, so a pane never silently overwrites a newer file (an
applied agent changeset, another editor). Binary and huge files are refused with the reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine import sandbox
from engine.errors import ReelcutError

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
    """The project's text files a person edits (not media, derivatives or .reelcut/)."""
    return [
        rel
        for rel in sandbox.list_files(root)
        if rel.split("/", 1)[0] not in NOT_SCRIPTS and Path(rel).suffix.lower() in TEXT_SUFFIXES
    ]


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
    whatever is there with ``force``; return the new hash."""
    actual = current_hash(root, rel)
    if actual != base_hash and not force:
        raise FileConflict(rel, base_hash, actual)
    data = text.encode("utf-8")
    sandbox.write_atomic(root, rel, data, create_parents=True)
    return sha256(data)
