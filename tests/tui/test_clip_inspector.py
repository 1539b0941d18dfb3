"""The clip inspector (Shift+I) under Pilot: it opens on the selected clip and shows it, edits
the gain and the fades (through the door: one undo step per Enter, on the audio partner of a
linked video clip), edits a text clip, refuses a bad value with one line and sends nothing, and
Escape changes nothing. Its place fields (start, duration, source in): test_clip_inspector_place.py.

The demo (see tests/tui/test_editor.py): V2 title c_13 [0, 75); V1 pattern c_10 [0, 240)
linked to c_11 on A1, still c_12 [240, 330); A2 line c_14 [45, 160), tone c_15 [240, 300).
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input, Label

from engine.model import ClipAudio, Transform
from engine.projectfile import encode_project
from tests.tui.test_editor import clips, drive, settle, status
from tui.app import ReelcutApp
from tui.clip_inspector import ClipInspector


def shown(app: ReelcutApp) -> str:
    """Every label of the inspector that is up, one per line."""
    return "\n".join(str(label.render()) for label in app.screen.query(Label))


async def fill(app: ReelcutApp, pilot: object, **values: str) -> None:
    """Set the inspector's fields and press Enter in the first one."""
    for name, value in values.items():
        app.screen.query_one(f"#inspect-{name}", Input).value = value
    app.screen.query_one(f"#inspect-{next(iter(values))}", Input).focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await settle(pilot)


def test_open_on_the_selected_clip_and_edit_its_gain_and_fades(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        before = encode_project(app.project)
        app.track_index = 1  # V1
        app.seek(10)
        await press("tab")  # the pattern c_10, linked to c_11 on A1
        assert app.selection == ("c_10",)
        await press("I")
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, ClipInspector)
        text = shown(app)
        assert "media clip on V1" in text and "(c_10)" in text
        assert "end 00:00:08:00  source out 00:00:08:00 (frame 240 of 240)" in text
        assert "linked to c_11" in text and "sound (on c_11)" in text
        assert "picture (x, y: pixels from the centre)" in text
        values = {i.id: i.value for i in app.screen.query(Input)}
        assert values == {
            "inspect-start": "00:00:00:00",
            "inspect-duration": "240",
            "inspect-source_in": "0",
            "inspect-x": "0",
            "inspect-y": "0",
            "inspect-scale": "1",
            "inspect-rotation": "0",
            "inspect-opacity": "1",
            "inspect-gain_db": "0",
            "inspect-fade_in": "0",
            "inspect-fade_out": "0",
        }

        await fill(app, pilot, gain_db="-6")  # the gain of the pair is the audio clip's
        assert not isinstance(app.screen, ClipInspector)
        assert clips(app.project)["c_11"].audio == ClipAudio(gain_db=-6.0)
        assert clips(app.project)["c_10"].audio is None

        await press("I")
        await pilot.pause()  # type: ignore[attr-defined]
        assert app.screen.query_one("#inspect-gain_db", Input).value == "-6"
        await fill(app, pilot, fade_in="15", fade_out="30")
        assert clips(app.project)["c_11"].audio == ClipAudio(gain_db=-6.0, fade_in=15, fade_out=30)

        await press("ctrl+z")  # each Enter is one undo step
        await settle(pilot)
        assert clips(app.project)["c_11"].audio == ClipAudio(gain_db=-6.0)
        await press("ctrl+z")
        await settle(pilot)
        assert encode_project(app.project) == before

    drive(demo_dir, scenario)


def test_a_bad_value_is_one_line_and_escape_changes_nothing(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        before = encode_project(app.project)
        app.track_index = 3  # A2: the line c_14 [45, 160), 115 frames
        app.seek(50)
        await press("tab", "I")
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, ClipInspector) and "(c_14)" in shown(app)
        assert "sound\n" in shown(app) + "\n"  # its own sound, not a partner's
        await fill(app, pilot, fade_in="100", fade_out="20")
        assert isinstance(app.screen, ClipInspector)  # still open, saying why
        error = str(app.screen.query_one("#inspector-error", Label).render())
        assert error == "fades of 100 + 20 frames do not fit in the clip (115 frames)"
        await fill(app, pilot, fade_in="10", fade_out="20", gain_db="loud")
        assert "gain: 'loud' is not a number of dB" in str(
            app.screen.query_one("#inspector-error", Label).render()
        )
        await fill(app, pilot, gain_db="30")
        assert "30 dB is outside -60 to +24 dB" in str(
            app.screen.query_one("#inspector-error", Label).render()
        )
        await press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ClipInspector)
        assert encode_project(app.project) == before

        app.seek(170)  # a gap on A2, nothing selected: nothing to inspect
        await press("escape", "I")
        await pilot.pause()  # type: ignore[attr-defined]
        assert not isinstance(app.screen, ClipInspector)
        assert "inspector: select a clip first" in status(app)

    drive(demo_dir, scenario)


def test_a_text_clip_edits_its_text_and_its_place(demo_dir: Path) -> None:
    """Text and picture changed together: two ops (the picture's first), one undo step."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.track_index = 0  # V2: the title c_13
        app.seek(10)
        await press("tab", "I")
        await pilot.pause()  # type: ignore[attr-defined]
        assert "text clip on V2" in shown(app) and "sound" not in shown(app)
        await fill(app, pilot, scale="0", text="x")
        assert "scale: must be more than 0" in shown(app)
        await fill(
            app, pilot, text="Hello again", size="80", color="#ff8800", scale="1", y="-300",
            opacity="0.5",
        )  # fmt: skip
        title = clips(app.project)["c_13"]
        assert title.text is not None
        assert (title.text.text, title.text.size, title.text.color) == (
            "Hello again",
            80,
            "#ff8800",
        )
        assert title.transform == Transform(y=-300.0, opacity=0.5)
        assert "inspector: " in status(app)  # both summaries on the status line
        await press("ctrl+z")  # one Enter, one undo step: text and picture go back together
        await settle(pilot)
        title = clips(app.project)["c_13"]
        assert title.transform is None and title.text is not None
        assert (title.text.text, title.text.size) == ("reelcut demo", 96)

    drive(demo_dir, scenario)


def test_keys_typed_ahead_land_in_the_field_they_were_typed_for(demo_dir: Path) -> None:
    """Tab, 1, 0 reaching the app together (a burst over a slow link, a fast typist, tmux
    send-keys): the digits go to the next field, not to the one the Tab left (`tui.form_keys`;
    without the priority Tab the gain became -61 and the fade-in 0)."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        app.track_index = 1  # V1
        app.seek(10)
        await pilot.press("tab", "I")  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert isinstance(app.screen, ClipInspector)
        gain = app.screen.query_one("#inspect-gain_db", Input)
        gain.focus()
        await pilot.pause()  # type: ignore[attr-defined]
        for key, character in (("tab", "\t"), ("1", "1"), ("0", "0")):
            app.post_message(events.Key(key, character))  # all queued before any is handled
        await pilot.pause()  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert gain.value == "0"
        assert app.screen.query_one("#inspect-fade_in", Input).value == "10"

    drive(demo_dir, scenario)
