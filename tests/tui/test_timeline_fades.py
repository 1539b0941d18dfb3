"""Gain and fades on the timeline's audio blocks: the gain in the label, the waveform scaled by
the clip's envelope (a fade is the waveform's ramp), ramp glyphs when there is no waveform yet,
and the editor drawing them after a set-audio through the door."""

from __future__ import annotations

from engine.model import Clip, ClipAudio, Track
from engine.timebase import Rate
from tui.timeline.fades import FADE_IN, FADE_OUT, envelope_peak, fade_runs
from tui.timeline.runs import Run
from tui.timeline.tracks import TrackIndex, detail_runs, track_runs
from tui.timeline.viewport import Viewport
from tui.timeline.waveform import GLYPHS, Waveform, waveform_runs

RATE = Rate(30, 1)


def block(audio: ClipAudio | None, name: str = "voice") -> tuple[TrackIndex, Viewport]:
    """One 60-frame clip at frame 0 (source 0) drawn at 2 frames a column: 30 columns."""
    clip = Clip(
        id="c_1", kind="media", name=name, start=0, duration=60, asset_id="a_1", audio=audio
    )
    return TrackIndex(Track(id="t_1", kind="audio", name="A1", clips=(clip,))), Viewport(0, 2, 30)


def text(runs: list[Run]) -> str:
    return "".join(r.text for r in runs)


def test_the_label_says_the_gain_when_it_is_not_0_db() -> None:
    index, vp = block(ClipAudio(gain_db=-6.0))
    assert text(track_runs(index, vp)).startswith("▏voice -6 dB")
    index, vp = block(ClipAudio(gain_db=3.5))
    assert text(track_runs(index, vp)).startswith("▏voice +3.5 dB")
    index, vp = block(ClipAudio(fade_in=4))
    assert text(track_runs(index, vp)).startswith("▏voice ") and "dB" not in text(
        track_runs(index, vp)
    )


def test_the_envelope_rises_and_falls_over_the_fades_times_the_gain() -> None:
    clip = block(ClipAudio(gain_db=-6.0206, fade_in=10, fade_out=20))[0].clips[0]
    half = 10 ** (-6.0206 / 20)
    assert abs(envelope_peak(clip, 0, 2) - half * 0.2) < 1e-9  # the loudest of frames 0-1
    assert abs(envelope_peak(clip, 8, 12) - half) < 1e-9  # reaches the level
    assert abs(envelope_peak(clip, 50, 52) - half * 0.5) < 1e-9  # 10 of 20 frames left
    assert abs(envelope_peak(clip, 20, 30) - half) < 1e-9


def test_a_full_scale_waveform_is_drawn_as_its_fades_ramps() -> None:
    """Full scale all along; 10 frames in (5 columns), 20 frames out (10 columns): the glyphs
    climb over the first five columns, stay full, and fall over the last ten."""
    wave = {"a_1": Waveform.of(100, bytes([127] * 300))}
    index, vp = block(ClipAudio(fade_in=10, fade_out=20))
    drawn = text(waveform_runs(track_runs(index, vp), index, vp, RATE, wave))
    levels = [GLYPHS.index(ch) for ch in drawn[1:]]  # after the edge mark
    assert levels[:4] == [4, 5, 7, 8]  # columns 1-4 peak at frames 4, 6, 8, 10 of the 10
    assert set(levels[4:19]) == {8}
    assert levels[19:] == sorted(levels[19:], reverse=True) and levels[-1] == 1
    loud = text(waveform_runs(track_runs(*block(None)), *block(None), RATE, wave))
    assert set(loud[1:]) == {GLYPHS[8]}


def test_quieter_by_gain_draws_lower_glyphs() -> None:
    wave = {"a_1": Waveform.of(100, bytes([127] * 300))}
    index, vp = block(ClipAudio(gain_db=-6.0206))
    drawn = text(waveform_runs(track_runs(index, vp), index, vp, RATE, wave))
    assert set(drawn[1:]) == {GLYPHS[4]}  # half the level: half the glyph height


def test_without_a_waveform_the_fades_are_ramp_glyphs_over_the_length() -> None:
    index, vp = block(ClipAudio(fade_in=6, fade_out=4))
    detail = detail_runs(track_runs(index, vp), index, vp, RATE)
    drawn = text(fade_runs(detail, index, vp))
    assert drawn[0] == "▏"
    assert drawn[1:3] == FADE_IN * 2  # columns at frames 2 and 4 (the fade ends at 6)
    assert drawn[3] != FADE_IN
    assert drawn[-2:] == FADE_OUT * 2  # columns at frames 56 and 58 (the fade starts at 56)
    assert drawn[-3] != FADE_OUT
    assert text(fade_runs(detail, *block(None))) == text(detail)
