"""Room on the disk for an import: refused up front rather than failing halfway.

After an import has stored its media, it still writes project.json (a whole new copy beside the
old one until the rename) and the state database (the history journal and commit, the event,
the derivative jobs). On a disk the media copy filled, those writes failed in the middle: the
asset in project.json without its jobs, or files in assets/ that no project.json names. So an
import starts only when, after its media bytes, `IMPORT_HEADROOM` plus twice project.json's size
is still free. Another program filling the disk at the same moment can still beat the check;
what it settles is that a disk that is merely nearly full refuses cleanly, with nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import MediaError
from engine.fsio.causes import LOW_SPACE, describe, free_bytes
from engine.media.probe import Probe
from engine.projectdir import ProjectDir

IMPORT_HEADROOM = 2 << 20
"""Free space an import leaves for its writes after the media copy. In a trial on a nearly full
tmpfs they took about 100 KiB (a WAL's worth of pages and a new project.json)."""

_PCM_BYTES = 4
"""Bytes per sample and channel that bound flac (never larger than 32-bit PCM)."""


def check_room(pd: ProjectDir, path: Path, size: int, info: Probe, *, copies_audio: bool) -> None:
    """Refuse (MediaError, nothing written) importing ``path`` (``size`` bytes, probed as
    ``info``) into ``pd`` unless its media bytes and the room after them fit.

    The media bytes are the file, and for a video with sound its demuxed audio: at most the
    file's size when the codec is copied (``copies_audio``), else flac, bounded by PCM. When
    assets/ is on another file system than the project (a link to a media disk), each is
    checked for its own part.
    """
    media = size
    if info.kind == "video" and info.audio is not None:
        if copies_audio:
            media += size
        else:
            rate = int(info.audio.get("sample_rate") or 48_000)
            channels = int(info.audio.get("channels") or 2)
            media += int(info.duration * rate * channels * _PCM_BYTES) + (1 << 20)
    try:
        meta = IMPORT_HEADROOM + 2 * _size_of(pd.project_json)
        same_disk = os.stat(pd.assets).st_dev == os.stat(pd.root).st_dev
        needs = [(pd.assets, media + meta)] if same_disk else [(pd.assets, media), (pd.root, meta)]
        for folder, need in needs:
            free = free_bytes(folder)
            if free < need:
                raise MediaError(
                    f"{path.name}: not enough free space to import it: it needs about "
                    f"{_size(need)} ({_size(media)} for the media, the rest for the project's "
                    f"own files) and {_size(free)} is free; free some space and try again"
                )
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot check the free space: {describe(exc)}") from None


def nearly_full(folder: Path) -> bool:
    """Whether ``folder``'s file system has less than `LOW_SPACE` free (False if unknown)."""
    try:
        return free_bytes(folder) < LOW_SPACE
    except OSError:
        return False


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # a project being made: its first project.json is small
        return 0


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{max(0, n) >> 10} KiB"
