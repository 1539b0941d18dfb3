"""Frame rates, timecode and frame arithmetic.

Time in reelcut is an integer frame count at the project's rational rate; ranges are half-open
``[start, start + duration)``. Timecode is derived from frames, never stored. Rates of N*1000/1001
with N in (30, 60) use SMPTE drop-frame timecode (``HH:MM:SS;FF``); every other rate counts
nominal frames (``HH:MM:SS:FF``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import floor
from typing import Annotated

import msgspec

from engine.errors import ReelcutError


class Rate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A frame rate as a fraction, e.g. ``Rate(30, 1)`` or ``Rate(30000, 1001)``."""

    # Positive on decode, so a hand-edited project.json cannot bring a division by zero.
    num: Annotated[int, msgspec.Meta(ge=1)]
    den: Annotated[int, msgspec.Meta(ge=1)] = 1

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    @property
    def nominal(self) -> int:
        """Frames per timecode second: 30 for 29.97, 24 for 23.976."""
        return round(self.num / self.den)

    @property
    def drop_frames(self) -> int:
        """Frame numbers skipped per minute in drop-frame timecode (0 when not drop-frame)."""
        if self.den == 1001 and self.nominal in (30, 60):
            return self.nominal // 15
        return 0

    def __str__(self) -> str:
        return str(self.num) if self.den == 1 else f"{self.num}/{self.den}"


MIN_RATE = 1
MAX_RATE = 1000
# The last frame any position, duration or offset may name: 2**31 - 1 is 828 days at 30 fps
# and 24 days at the highest rate, and keeps every sum of two far inside project.json's
# 64-bit integers.
MAX_FRAMES = 2**31 - 1
"""Frame rates reelcut accepts for a project, in frames per second (inclusive)."""

_RATE_RE = re.compile(r"^\s*(\d+)(?:\s*/\s*(\d+)|\.(\d+))?\s*$")
_KNOWN_DECIMAL = {
    "23.976": Rate(24000, 1001),
    "23.98": Rate(24000, 1001),
    "29.97": Rate(30000, 1001),
    "47.952": Rate(48000, 1001),
    "59.94": Rate(60000, 1001),
}


def parse_rate(text: str) -> Rate:
    """Parse ``30``, ``30000/1001`` or ``29.97`` into a Rate; raise ReelcutError otherwise."""
    text = text.strip()
    if text in _KNOWN_DECIMAL:
        return _KNOWN_DECIMAL[text]
    m = _RATE_RE.match(text)
    if not m:
        raise ReelcutError(f"frame rate {text!r} is not a number; use e.g. 30, 25 or 30000/1001")
    if m.group(3) is not None:
        frac = Fraction(text)
    elif int(m.group(2) or 1) == 0:
        raise ReelcutError(f"frame rate {text!r} divides by zero; use e.g. 30000/1001")
    else:
        frac = Fraction(int(m.group(1)), int(m.group(2) or 1))
    # Below 1 fps a timecode second has no frames at all (nominal rate 0).
    if frac < MIN_RATE or frac > MAX_RATE:
        raise ReelcutError(f"frame rate {text!r} is out of range; use a rate between 1 and 1000")
    return Rate(frac.numerator, frac.denominator)


def frames_from_seconds(seconds: Fraction | str, rate: Rate) -> int:
    """Whole frames that fit in ``seconds`` at ``rate`` (floor, with a 1/1000-frame tolerance)."""
    value = Fraction(seconds) * rate.fraction
    return floor(value + Fraction(1, 1000))


def seconds_from_frames(frames: int, rate: Rate) -> Fraction:
    return Fraction(frames) / rate.fraction


def format_timecode(frame: int, rate: Rate) -> str:
    """SMPTE timecode of ``frame`` (drop-frame with ``;`` where the rate calls for it)."""
    if frame < 0:
        return "-" + format_timecode(-frame, rate)
    nominal = rate.nominal
    drop = rate.drop_frames
    if drop:
        per_10min = nominal * 600 - drop * 9
        per_min = nominal * 60 - drop
        tens, rem = divmod(frame, per_10min)
        frame += drop * 9 * tens
        if rem > drop:
            frame += drop * ((rem - drop) // per_min)
    ff = frame % nominal
    total_seconds = frame // nominal
    ss = total_seconds % 60
    mm = (total_seconds // 60) % 60
    hh = total_seconds // 3600
    sep = ";" if drop else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


_TC_RE = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})([:;.])(\d{1,3})$")


def parse_timecode(text: str, rate: Rate) -> int:
    """Frame number of a timecode ``HH:MM:SS:FF`` (or ``;FF`` for drop-frame)."""
    m = _TC_RE.match(text.strip())
    if not m:
        raise ReelcutError(f"timecode {text!r} is not HH:MM:SS:FF")
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    nominal = rate.nominal
    if mm > 59 or ss > 59 or ff >= nominal:
        raise ReelcutError(
            f"timecode {text!r} is out of range at {rate} fps (frames run 00-{nominal - 1:02d})"
        )
    drop = rate.drop_frames
    frames = (hh * 3600 + mm * 60 + ss) * nominal + ff
    if drop:
        if ss == 0 and ff < drop and mm % 10 != 0:
            raise ReelcutError(
                f"timecode {text!r} does not exist in drop-frame timecode; "
                f"the first frame of minute {mm} is {hh:02d}:{mm:02d}:00;{drop:02d}"
            )
        minutes = hh * 60 + mm
        frames -= drop * (minutes - minutes // 10)
    return frames


def parse_position(text: str, rate: Rate) -> int:
    """A frame position given as frames (``150``) or timecode (``00:00:05:00``)."""
    text = text.strip()
    if re.fullmatch(r"-\d+", text):
        raise ReelcutError(f"position {text!r} is negative; positions start at frame 0")
    frame = int(text) if re.fullmatch(r"\d+", text) else parse_timecode(text, rate)
    if frame > MAX_FRAMES:
        raise ReelcutError(
            f"position {text!r} is beyond the longest timeline ({MAX_FRAMES} frames, "
            f"{format_timecode(MAX_FRAMES, rate)})"
        )
    return frame
