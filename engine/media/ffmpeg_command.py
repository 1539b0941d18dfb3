"""How the supervisor starts ffmpeg and ffprobe: the binary, the arguments, the environment.

Every run of `engine.media.ffmpeg` gets the same command line and environment from here:

- **binary**: looked up on PATH at each call; a missing one is `ToolMissing` (exit 6), one line
  naming the Debian package.
- **arguments**: ffmpeg gets ``-hide_banner -nostdin -nostats -loglevel error`` and ffprobe
  ``-hide_banner -loglevel error`` right after the program; ``-progress pipe:1`` when progress
  is asked for. Each input is named through `input_args`: ``-protocol_whitelist file,pipe`` and
  an absolute path, so a crafted input (an HLS playlist disguised as .mp4, FFmpeg's 2017
  local-file disclosure) cannot open the network or other protocols.
- **environment**: the caller's, without ``FFREPORT`` (ffmpeg would write a log file into the
  working directory, outside the project) and ``AV_LOG_FORCE_COLOR`` (escape codes in errors).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.errors import ToolMissing

PROTOCOLS = "file,pipe"

_PREFIX: Mapping[str, tuple[str, ...]] = {
    "ffmpeg": ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"),
    "ffprobe": ("-hide_banner", "-loglevel", "error"),
}
_PACKAGES = {"ffmpeg": "ffmpeg", "ffprobe": "ffmpeg"}
_DROPPED_ENV = ("FFREPORT", "AV_LOG_FORCE_COLOR", "AV_LOG_FORCE_256COLOR")


def require(program: str) -> str:
    """The path of ``program`` on PATH; `ToolMissing` naming its Debian package if none."""
    path = shutil.which(program)
    if path is None:
        raise missing(program)
    return path


def local_path(path: Path) -> str:
    """``path`` as an argument ffmpeg can only read as a local file.

    ffmpeg takes ``scene1:take2.mp4`` for protocol ``scene1``; an absolute path starts with ``/``
    and never names a protocol.
    """
    return str(path.absolute())


def input_args(path: Path) -> list[str]:
    """``-protocol_whitelist file,pipe -i <absolute path>``: ``path`` as an ffmpeg input that
    can only be read as a local file."""
    return ["-protocol_whitelist", PROTOCOLS, "-i", local_path(path)]


def command_line(args: Sequence[str], *, progress: bool) -> list[str]:
    """``args`` (program first) as run: the program's path on PATH, its quiet prefix, then
    ``-progress pipe:1`` when ``progress`` is asked for, then the caller's arguments."""
    program = args[0]
    return [
        require(program),
        *_PREFIX.get(program, ()),
        *(("-progress", "pipe:1") if progress else ()),
        *args[1:],
    ]


def environment() -> dict[str, str]:
    """The caller's environment without the variables that make ffmpeg write a log file or
    colour its errors."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["AV_LOG_FORCE_NOCOLOR"] = "1"
    return env


def missing(program: str) -> ToolMissing:
    """The one-line error for ``program`` not being installed, naming its Debian package."""
    package = _PACKAGES.get(program, program)
    return ToolMissing(
        f"{program} is not installed; install it (Debian: apt-get install {package}) and try again"
    )
