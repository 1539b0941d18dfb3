"""The media-tool helpers under their old import path, for engine/demo.py and
tui/timeline/thumbnails.py; new code imports `engine.media.ffmpeg`, which defines them all.

`run` is that module's sync face: any program (espeak-ng too) with a timeout, its process group
stopped on timeout or error, a one-line `MediaError` with its stderr tail, `ToolMissing` when
it is not installed.
"""

from __future__ import annotations

from engine.media.ffmpeg import (
    FFMPEG_TIMEOUT,
    PROBE_TIMEOUT,
    PROTOCOLS,
    local_path,
    require,
    run,
    stderr_tail,
)

__all__ = [
    "FFMPEG_TIMEOUT",
    "PROBE_TIMEOUT",
    "PROTOCOLS",
    "local_path",
    "require",
    "run",
    "stderr_tail",
]
