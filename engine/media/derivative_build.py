"""What every derivative build shares: its temp file and commit, its ffmpeg run, its progress.

The builders (`engine.media.proxy`, `engine.media.thumbnail_strip`, `engine.media.peaks`) are
job handlers on the event loop. Each hands `produce` a ``build(tmp)`` that writes the output to
a hidden temp name beside the target (`engine.fsio.durable`'s scheme); the temp file is fsynced
and renamed into place (then the folder is fsynced) only when everything succeeded. ffmpeg runs
through `run_ffmpeg`, under `engine.media.ffmpeg`'s async face: when the awaiting task is
cancelled or the timeout passes, its whole process group is killed and reaped and the temp file
removed before the CancelledError (or a MediaError for the timeout) propagates, so a final name
never holds half a file. A build killed with its process leaves its temp behind: the next
build of that name clears it, and `discard_temps` does when its job is buried instead.
`Progress` turns positions into throttled ``on_progress(fraction, message)`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from engine.errors import MediaError
from engine.fsio.causes import describe
from engine.fsio.durable import commit_path, is_temp_name, remove_stale_temps, temp_path
from engine.media.ffmpeg import FFMPEG_TIMEOUT, run_async

ProgressCallback = Callable[[float, str], None]
"""``on_progress(fraction, message)``: fraction in 0..1, never decreasing, 1.0 once at the end."""

_PROGRESS_STEP = 0.01
_PROGRESS_INTERVAL = 0.25


async def produce(
    src: Path, dst: Path, label: str, build: Callable[[Path], Awaitable[None]]
) -> None:
    """Run ``build(tmp)`` with a fresh temp name beside ``dst`` (the scheme of
    `engine.fsio.durable`), then commit tmp as ``dst`` there; on any failure (cancellation
    included) the temp file goes and ``dst`` is left as it was."""
    tmp = temp_path(dst)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        # A worker killed mid-job left its half-written output (its ffmpeg dies at its next
        # progress write); the job runs again, under a new temp name, once its lease ran out.
        # legacy: older reelcut named these temps .<name>.<12 hex>.tmp; they go too.
        await asyncio.to_thread(remove_stale_temps, dst.parent, dst.name, legacy=True)
        await build(tmp)
        await asyncio.to_thread(commit_path, tmp, dst)
    except OSError as exc:
        raise MediaError(f"{src.name}: could not write its {label}: {describe(exc)}") from None
    finally:
        tmp.unlink(missing_ok=True)


DERIVED_FOLDERS = ("proxies", "previews")
"""Where derivatives live (`engine.media.derivatives`), so where their builds leave temps."""


def discard_temps(root: Path, name: str, before: float) -> list[Path]:
    """Remove the temp files a build of the derivative ``name`` left in the project at
    ``root``; return them. For a job that ended dead, failed or cancelled: `produce` removes
    its own temp on any failure it lives through, but a worker killed mid-build (its job is
    then buried by the reaper once its attempts are used up) leaves it behind, and no build
    of that name comes to clear it.

    Only temps for ``name`` (and its JSON sidecar: a thumbnail strip's tile grid), by the
    exact names `engine.fsio.durable` gives them, and only those last written before
    ``before`` (when the job was buried): a build of the same name started since then (the
    job queued again) keeps its temp.
    """
    targets = {name, Path(name).with_suffix(".json").name}
    removed: list[Path] = []
    for sub in DERIVED_FOLDERS:
        folder = root / sub
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for entry in names:
            if not any(is_temp_name(entry, t, legacy=True) for t in targets):
                continue
            path = folder / entry
            with contextlib.suppress(OSError):
                st = path.lstat()
                if stat.S_ISREG(st.st_mode) and st.st_mtime <= before:
                    path.unlink()
                    removed.append(path)
    return removed


async def run_ffmpeg(
    args: list[str],
    *,
    what: str,
    timeout: float,
    show_as: Mapping[str, str],
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    on_stdout: Callable[[bytes], None] | None = None,
) -> None:
    """Run ffmpeg with ``args`` under the supervisor (`engine.media.ffmpeg.run_async`): the
    one place a derivative starts a process, and where bench/bench_jobs.py records commands
    (the builders look it up here at each call, so replacing it sees every one)."""
    await run_async(
        ["ffmpeg", *args],
        what=what,
        timeout=timeout,
        show_as=show_as,
        duration_s=duration_s,
        on_progress=on_progress,
        on_stdout=on_stdout,
    )


def build_timeout(timeout: float | None, duration_s: float | None) -> float:
    """``timeout``, or by default 10 minutes plus four times the source's duration."""
    return timeout if timeout is not None else FFMPEG_TIMEOUT + 4 * (duration_s or 0)


def compact_json(doc: Mapping[str, Any]) -> bytes:
    """``doc`` as the JSON the derivatives are written in: no spaces."""
    return json.dumps(doc, separators=(",", ":")).encode()


class Progress:
    """Turns positions in seconds into throttled ``on_progress`` calls: one when the fraction
    grew by 1% or 0.25 s passed with something new to say; never backwards; 1.0 only once the
    file is in place."""

    def __init__(self, label: str, duration_s: float | None, callback: ProgressCallback | None):
        self._label = label
        self._duration = duration_s if duration_s and duration_s > 0 else None
        self._callback = callback
        self._fraction = 0.0
        self._second = 0
        self._when = time.monotonic()
        if callback is not None:
            callback(0.0, f"{label} started")

    def at(self, seconds: float) -> None:
        if self._callback is None:
            return
        seconds = max(0.0, seconds)
        if self._duration is not None:
            seconds = min(seconds, self._duration)
            fraction = max(self._fraction, min(seconds / self._duration, 0.99))
        else:
            fraction = 0.0
        now = time.monotonic()
        moved = fraction > self._fraction or int(seconds) != self._second
        if fraction - self._fraction >= _PROGRESS_STEP or (
            moved and now - self._when >= _PROGRESS_INTERVAL
        ):
            self._fraction, self._second, self._when = fraction, int(seconds), now
            if self._duration is None:
                message = f"{self._label} ({_clock(seconds)} so far)"
            else:
                message = (
                    f"{self._label} {int(fraction * 100)}% "
                    f"({_clock(seconds)} of {_clock(self._duration)})"
                )
            self._callback(fraction, message)

    def fraction(self, fraction: float) -> None:
        """ffmpeg's own progress (the supervisor's ``on_progress``): a fraction of the
        duration."""
        if self._duration is not None:
            self.at(fraction * self._duration)

    def done(self) -> None:
        if self._callback is not None:
            self._fraction = 1.0
            self._callback(1.0, f"{self._label} done")


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
