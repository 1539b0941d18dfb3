"""Test media whose every frame carries its own number in the picture, and the arithmetic of
which source frame a timeline frame must show.

Each frame is a 12-bit bar code (bit i is the i-th of 12 vertical bands, white for 1) drawn by
ffmpeg's ``geq`` from the frame's own number ``N``. The page decodes it from a canvas of the
displayed ``<video>`` (`DECODE_JS`), so exactness is judged on pixels, after H.264 and the
proxy's scaling. Identity is the generator's frame number: the index in a constant-rate file;
in the variable-rate file (60 fps frames with an irregular pattern dropped, timestamps kept)
the 60 fps number, which `frame_identities` derives from each frame's timestamp.

Which source frame timeline frame ``n`` of a clip shows is defined as every editor does: the
source frame on screen at source time ``(source_in + n - start) / project_rate``, the last one
whose timestamp (counted from the first frame) is at or before that time. The timestamps come
from ffprobe on the source file itself, never from the code under test.
"""

from __future__ import annotations

import bisect
import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

BITS = 12
WIDTH, HEIGHT = 240, 136
VFR_BASE = 60  # the variable-rate file is made of 60 fps frames with some dropped

_BARS = f"geq=lum='if(mod(floor(N/pow(2,floor(X*{BITS}/W))),2),235,16)':cb=128:cr=128"

DECODE_JS = f"""(clipId) => {{
  const v = document.querySelector(`video[data-clip="${{clipId}}"]`);
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d', {{willReadFrequently: true}});
  g.drawImage(v, 0, 0);
  let n = 0;
  for (let i = 0; i < {BITS}; i++) {{
    const x = Math.floor((i + 0.5) * c.width / {BITS});
    const px = g.getImageData(x, c.height >> 1, 1, 1).data;
    if (px[0] > 128) n |= 1 << i;
  }}
  return n;
}}"""


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True, timeout=120
    )


def _encode(path: Path, rate: str, seconds: float, filters: str, *extra: str) -> Path:
    """Bar-coded black frames at ``rate`` through ``filters``, nearly lossless H.264."""
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s={WIDTH}x{HEIGHT}:r={rate}:d={seconds}",
        "-vf",
        filters,
        *extra,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "10",
        "-pix_fmt",
        "yuv420p",
        path,
    )
    return path


def make_cfr(path: Path, rate: str, seconds: float) -> Path:
    """A constant-rate file at ``rate`` (``30``, ``30000/1001``...) with bar-coded frames."""
    return _encode(path, rate, seconds, _BARS)


def make_vfr(path: Path, seconds: float) -> Path:
    """Variable frame rate, like a phone's: 60 fps frames, dropping frames 1, 2 and 4 of every
    seven (gaps of 1/60 s to 3/60 s), timestamps kept."""
    drop = "select='not(eq(mod(n\\,7)\\,1)+eq(mod(n\\,7)\\,2)+eq(mod(n\\,7)\\,4))'"
    return _encode(path, str(VFR_BASE), seconds, f"{_BARS},{drop}", "-fps_mode", "vfr")


@dataclass(frozen=True)
class SourceFrames:
    """The video frames of a file: timestamps from the first (seconds, exact) and identities."""

    times: list[Fraction]
    identities: list[int]

    def shown_at(self, t: Fraction) -> int:
        """The identity of the frame on screen at source time ``t``."""
        i = bisect.bisect_right(self.times, t) - 1
        return self.identities[max(0, i)]


def probe(path: Path, *, variable: bool = False) -> SourceFrames:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=time_base:frame=best_effort_timestamp",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    doc = json.loads(out.stdout)
    base = Fraction(doc["streams"][0]["time_base"])
    stamps = sorted(int(f["best_effort_timestamp"]) for f in doc["frames"])
    times = [(s - stamps[0]) * base for s in stamps]
    if variable:
        identities = [round((s * base) * VFR_BASE) for s in stamps]
    else:
        identities = list(range(len(times)))
    return SourceFrames(times, identities)


def expected(frames: SourceFrames, *, start: int, source_in: int, n: int, rate: Fraction) -> int:
    """The identity timeline frame ``n`` of a clip (``start``, ``source_in``) must show."""
    return frames.shown_at(Fraction(source_in + n - start) / rate)
