"""One supervised run without its I/O: what its pipes said, and the result or error it ends in.

`engine.media.ffmpeg`'s two faces differ only in how they wait; each builds a `Call`, feeds it
what the child writes and asks it for the ending, so both report alike:

- **progress**: ``-progress pipe:1``'s ``out_time_us`` as a fraction of a known duration,
  reported only when it grows, below 1.0 while ffmpeg runs, exactly 1.0 once it exited 0.
- **errors**: stderr's last `STDERR_KEEP` bytes are kept; a failure is one `MediaError` line,
  ``<what>: <the last two stderr lines>``, with ffmpeg's ``[mov @ 0x55...]`` prefixes dropped and
  absolute paths shortened to file names (``what`` says what failed in the user's words).
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import MediaError, ReelcutError
from engine.media.ffmpeg_command import command_line, environment, missing

STDERR_KEEP = 16 * 1024
"""Bytes of stderr kept (the tail): enough for the error lines, bounded whatever ffmpeg says."""
SUMMARY_CHARS = 300
"""At most this much of stderr goes into an error line (its end, where the reason is)."""

_PROGRESS_CEILING = 0.99
_LINE_MAX = 4096
_CONTEXT = re.compile(r"\[[^\]@]* @ 0x[0-9a-fA-F]+\] ")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ProgressCallback = Callable[[float], None]
"""``on_progress(fraction)``: 0 < fraction < 1 while ffmpeg runs, never decreasing, 1.0 once
when it exited 0."""
StdoutCallback = Callable[[bytes], None]
"""``on_stdout(chunk)``: standard output as it arrives, in chunks of any size."""


@dataclass(frozen=True)
class Completed:
    """A run that exited 0: its command line, its standard output (empty when ``on_progress``
    or ``on_stdout`` took it) and the tail of its stderr."""

    argv: tuple[str, ...]
    stdout: bytes
    stderr: bytes


def stderr_tail(err: bytes, lines: int = 2) -> str:
    """The last ``lines`` of a tool's stderr on one line, without ffmpeg's ``[mov @ 0x55...]``
    context prefixes or control characters."""
    text = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    return " / ".join(_CONTROL.sub(" ", _CONTEXT.sub("", line)).strip() for line in text[-lines:])


class Call:
    """One run's command line, environment, output handling and ending, without any I/O: the
    faces feed it what the pipes say and ask it for the result or the error."""

    def __init__(
        self,
        args: Sequence[str],
        what: str,
        timeout: float,
        show_as: Mapping[str, str] | None,
        duration_s: float | None,
        on_progress: ProgressCallback | None,
        on_stdout: StdoutCallback | None,
    ) -> None:
        program = args[0]
        if on_progress is not None and (program != "ffmpeg" or on_stdout is not None):
            raise ValueError(
                "on_progress reads ffmpeg's stdout: not with on_stdout or another tool"
            )
        self.program = program
        self.args = tuple(args)
        self.what = what
        self.timeout = timeout
        self.argv = command_line(args, progress=on_progress is not None)
        self.env = environment()
        self._show_as = dict(show_as or {})
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._progress = ProgressReader(duration_s, on_progress) if on_progress else None
        self._on_stdout = on_stdout

    def stdout(self, data: bytes) -> None:
        if self._progress is not None:
            self._progress.feed(data)
        elif self._on_stdout is not None:
            self._on_stdout(data)
        else:
            self._stdout += data

    def stderr(self, data: bytes) -> None:
        self._stderr += data
        if len(self._stderr) > 2 * STDERR_KEEP:
            del self._stderr[:-STDERR_KEEP]

    def finish(self, code: int) -> Completed:
        """The result of a run that exited with ``code``, or the one-line error."""
        err = bytes(self._stderr[-STDERR_KEEP:])
        if code != 0:
            raise MediaError(f"{self.what}: {self._summary(err) or self._status(code)}")
        if self._progress is not None:
            self._progress.finished()
        return Completed(tuple(self.argv), bytes(self._stdout), err)

    def timed_out(self) -> MediaError:
        return MediaError(
            f"{self.what}: {self.program} took longer than {self.timeout:g}s and was stopped"
        )

    def not_started(self, exc: OSError) -> ReelcutError:
        if isinstance(exc, FileNotFoundError):  # gone between the lookup and the start
            return missing(self.program)
        return MediaError(f"{self.what}: could not start {self.program}: {exc.strerror}")

    def _summary(self, err: bytes) -> str:
        tail = stderr_tail(err)
        for arg in sorted(self._show_as, key=len, reverse=True):
            tail = tail.replace(arg, self._show_as[arg])
        # Name files by their basename, as ``what`` does: no full paths in a one-line error.
        for arg in sorted(self.args[1:], key=len, reverse=True):
            if arg.startswith("/"):
                tail = tail.replace(arg, Path(arg).name)
        return tail if len(tail) <= SUMMARY_CHARS else "…" + tail[-SUMMARY_CHARS:]

    def _status(self, code: int) -> str:
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"{self.program} was killed by {signal.Signals(-code).name}"
        return f"{self.program} exited with status {code}"


class ProgressReader:
    """Follows ffmpeg's ``-progress pipe:1``: blocks of ``key=value`` lines, the position in
    ``out_time_us`` (``out_time_ms`` in older ffmpeg, microseconds too despite its name)."""

    def __init__(self, duration_s: float | None, callback: ProgressCallback) -> None:
        self._duration = duration_s if duration_s and duration_s > 0 else None
        self._callback = callback
        self._partial = b""
        self._seen_us = False
        self._fraction = 0.0

    def feed(self, data: bytes) -> None:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-_LINE_MAX:]
        for line in lines:
            key, _, value = line.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us":
                self._seen_us = True
            elif key != "out_time_ms" or self._seen_us:
                continue
            with contextlib.suppress(ValueError):
                if self._duration is not None:
                    seconds = int(value) / 1_000_000
                    self._report(min(seconds / self._duration, _PROGRESS_CEILING))

    def finished(self) -> None:
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        if fraction > self._fraction:
            self._fraction = fraction
            self._callback(fraction)
