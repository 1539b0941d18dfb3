"""An asset's sound as the recognizers hear it, and where to cut it.

`decode_pcm` has ffmpeg turn any asset with sound into 16 kHz mono signed 16-bit PCM (what
Cloud Speech's LINEAR16 and pocketsphinx both take). `loudness` measures it in 10 ms windows
and `plan_chunks` cuts it into pieces no longer than a limit, each cut in the middle of the
quietest stretch near the piece's end (the longest run of windows under the silence level),
so no word is split and each piece's word times are offset back by the piece's start.
"""

from __future__ import annotations

import array
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from engine.media import ffmpeg

RATE = 16000
"""Samples per second of the PCM the recognizers get."""
WINDOW = RATE // 100
"""Samples per loudness window: 10 ms."""
SILENCE_DB = -40.0
"""A window quieter than this (dBFS, RMS) is silence."""
DECODE_TIMEOUT = 600.0


@dataclass(frozen=True)
class Chunk:
    """``[start, end)`` in samples of the asset's PCM."""

    start: int
    end: int
    cut_in_silence: bool = True

    @property
    def start_ms(self) -> int:
        return self.start * 1000 // RATE


async def decode_pcm(path: Path, name: str) -> bytes:
    """The sound of the media file ``path`` as 16 kHz mono s16le PCM (ffmpeg, supervised)."""
    done = await ffmpeg.run_async(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            "pipe:1",
        ],
        what=f"{name}: could not read its sound",
        timeout=DECODE_TIMEOUT,
        show_as={str(path): name},
    )
    return done.stdout


def samples(pcm: bytes) -> array.array[int]:
    a = array.array("h")
    a.frombytes(pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def loudness(pcm: bytes) -> list[float]:
    """The RMS level of every 10 ms window of ``pcm``, in dBFS (-120 for digital silence)."""
    a = samples(pcm)
    out: list[float] = []
    for i in range(0, len(a), WINDOW):
        w = a[i : i + WINDOW]
        power = math.fsum(x * x for x in w) / max(1, len(w))
        out.append(10 * math.log10(power / (32768.0**2)) if power > 0 else -120.0)
    return out


def plan_chunks(
    levels: list[float],
    total_samples: int,
    *,
    max_seconds: float = 55.0,
    min_seconds: float = 20.0,
    silence_db: float = SILENCE_DB,
) -> list[Chunk]:
    """Pieces of at most ``max_seconds`` that together cover ``[0, total_samples)``.

    Each piece ends in the middle of the longest silent run that lies between ``min_seconds``
    and ``max_seconds`` after its start (the later of two equal runs); with no silence there,
    it ends at ``max_seconds`` exactly (``cut_in_silence`` false: a word may be split).

        levels   ####....####.......####....####
        pieces   [0 ........... )[ ....... ... )   cut in the middle of the longer silence
    """
    limit = max(1, int(max_seconds * 100))
    shortest = min(limit, max(1, int(min_seconds * 100)))
    n = len(levels)
    chunks: list[Chunk] = []
    start = 0
    while start < n:
        if n - start <= limit:
            chunks.append(Chunk(start * WINDOW, total_samples))
            break
        best: tuple[int, int] | None = None  # (run length, middle window)
        run = 0
        for i in range(start + shortest, start + limit):
            if levels[i] < silence_db:
                run += 1
                if best is None or run >= best[0]:
                    best = (run, i + 1 - (run + 1) // 2)
            else:
                run = 0
        if best is None:
            end, quiet = start + limit, False
        else:
            end, quiet = best[1], True
        chunks.append(Chunk(start * WINDOW, end * WINDOW, quiet))
        start = end
    return chunks or [Chunk(0, total_samples)]
