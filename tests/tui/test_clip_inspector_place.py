"""The clip inspector's place fields under Pilot (issue 19 item 3): start on the track, duration
and source in, typed as frames, timecode or an offset, applied with move / trim / slip as one
undo step per Enter, the linked partner following; values that cannot work are refused in one
line under the fields with nothing sent.

The demo (see tests/tui/test_editor.py), 30 fps: V1 pattern c_10 [0, 240) from a 240-frame
asset, linked to c_11 on A1; A2 line c_14 [45, 160) playing all 115 frames of its asset, then
the tone c_15 [240, 300); the still c_12 [240, 330) on V1.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Label

from engine.projectfile import encode_project
from tests.tui.test_clip_inspector import fill, shown
from tests.tui.test_editor import clips, drive, settle
from tui.app import ReelcutApp
from tui.clip_inspector import ClipInspector


def place(app: ReelcutApp, clip_id: str) -> tuple[int, int, int]:
    """(start, duration, source in) of ``clip_id``."""
    c = clips(app.project)[clip_id]
    return c.start, c.duration, c.source_in


def error(app: ReelcutApp) -> str:
    return str(app.screen.query_one("#inspector-error", Label).render())


async def inspect(app: ReelcutApp, pilot: object, track: int, frame: int) -> None:
    """Open the inspector on the clip under ``frame`` on track ``track``."""
    app.track_index = track
    app.seek(frame)
    await pilot.press("escape", "tab", "I")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, ClipInspector)


def test_start_duration_and_source_in_are_one_undo_step(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        before = encode_project(app.project)
        await inspect(app, pilot, 3, 50)  # A2: the line c_14
        assert "(c_14)" in shown(app) and "source out 00:00:03:25 (frame 115 of 115)" in shown(app)
        values = {i.id: i.value for i in app.screen.query(Input)}
        assert (values["inspect-start"], values["inspect-duration"]) == ("00:00:01:15", "115")
        assert values["inspect-source_in"] == "0"
        # A timecode filled from the right (2:00 is 00:00:02:00), frames, and an offset.
        await fill(app, pilot, start="2:00", duration="100", source_in="+5")
        assert not isinstance(app.screen, ClipInspector)
        assert place(app, "c_14") == (60, 100, 5)
        await pilot.press("ctrl+z")  # type: ignore[attr-defined]
        await settle(pilot)
        assert encode_project(app.project) == before

        await inspect(app, pilot, 3, 50)
        await fill(app, pilot, start="-15")  # an offset from the start: 45 - 15
        assert place(app, "c_14") == (30, 115, 0)

        await inspect(app, pilot, 1, 250)  # V1: the still c_12 has a place but no source range
        assert "(c_12)" in shown(app) and "source" not in shown(app)
        assert not app.screen.query("#inspect-source_in")
        await fill(app, pilot, start="+30", duration="60")
        assert place(app, "c_12") == (270, 60, 0)

    drive(demo_dir, scenario)


def test_a_linked_clip_takes_its_partner_along(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        before = encode_project(app.project)
        await inspect(app, pilot, 1, 10)  # V1: the pattern c_10, linked to c_11 on A1
        await fill(app, pilot, duration="00:00:06:00", source_in="30")
        assert place(app, "c_10") == (0, 180, 30)
        assert place(app, "c_11") == (0, 180, 30)
        await pilot.press("ctrl+z")  # type: ignore[attr-defined]
        await settle(pilot)
        assert encode_project(app.project) == before

    drive(demo_dir, scenario)


def test_values_that_cannot_work_are_refused_in_one_line(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        before = encode_project(app.project)
        await inspect(app, pilot, 3, 50)  # A2: the line c_14 [45, 160), then c_15 at 240
        refusals = [
            (
                {"start": "200"},
                "start: clip c_14 would overlap c_15 on A2 at 00:00:08:00; pick a free place",
            ),
            (
                {"duration": "+100"},
                "duration: clip c_14 would play source frames up to 215 but line.wav (a_7) has "
                "115; use a shorter range",
            ),
            (
                {"source_in": "20"},
                "source in: clip c_14 would play source frames up to 135 but line.wav",
            ),
            ({"source_in": "-5"}, "source in: '-5' would be -5 frames; it cannot be negative"),
            ({"start": "-2:00"}, "start: '-2:00' would be -15 frames; it cannot be negative"),
            ({"duration": "0"}, "duration: a clip lasts at least one frame"),
            ({"start": "soon"}, "start: 'soon' is not frames (240), a timecode (00:00:08:00"),
            ({"duration": "120", "fade_in": "100", "fade_out": "30"}, "do not fit in the clip"),
        ]
        for values, said in refusals:
            fields = {"start": "00:00:01:15", "duration": "115", "source_in": "0"}
            fields |= {"fade_in": "0", "fade_out": "0"} | values
            await fill(app, pilot, **fields)
            assert isinstance(app.screen, ClipInspector), values  # still open, saying why
            assert said in error(app), (values, error(app))
            assert "\n" not in error(app)
            assert encode_project(app.project) == before, values
        await pilot.press("escape")  # type: ignore[attr-defined]
        await settle(pilot)
        assert encode_project(app.project) == before

        # Growing into the next clip: room in the media, none on the track.
        await inspect(app, pilot, 3, 50)
        await fill(app, pilot, start="200", duration="40")
        assert place(app, "c_14") == (200, 40, 0)
        await inspect(app, pilot, 3, 210)
        await fill(app, pilot, duration="+10")
        assert error(app) == (
            "duration: clip c_14 would overlap c_15 on A2 at 00:00:08:00; make it shorter"
        )
        assert place(app, "c_14") == (200, 40, 0)

    drive(demo_dir, scenario)
