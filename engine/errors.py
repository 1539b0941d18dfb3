"""Errors the engine raises for things a user or an agent can fix.

Each carries one line that says what failed and what to do, and an exit code for the CLI. Anything
else that escapes is a bug and deserves its traceback.
"""

from __future__ import annotations


class ReelcutError(Exception):
    """Base of every user-facing error: ``str(err)`` is the one line to show."""

    exit_code = 1


class ProjectInvalid(ReelcutError):
    """project.json cannot be read, parsed or validated; the message names the JSON path."""

    exit_code = 3


class ProjectLocked(ReelcutError):
    """Another process holds the project's writer lock."""

    exit_code = 4


class MediaError(ReelcutError):
    """A media file cannot be probed, copied or demuxed."""

    exit_code = 5


class ToolMissing(ReelcutError):
    """A system program (ffmpeg, ffprobe, espeak-ng) is not installed."""

    exit_code = 6


class UsageError(ReelcutError):
    """The command line itself is wrong: a missing or malformed argument, an unknown option."""

    exit_code = 2


class StorageError(ReelcutError):
    """The file system refused: read-only, permission denied, no space left, or a special file
    (a folder, a pipe, a link) where reelcut keeps a file. The line names that cause, never a
    remedy that would lose work (see `engine.fsio.causes`)."""
