"""Waveform glyphs for audio clips, from the peaks derivative (``previews/<sha>.w1.json``).

A `Waveform` keeps, per bucket (1/100 s), the loudest sample as 0..127, plus a pyramid of
maxima over aligned blocks of 2, 4, 8... buckets, so that a column covering minutes of audio
costs a few lookups, not thousands. `waveform_runs` redraws the blocks of an audio track's
second line as ``▁▂▃▄▅▆▇█`` at the clip's source position; `load_waveforms` reads the
peaks files (call it off the event loop: a long file is megabytes of JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.media import derivatives
from engine.model import Project
from engine.timebase import Rate
from tui.timeline.layout import EDGE, Run, TrackIndex, Viewport

GLYPHS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Waveform:
    buckets_per_second: int
    levels: bytes  # per bucket, the loudest sample, 0..127
    pyramid: list[bytes] = field(default_factory=list, compare=False)

    @classmethod
    def of(cls, buckets_per_second: int, levels: bytes) -> Waveform:
        pyramid = [levels]
        while len(pyramid[-1]) > 1:
            prev = pyramid[-1]
            pyramid.append(bytes(max(prev[i : i + 2]) for i in range(0, len(prev), 2)))
        return cls(buckets_per_second, levels, pyramid)

    def peak(self, first: int, last: int) -> int:
        """The loudest level over buckets ``[first, last)`` (0 outside the audio): exact, from
        the largest aligned pyramid blocks that tile the range (O(log n) lookups)."""
        first, last = max(0, first), min(len(self.levels), last)
        best, i, top = 0, first, len(self.pyramid) - 1
        while i < last:
            align = (i & -i).bit_length() - 1 if i else top
            k = min(align, (last - i).bit_length() - 1, top)
            best = max(best, self.pyramid[k][i >> k])
            i += 1 << k
        return best


def waveform_runs(
    runs: Sequence[Run],
    index: TrackIndex,
    vp: Viewport,
    rate: Rate,
    waves: Mapping[str, Waveform],
) -> list[Run]:
    """``runs`` with every audio clip block that has a waveform drawn as one."""
    out: list[Run] = []
    fpc = vp.frames_per_col
    for run in runs:
        clip = index.clips[run.clip_index] if run.kind == "clip" else None
        wave = waves.get(clip.asset_id or "") if clip is not None else None
        if clip is None or wave is None or run.end - run.start < 2:
            out.append(run)
            continue
        bps = wave.buckets_per_second
        cells = []
        for col in range(run.start, run.end):
            f = vp.frame_of(col)
            a, b = max(f, clip.start), min(f + fpc, clip.end)
            src_a = clip.source_in + (a - clip.start)
            src_b = clip.source_in + (b - clip.start)
            first = src_a * rate.den * bps // rate.num
            last = max(first + 1, -(-src_b * rate.den * bps // rate.num))
            level = wave.peak(first, last) if b > a else 0
            cells.append(GLYPHS[min(8, -(-level * 8 // 127))])
        if clip.start > vp.first_frame + (run.start - 1) * fpc:
            cells[0] = EDGE  # the clip's left edge is on screen, as on the first line
        out.append(run._replace(text="".join(cells)))
    return out


def load_waveforms(root: Path, project: Project) -> dict[str, Waveform]:
    """Every audio asset's waveform whose peaks file is there and complete, by asset id."""
    out: dict[str, Waveform] = {}
    for asset in project.assets:
        path = derivatives.derivative_paths(root, asset, project.rate).get("peaks")
        if path is None or not derivatives.is_fresh(path):
            continue
        try:
            doc = json.loads(path.read_bytes())
            lows, highs = doc["min"], doc["max"]
            scale = int(doc.get("full_scale", 127)) or 127
            levels = bytes(
                min(127, max(abs(lo), abs(hi)) * 127 // scale)
                for lo, hi in zip(lows, highs, strict=False)
            )
            out[asset.id] = Waveform.of(int(doc["buckets_per_second"]), levels)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged file: the job rebuilds it; draw the plain block meanwhile
    return out
