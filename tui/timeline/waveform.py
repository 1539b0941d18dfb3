"""Waveform glyphs for audio clips, drawn from the peaks the door reads
(`Workspace.waveform_peaks`: per asset, the loudest sample of every 1/100 s as 0..127).

A `Waveform` keeps those levels plus a pyramid of maxima over aligned blocks of 2, 4, 8...
buckets, so that a column covering minutes of audio costs a few lookups, not thousands.
`waveforms_from` builds them; `waveform_runs` redraws the blocks of an audio track's second
line as ``▁▂▃▄▅▆▇█`` at the clip's source position, scaled by the clip's gain and fades
(`tui.timeline.fades.envelope_peak`), so a fade is drawn as the waveform's ramp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from engine.timebase import Rate
from tui.timeline.fades import envelope_peak
from tui.timeline.runs import Run
from tui.timeline.tracks import EDGE, TrackIndex
from tui.timeline.viewport import Viewport

GLYPHS = " ▁▂▃▄▅▆▇█"


class PeakLevels(Protocol):
    """What a waveform is made of: the door's ``engine.media.display.Peaks`` (``levels[i]``,
    0..127, the loudest sample of the ``i``-th ``1 / buckets_per_second`` seconds)."""

    @property
    def buckets_per_second(self) -> int: ...
    @property
    def levels(self) -> bytes: ...


@dataclass(frozen=True)
class Waveform:
    """One asset's loudness, ready to draw: ``levels`` per bucket and the pyramid of their
    maxima over aligned blocks (``pyramid[k][i]``: buckets ``i << k`` to ``(i + 1) << k``)."""

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
            if clip.audio is not None and level:
                level = min(127, round(level * envelope_peak(clip, a, b)))
            cells.append(GLYPHS[min(8, -(-level * 8 // 127))])
        if clip.start > vp.first_frame + (run.start - 1) * fpc:
            cells[0] = EDGE  # the clip's left edge is on screen, as on the first line
        out.append(run._replace(text="".join(cells)))
    return out


def waveforms_from(peaks: Mapping[str, PeakLevels]) -> dict[str, Waveform]:
    """A `Waveform` per asset id from its peaks (`Workspace.waveform_peaks`)."""
    return {
        asset_id: Waveform.of(p.buckets_per_second, p.levels)
        for asset_id, p in peaks.items()
        if p.buckets_per_second > 0
    }
