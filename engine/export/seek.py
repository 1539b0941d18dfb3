"""Seeking a clip's source near its in-point, with the same frames as decoding from the start.

A clip that starts 40 minutes into its source used to be decoded from the source's first frame
to stay exact (the conform counts frames from there): one clip cost the whole source up to its
in-point, a timeline of many such clips O(n^2). Now its input is opened with a seek a little
before the in-point and the timestamps are put back exactly where a decode from the start would
have had them, so the conform (``fps`` rounding up) and the trim (by timestamp on the project's
frame grid) pick the same source frame for every timeline frame.

How the timestamps are restored exactly: with ``-seek_timestamp 1`` the seek point ``T`` is a
timestamp of the file itself (not shifted by its start time) and ffmpeg subtracts exactly ``T``
from every timestamp it reads (``-noaccurate_seek``: no frame is dropped by time, decoding
starts at the keyframe at or before ``T``). ``T`` is a whole number of seconds, so it is a whole
number of ticks in the stream's time base and nothing is rounded; ``setpts=PTS+T/TB-first``
gives back the timestamps counted from the first frame (``first`` is the first decoded frame's
own timestamp, read once per file with ffprobe), as ``setpts=PTS-STARTPTS`` does when decoding
from the start.

``T`` lies at least `MARGIN_S` before the in-point's time (a source frame covering a timeline
frame starts at most one source frame before it) and is not used when it would save less than
`MIN_SKIP_S`.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from engine.errors import ReelcutError

MARGIN_S = 1
"""Seconds between the seek point and the in-point: far more than one source frame lasts."""

MIN_SKIP_S = 2
"""A seek point earlier than this is not worth it (the decode from the start is as quick)."""


@dataclass(frozen=True)
class Seek:
    """How to open a clip's source: input options before ``-i`` and the first filter."""

    input_args: tuple[str, ...]
    restore: str
    """A ``setpts`` that makes the timestamps count from the source's first frame."""


_FIRST: dict[tuple[str, int, int], tuple[int, Fraction]] = {}
"""A file's first video frame (its timestamp in ticks, the time base), by (path, size, mtime):
assets are content-addressed, so this never goes stale, and a render probes each file once."""


def first_frame(path: Path) -> tuple[int, Fraction]:
    """The first decoded video frame's timestamp (ticks) and the stream's time base."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _FIRST:
        out = subprocess.run(
            [
                "ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
                "-show_entries", "stream=time_base:frame=best_effort_timestamp",
                "-of", "json", str(path),
            ],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        try:
            doc = json.loads(out.stdout)
            base = Fraction(doc["streams"][0]["time_base"])
            ticks = int(doc["frames"][0]["best_effort_timestamp"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ReelcutError(f"cannot read the first video frame of {path.name}") from None
        _FIRST[key] = (ticks, base)
    return _FIRST[key]


def seek_for(path: Path, source_in: int, rate: Fraction) -> Seek:
    """How to open ``path`` for a clip whose first frame is project frame ``source_in`` of the
    conformed source (``rate`` frames a second)."""
    ticks, base = first_frame(path)
    at = Fraction(source_in) / rate + ticks * base  # the in-point as the file's own timestamp
    seconds = math.floor(at) - MARGIN_S
    if seconds < MIN_SKIP_S:
        return Seek((), "setpts=PTS-STARTPTS")
    shift = seconds / base  # whole ticks: the time base's denominator divides a second
    if shift.denominator != 1:
        return Seek((), "setpts=PTS-STARTPTS")  # an odd time base: decode from the start
    return Seek(
        ("-seek_timestamp", "1", "-noaccurate_seek", "-ss", str(seconds)),
        f"setpts=PTS{shift.numerator - ticks:+d}",
    )
