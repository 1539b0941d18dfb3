"""J/K/L dynamic trimming in trim mode (issue 19), under Pilot on a clock the test drives: L
shuttles the edit point with the playhead (again: twice as fast), K commits the trim by the
frames the playhead ran as one undo step, Escape cancels a dynamic trim, a trim the op refuses
changes nothing. The demo: see
tests/tui/test_media_bin.py (V1: pattern [0, 240) | still [240, 330); A1: its sound)."""

from __future__ import annotations

from pathlib import Path

from tests.tui.test_editor import drive, settle, status
from tests.tui.test_media_bin import track
from tui.app import ReelcutApp


def test_l_shuttles_the_cut_k_commits_it_as_one_step_and_escape_cancels(demo_dir: Path) -> None:
    now = [1000.0]

    def run(app: ReelcutApp, seconds: float) -> None:
        """``seconds`` pass on the playback clock, and it ticks."""
        now[0] += seconds
        app.playback.tick()

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.playback.clock = lambda: now[0]
        app.track_index = 1  # V1
        app.seek(120)
        await press("ctrl+b")  # a cut in the pattern (and its sound) to roll
        await settle(pilot)
        cut = [(0, 120, "a_3", 0), (120, 240, "a_3", 120)]
        assert track(app.project, "V1")[:2] == cut
        steps = len(app.session.steps())
        await press("u")
        assert "TRIM roll 00:00:04:00 c_10|" in status(app)

        await press("j")  # backwards at 1x, then cancelled
        run(app, 0.25)
        assert app.playhead == 120 - 7  # 7.5 frames of 30 fps, whole ones
        assert "TRIM roll -7f" in status(app)
        await press("escape")
        assert app.playhead == 120 and app.playback.speed == 0
        assert "dynamic roll cancelled" in status(app) and "TRIM roll" in status(app)
        assert track(app.project, "V1")[:2] == cut and len(app.session.steps()) == steps

        await press("l")  # forwards at 1x: 15 frames in half a second
        run(app, 0.5)
        assert app.playhead == 135 and "TRIM roll +15f" in status(app)
        await press("l")  # again: 2x, 15 more frames in a quarter second
        run(app, 0.25)
        assert app.playhead == 150
        await press("k")
        await settle(pilot)
        assert app.playback.speed == 0 and app.playhead == 150
        # The cut moved by exactly the 30 frames the playhead ran, the sound's with it.
        assert track(app.project, "V1")[:2] == [(0, 150, "a_3", 0), (150, 240, "a_3", 150)]
        assert track(app.project, "A1") == [(0, 150, "a_4", 0), (150, 240, "a_4", 150)]
        assert len(app.session.steps()) == steps + 1
        await press("ctrl+z")
        await settle(pilot)
        assert track(app.project, "V1")[:2] == cut
        assert track(app.project, "A1") == [(0, 120, "a_4", 0), (120, 240, "a_4", 120)]

        # Run back to the timeline's start (the shuttle stops there): a roll that would leave
        # c_10 no frame is refused in one line, the playhead goes back, nothing changes.
        app.seek(120)
        steps = len(app.session.steps())
        await press("j")
        run(app, 10)
        assert app.playhead == 0 and app.playback.speed == 0
        await press("k")
        await settle(pilot)
        assert "shorter than one frame" in status(app) and app.playhead == 120
        assert track(app.project, "V1")[:2] == cut and len(app.session.steps()) == steps

    drive(demo_dir, scenario)
