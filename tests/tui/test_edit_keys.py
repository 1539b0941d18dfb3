"""Every op on a key or in the palette (issue 19): trim mode, moving to another track, link and
unlink, tracks, titles and markers, under Pilot, asserted on the session's project.

The demo: see tests/tui/test_media_bin.py.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.tui.test_editor import clips, drive, settle, status
from tests.tui.test_media_bin import track
from tui.app import ReelcutApp


async def answer(app: ReelcutApp, pilot: object, text: str) -> None:
    """Type ``text`` into the prompt that is up and press Enter."""
    await pilot.pause()  # type: ignore[attr-defined]
    app.screen.query_one(Input).value = text
    await pilot.press("enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await settle(pilot)


def test_trim_mode_rolls_ripples_slips_and_slides_at_the_edit_point(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.track_index = 1  # V1: pattern [0, 240) | still [240, 330)
        app.seek(120)
        await press("ctrl+b")  # a cut in the pattern (and its sound) to trim
        await settle(pilot)
        right = track(app.project, "V1")[1]
        assert right == (120, 240, "a_3", 120)
        app.seek(118)
        await press("u")  # roll, at the cut nearest the playhead
        assert "TRIM roll 00:00:04:00 c_10|" in status(app)
        await press("full_stop", "full_stop")
        await settle(pilot)
        assert track(app.project, "V1")[:2] == [(0, 122, "a_3", 0), (122, 240, "a_3", 122)]
        assert track(app.project, "A1") == [(0, 122, "a_4", 0), (122, 240, "a_4", 122)]
        assert app.playhead == 120  # the playhead moves with the cut
        await press("u", "greater_than_sign")  # ripple out: everything after follows
        await settle(pilot)
        assert track(app.project, "V1") == [
            (0, 132, "a_3", 0),
            (132, 250, "a_3", 122),
            (250, 340, "a_5", 0),
        ]
        assert app.playhead == 130
        await press("u", "u")  # ripple in, then slip: the clip under the playhead
        assert "TRIM slip c_10" in status(app)
        await press("greater_than_sign")
        await settle(pilot)
        assert track(app.project, "V1")[0] == (0, 132, "a_3", 10)
        await press("u")  # slide the middle clip between its neighbours
        app.seek(150)
        await press("full_stop", "full_stop")
        await settle(pilot)
        assert track(app.project, "V1") == [
            (0, 134, "a_3", 10),
            (134, 252, "a_3", 122),
            (252, 340, "a_5", 2),
        ]
        await press("escape")
        assert "trim mode off" in status(app)
        await press("escape", "full_stop")  # a nudge again, with nothing selected
        assert "select a clip first" in status(app)
        for _ in range(7):  # slide (2 presses), slip, ripple, roll (2), blade
            await press("ctrl+z")
            await settle(pilot)
        assert track(app.project, "V1") == [(0, 240, "a_3", 0), (240, 330, "a_5", 0)]

    drive(demo_dir, scenario)


def test_move_to_another_track_link_and_track_flags(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.track_index = 3  # A2: the line [45, 160)
        app.seek(50)
        await press("tab")
        assert app.selection == ("c_14",)
        await press("shift+up")  # onto A1: the pattern's sound is in the way
        await settle(pilot)
        assert "would overlap c_11 on A1" in status(app)
        await press("shift+down")
        await settle(pilot)
        assert "no audio track below" in status(app)
        await press("ctrl+p")
        await pilot.pause()  # type: ignore[attr-defined]
        await press(*"add an audio track", "enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert [t.name for t in app.project.tracks] == ["V2", "V1", "A1", "A2", "A3"]
        await press("shift+down")
        await settle(pilot)
        assert track(app.project, "A3") == [(45, 160, "a_7", 0)]
        assert app.project.tracks[app.track_index].name == "A3"
        # The pattern and its sound: unlink, then link again from one clip.
        app.track_index = 1
        app.seek(10)
        await press("escape", "tab", "ctrl+l")
        await settle(pilot)
        assert clips(app.project)["c_10"].linked_id is None
        await press("ctrl+l")
        await settle(pilot)
        assert clips(app.project)["c_10"].linked_id == "c_11"
        await app.run_action("screen.track_flag('locked')")
        await settle(pilot)
        assert app.project.tracks[1].locked
        await app.run_action("screen.rename_track")
        await answer(app, pilot, "Picture")
        assert app.project.tracks[1].name == "Picture"

    drive(demo_dir, scenario)


def test_titles_text_and_markers(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.seek(90)  # V2 is free from 75
        await press("ctrl+t")
        await answer(app, pilot, "Chapter two")
        title = next(c for c in app.project.tracks[0].clips if c.start == 90)
        assert (title.kind, title.duration, title.text and title.text.text) == (
            "text",
            90,
            "Chapter two",
        )
        app.track_index = 0
        app.seek(100)
        await press("escape", "tab")
        assert app.selection == (title.id,)
        await app.run_action("screen.edit_text('size')")
        await answer(app, pilot, "96")
        await app.run_action("screen.edit_text('color')")
        await answer(app, pilot, "#ff8800")
        text = clips(app.project)[title.id].text
        assert text is not None and (text.size, text.color) == (96, "#ff8800")
        await app.run_action("screen.edit_text('size')")
        await answer(app, pilot, "huge")
        assert "is not a size" in status(app)
        # M on a frame with a marker renames that marker instead of adding a second one.
        app.seek(120)
        await press("m")
        await answer(app, pilot, "Half")
        at_120 = [m for m in app.project.markers if m.frame == 120]
        assert [m.name for m in at_120] == ["Half"]
        await app.run_action("screen.remove_marker")
        await settle(pilot)
        assert all(m.frame != 120 for m in app.project.markers)

    drive(demo_dir, scenario)


def test_the_palette_says_the_key_not_the_action_name(demo_dir: Path) -> None:
    """It showed ``reelcut action place_source('insert') (V / F9)``."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        from textual.app import SystemCommand

        helps = {
            c.title: c.help
            for c in app.get_system_commands(app.screen)
            if isinstance(c, SystemCommand)
        }
        assert helps["Three-point: Insert the source (ripple)"] == "Key: v / F9"
        assert helps["Tracks: Add a video track"] == "No key: from here only"
        assert not any("reelcut action" in h or "(" in h for h in helps.values() if h)

    drive(demo_dir, scenario)
