"""The lexical rules a tool-supplied path must pass, and the one-line refusals reelcut gives.

Agent tools name files with strings such as ``scripts/script.md``. Before anything touches the
disk (see `engine.fsio.walk` for that second stage) the string must be a relative POSIX path
that stays below the project folder: not empty, not absolute, no ``..`` component anywhere (even
one that would come back inside, such as ``a/../b``: the simplest rule to state and to check),
no NUL byte or other control character, nothing under the project's own ``.reelcut/`` folder
(compared without case, for case-folding file systems), at most 255 bytes per name and 4096
bytes for the whole path including the project folder. ``./`` and repeated or trailing slashes
are dropped. Nothing is decoded: ``%2e%2e`` is a literal file name, and so is ``..\\x`` (a
backslash is an ordinary character on Linux), ``~`` and ``$HOME``.

Every refusal is one line naming the path and what to do instead, written for the model to read.
"""

from __future__ import annotations

import os
import re
import stat as st
from pathlib import Path

from engine.errors import ReelcutError

INTERNAL_DIR = ".reelcut"
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255

_EXAMPLE = "'scripts/script.md'"
# Unicode category Cc, exactly: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NO_LINKS = "reelcut's tools do not follow links"


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
    return "/".join(components(os.path.realpath(root), rel))


def components(real_root: str, rel: object, *, allow_root: bool = False) -> list[str]:
    """The names ``rel`` is made of, once it passed every rule (``[]`` for the project folder
    itself when ``allow_root``); ``real_root`` is the resolved project folder."""
    # Tool arguments come from JSON, so the type is checked here too.
    if not isinstance(rel, str):
        raise PathRefused(f"path {rel!r} is not text; pass a path such as {_EXAMPLE}")
    if rel.startswith("/"):
        raise refuse(
            rel, f"is absolute; use a path relative to the project folder such as {_EXAMPLE}"
        )
    control = _CONTROL.search(rel)
    if control:
        raise refuse(
            rel,
            f"contains the control character {control.group()!r}; file names must be printable",
        )
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise refuse(
            rel,
            "uses '..', which reelcut's tools never follow; "
            f"use a path relative to the project folder such as {_EXAMPLE}",
        )
    if not parts:
        if allow_root:
            return []
        reason = "is empty" if not rel else "names the project folder itself, not a file"
        raise refuse(rel, f"{reason}; name a file in the project such as {_EXAMPLE}")
    if parts[0].casefold() == INTERNAL_DIR:
        raise refuse(
            rel, "is inside .reelcut/, reelcut's private state; tools cannot read or change it"
        )
    for part in parts:
        try:
            size = len(os.fsencode(part))
        except UnicodeEncodeError:
            raise refuse(rel, "is not valid text; file names must be UTF-8") from None
        if size > MAX_NAME_BYTES:
            raise refuse(
                rel, f"has a {size}-byte name; a file or folder name is at most {MAX_NAME_BYTES}"
            )
    total = len(os.fsencode(real_root)) + 1 + len(os.fsencode("/".join(parts)))
    if total > MAX_PATH_BYTES:
        raise refuse(
            rel,
            f"is too long ({total} bytes with the project folder; the limit is {MAX_PATH_BYTES})",
        )
    return parts


def is_listable(real_root: str, path: str) -> bool:
    """Whether a name found on disk passes the rules, so a listing can hand it back."""
    try:
        return components(real_root, path) != []
    except PathRefused:
        return False


# -- messages -----------------------------------------------------------------------------------


def show(rel: str) -> str:
    """``rel`` quoted for a message, cut if very long."""
    return repr(rel if len(rel) <= 120 else rel[:100] + "...")


def refuse(rel: str, reason: str) -> PathRefused:
    return PathRefused(f"path {show(rel)} {reason}")


def exists_error(path: str, mode: int | None = None) -> PathExists:
    what = f" ({kind(mode)})" if mode is not None and not st.S_ISREG(mode) else ""
    return PathExists(f"path {show(path)} already exists{what}; choose a name that is not taken")


def failed(verb: str, path: str, exc: OSError, tail: str = "") -> ReelcutError:
    return ReelcutError(f"could not {verb} {show(path)}: {exc.strerror or exc}{tail}")


def kind(mode: int) -> str:
    """What the file type in ``mode`` is, in words ("a named pipe (FIFO)")."""
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


def require_file(path: str, mode: int) -> int:
    """Refuse anything but a regular file; return its permission bits."""
    if st.S_ISLNK(mode):
        raise link_refusal(path, path)
    if not st.S_ISREG(mode):
        raise refuse(path, f"is {kind(mode)}, not a regular file; reelcut's tools use files only")
    return st.S_IMODE(mode)


def link_refusal(path: str, where: str) -> PathRefused:
    """The refusal for a link at ``where`` (the leaf itself when it equals ``path``)."""
    if where == path:
        return refuse(path, f"is a symbolic link; {_NO_LINKS} (name the real file instead)")
    return refuse(
        path, f"goes through {where!r}, a symbolic link; {_NO_LINKS} (use the real folder instead)"
    )
