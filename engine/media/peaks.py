"""Waveform peaks: the lowest and highest sample per 1/100 s of a file's sound, as JSON."""

from __future__ import annotations

import asyncio
import sys
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.media import derivative_build
from engine.media.ffmpeg_command import input_args

PEAKS_RECIPE = 1
"""The recipe version, part of the peaks file's name and its ``version``: bump it when the
output changes."""
PEAKS_BUCKETS_PER_SECOND = 100
PEAKS_SAMPLE_RATE = 8000
"""Audio is decoded to mono at this rate for peaks: 80 samples per bucket, enough for a glyph."""
PEAKS_FULL_SCALE = 127
"""Peak values are integers in -127..127; divide by this for -1..1."""


async def make_peaks(
    src: Path,
    dst: Path,
    *,
    duration_s: float | None,
    on_progress: derivative_build.ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: waveform peaks of ``src``'s first audio stream, for the timeline glyphs::

        {"version": 1, "buckets_per_second": 100, "sample_rate": 8000, "full_scale": 127,
         "count": 300, "duration_s": 3.0, "min": [-16, ...], "max": [16, ...]}

    The audio is decoded to mono 16-bit at 8 kHz and read as a stream; bucket ``i`` covers
    ``[i / 100, (i + 1) / 100)`` seconds (the last one may be shorter) and holds the lowest and
    highest sample, as integers in -127..127 (divide by ``full_scale`` for -1..1).
    """
    progress = derivative_build.Progress("waveform", duration_s, on_progress)
    peaks = _Peaks(PEAKS_SAMPLE_RATE // PEAKS_BUCKETS_PER_SECOND)

    def read_pcm(chunk: bytes) -> None:
        peaks.feed(chunk)
        progress.at(peaks.samples / PEAKS_SAMPLE_RATE)

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(PEAKS_SAMPLE_RATE),
            "-c:a",
            "pcm_s16le",
            "-f",
            "s16le",
            "pipe:1",
        ]
        what = f"{src.name}: could not read its sound for the waveform"
        await derivative_build.run_ffmpeg(
            args,
            what=what,
            timeout=derivative_build.build_timeout(timeout, duration_s),
            show_as={},
            on_stdout=read_pcm,
        )
        peaks.close()
        doc = {
            "version": PEAKS_RECIPE,
            "buckets_per_second": PEAKS_BUCKETS_PER_SECOND,
            "sample_rate": PEAKS_SAMPLE_RATE,
            "full_scale": PEAKS_FULL_SCALE,
            "count": len(peaks.low),
            "duration_s": peaks.samples / PEAKS_SAMPLE_RATE,
            "min": peaks.low.tolist(),
            "max": peaks.high.tolist(),
        }
        await asyncio.to_thread(_write_file, tmp, doc)

    await derivative_build.produce(src, dst, "waveform", build)
    progress.done()


class _Peaks:
    """Min/max per bucket of ``per_bucket`` samples of s16le mono PCM, fed in arbitrary chunks."""

    def __init__(self, per_bucket: int) -> None:
        self.per_bucket = per_bucket
        self.low = array("b")
        self.high = array("b")
        self.samples = 0
        self._rest = b""

    def feed(self, data: bytes) -> None:
        data = self._rest + data
        usable = len(data) - len(data) % (2 * self.per_bucket)
        self._add(data[:usable])
        self._rest = data[usable:]

    def close(self) -> None:
        """Take the last, shorter bucket (a dangling odd byte is no sample)."""
        self._add(self._rest[: len(self._rest) // 2 * 2])
        self._rest = b""

    def _add(self, data: bytes) -> None:
        if not data:
            return
        pcm = array("h")
        pcm.frombytes(data)
        if sys.byteorder == "big":
            pcm.byteswap()
        self.samples += len(pcm)
        step = self.per_bucket
        for i in range(0, len(pcm), step):
            bucket = pcm[i : i + step]
            self.low.append(_scale(min(bucket)))
            self.high.append(_scale(max(bucket)))


def _scale(sample: int) -> int:
    return round(sample * PEAKS_FULL_SCALE / 32768)


def _write_file(path: Path, doc: Mapping[str, Any]) -> None:
    with open(path, "xb") as f:
        f.write(derivative_build.compact_json(doc))
