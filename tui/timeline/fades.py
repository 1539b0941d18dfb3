"""A clip's gain and fades as the timeline draws them (``Clip.audio``): the loudness envelope
that scales its waveform and the ramp glyphs drawn over its detail line when there is no
waveform yet (the gain in its label is `tui.timeline.tracks.gain_label`). No Textual here.

The envelope is the export's and the page's: 0 at the clip's first frame rising linearly to
1 after ``fade_in`` frames, 1 until ``fade_out`` frames before its end, then falling linearly
to 0 at its end; times the gain as an amplitude (``10 ** (dB / 20)``).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import Clip
from tui.timeline.runs import Run
from tui.timeline.tracks import TrackIndex
from tui.timeline.viewport import Viewport

FADE_IN = "╱"
FADE_OUT = "╲"


def envelope_peak(clip: Clip, a: int, b: int) -> float:
    """The largest value of the clip's envelope over frames ``[a, b)`` (inside the clip),
    gain included: where a column covers part of a fade, its loudest instant."""
    sound = clip.sound
    gain = 10 ** (sound.gain_db / 20)
    rise_end = clip.start + sound.fade_in
    fall_start = clip.end - sound.fade_out
    if b > rise_end and a < fall_start:
        return gain  # the column reaches the level between the fades
    if b <= rise_end:
        return gain * (b - clip.start) / sound.fade_in
    return gain * (clip.end - a) / sound.fade_out


def fade_runs(runs: Sequence[Run], index: TrackIndex, vp: Viewport) -> list[Run]:
    """``runs`` with the columns of each clip's fades drawn as ramps (``╱`` rising at its
    start, ``╲`` falling at its end) over whatever the line says there (its length)."""
    out: list[Run] = []
    fpc = vp.frames_per_col
    for run in runs:
        clip = index.clips[run.clip_index] if run.kind == "clip" else None
        if clip is None or clip.audio is None or not (clip.audio.fade_in or clip.audio.fade_out):
            out.append(run)
            continue
        cells = list(run.text.ljust(run.end - run.start))
        rise_end = clip.start + clip.audio.fade_in
        fall_start = clip.end - clip.audio.fade_out
        for i, col in enumerate(range(run.start, run.end)):
            f = vp.frame_of(col)
            if i == 0 and clip.start > vp.first_frame + (run.start - 1) * fpc:
                continue  # keep the clip's edge mark
            if f < rise_end:
                cells[i] = FADE_IN
            elif f + fpc > fall_start and f < clip.end:
                cells[i] = FADE_OUT
        out.append(run._replace(text="".join(cells)))
    return out
