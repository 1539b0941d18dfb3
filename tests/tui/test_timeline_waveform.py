"""Waveform glyphs: the pyramid's peaks against brute force, waveforms from the door's peaks,
glyphs at the clip's source position, and the editor drawing the demo's real peaks files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.media.display import Peaks
from engine.model import Clip, Track
from engine.timebase import Rate
from tui.timeline.tracks import TrackIndex, track_runs
from tui.timeline.viewport import Viewport
from tui.timeline.waveform import GLYPHS, Waveform, waveform_runs, waveforms_from


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=1, max_size=3000).map(lambda b: bytes(x & 127 for x in b)),
    st.data(),
)
def test_peak_over_any_range_is_the_brute_force_maximum(levels: bytes, data: st.DataObject) -> None:
    wave = Waveform.of(100, levels)
    first = data.draw(st.integers(-5, len(levels) + 5))
    last = data.draw(st.integers(first, len(levels) + 10))
    window = levels[max(0, first) : max(0, min(len(levels), last))]
    assert wave.peak(first, last) == max(window, default=0)


def test_waveforms_from_the_door_s_peaks() -> None:
    levels = bytes([0, 3, 127, 9, 40])
    waves = waveforms_from({"a_1": Peaks(100, levels), "a_2": Peaks(0, levels)})
    assert list(waves) == ["a_1"]  # no buckets a second: nothing to place the levels by
    assert waves["a_1"].buckets_per_second == 100 and waves["a_1"].levels == levels
    assert waves["a_1"].peak(0, 5) == 127 and waves["a_1"].peak(3, 5) == 40


def test_glyphs_follow_the_source_not_the_timeline() -> None:
    """1 s of silence then 1 s at full scale; the clip starts 1 s into its source, so the whole
    block is loud, and a second clip from source 0 starts silent."""
    rate = Rate(30, 1)
    wave = Waveform.of(100, bytes([0] * 100 + [127] * 100))
    loud = Clip(
        id="c_1", kind="media", name="a", start=0, duration=30, source_in=30, asset_id="a_1"
    )
    quiet = Clip(
        id="c_2", kind="media", name="b", start=30, duration=60, source_in=0, asset_id="a_1"
    )
    track = Track(id="t_1", kind="audio", name="A1", clips=(loud, quiet))
    vp = Viewport(0, 3, 30)
    index = TrackIndex(track)
    runs = waveform_runs(track_runs(index, vp, frozenset()), index, vp, rate, {"a_1": wave})
    text = "".join(r.text for r in runs)
    assert text[0] == "▏" and set(text[1:10]) == {GLYPHS[8]}
    assert text[10] == "▏" and set(text[11:20]) == {" "} and set(text[20:30]) == {GLYPHS[8]}
    # Without a waveform the block keeps its text.
    plain = waveform_runs(track_runs(index, vp, frozenset()), index, vp, rate, {})
    assert "".join(r.text for r in plain) == "".join(
        r.text for r in track_runs(index, vp, frozenset())
    )


def test_the_editor_draws_the_demo_peaks_on_audio_tracks(demo_dir: Path) -> None:
    from engine.events import EventStream
    from engine.jobs import Runner, media
    from engine.projectdir import ProjectDir
    from engine.session import Session
    from engine.state.adb import AsyncDB
    from tui.app import ReelcutApp

    async def build_peaks() -> None:
        adb = await AsyncDB.open(demo_dir / ".reelcut")
        events = EventStream(adb)
        await events.start()
        runner = Runner(adb, events, demo_dir, {"peaks": media.handlers()["peaks"]})
        await media.queue_derivatives(adb, demo_dir, ProjectDir(demo_dir).load())
        await runner.start()
        await runner.wait_idle(timeout=60)
        await runner.stop()
        await events.close()
        await adb.close()

    asyncio.run(build_peaks())

    async def look() -> str:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 40)) as pilot:
                for _ in range(40):
                    await pilot.pause(0.05)
                    if app.timeline._painter.waves:
                        break
                await pilot.pause()
                view = app.timeline
                return "\n".join(view.render_line(y).text for y in range(view.size.height))

    text = asyncio.run(look())
    a2 = [line for line in text.splitlines() if line.startswith("  audio")][-1]
    assert any(g in a2 for g in GLYPHS[2:]), a2  # the spoken line is not silence
