"""The media bin and three-point editing under Pilot: keys in, the session's project (and its
undo) checked, never sleeps.

The demo (see tests/tui/test_editor.py): V2 title c_13 [0, 75); V1 pattern c_10 [0, 240)
linked to c_11 on A1, still c_12 [240, 330); A2 line c_14 [45, 160), tone c_15 [240, 300);
assets a_3 pattern.mp4 (video, 240 frames, its sound a_4), a_5 still.png, a_6 tone.wav,
a_7 line.wav; 30 fps.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual.widgets import Input, OptionList

from engine.model import Project
from engine.projectdir import ProjectDir
from tests.tui.test_editor import clips, drive, settle, status
from tui.app import ReelcutApp
from tui.media_bin import MediaBin


def track(p: Project, name: str) -> list[tuple[int, int, str | None, int]]:
    """(start, end, asset, source in) of each clip on the track ``name``."""
    t = next(t for t in p.tracks if t.name == name)
    return [(c.start, c.end, c.asset_id, c.source_in) for c in t.clips]


def bin_rows(app: ReelcutApp) -> list[str]:
    options = app.editor.query_one("#bin-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def open_bin(app: ReelcutApp, pilot: object) -> None:
    await pilot.press("f5")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await settle(pilot)


def test_the_bin_lists_the_assets_and_three_point_edits_put_the_source_down(
    demo_dir: Path,
) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await open_bin(app, pilot)
        rows = bin_rows(app)
        # No derivative is built in the test's copy of the demo (no jobs run here).
        assert rows[0] == "V. 0:08 pattern.mp4  no proxy,thumbs,wave"
        assert "I.    - still.png  no thumbs" in rows
        assert app.focused is app.editor.query_one("#bin-list")
        # The pattern is highlighted: source in at 1 s, out at 2 s, then back to the timeline.
        await press("shift+right", "i", "shift+right", "o")
        source = app.editor.cutting.source
        assert source is not None and (source.mark_in, source.mark_out) == (30, 60)
        await press("enter")
        assert app.focused is app.timeline
        assert "dest V1 A1" in status(app) and "src in 00:00:01:00 out 00:00:02:00" in status(app)

        # Insert at 4 s: V1 and A1 cut and pushed 30 frames later, with the pattern's sound.
        app.seek(120)
        await press("v")
        await settle(pilot)
        assert track(app.project, "V1") == [
            (0, 120, "a_3", 0),
            (120, 150, "a_3", 30),
            (150, 270, "a_3", 120),
            (270, 360, "a_5", 0),
        ]
        assert track(app.project, "A1")[1] == (120, 150, "a_4", 30)
        assert app.playhead == 150  # the end of the new clip, ready for the next edit

        # Overwrite at 0 (b): nothing moves, the first second is replaced.
        app.seek(0)
        await press("b")
        await settle(pilot)
        assert track(app.project, "V1")[:2] == [(0, 30, "a_3", 30), (30, 120, "a_3", 30)]
        # Append (e) after the last clip of V1/A1; place on top (F12) over the title on V2.
        await press("e")
        await settle(pilot)
        assert track(app.project, "V1")[-1] == (360, 390, "a_3", 30)
        app.seek(10)
        await press("f12")
        await settle(pilot)
        assert [t.name for t in app.project.tracks][:3] == ["V3", "V2", "V1"]
        assert track(app.project, "V3") == [(10, 40, "a_3", 30)]
        # Four edits, four undo steps: back to the demo as it was.
        before = ProjectDir(app.session.dir.root)
        for _ in range(4):
            await press("ctrl+z")
            await settle(pilot)
        assert [t.name for t in app.project.tracks] == ["V2", "V1", "A1", "A2"]
        assert track(app.project, "V1") == [(0, 240, "a_3", 0), (240, 330, "a_5", 0)]
        assert clips(before.load()) == clips(app.project)

    drive(demo_dir, scenario)


def test_targets_replace_and_a_source_with_nothing_chosen(demo_dir: Path) -> None:
    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await press("v")
        assert "pick a clip in the media bin first" in status(app)
        await open_bin(app, pilot)
        await press("down", "down", "down")  # tone.wav: audio goes to the audio target
        assert app.editor.cutting.source is not None
        assert app.editor.cutting.source.asset_id == "a_6"
        await press("enter", "alt+down", "alt+down", "alt+down", "p")  # target A2
        assert "edits go to dest V1 A2" in status(app)
        app.seek(160)
        await press("b")
        await settle(pilot)
        assert track(app.project, "A2")[1] == (160, 220, "a_6", 0)
        # Replace (F11) the still on V1 with the pattern, the playheads lined up.
        await open_bin(app, pilot)  # F5 again: the bin, focused (it was showing already)
        await press("home", "shift+right", "shift+right", "enter", "alt+up", "alt+up", "p")
        app.seek(250)
        await press("P", "f11")  # source sound off: the video alone
        await settle(pilot)
        assert track(app.project, "V1")[1] == (240, 330, "a_3", 50)
        assert track(app.project, "A1") == [(0, 240, "a_4", 0)]

    drive(demo_dir, scenario)


def test_marked_range_lift_extract_and_closing_a_gap_from_delete_keys(demo_dir: Path) -> None:
    """Shift+Delete with I and O set and nothing selected extracts the range (it said
    "select a clip first"); Delete lifts it; in a gap Shift+Delete closes it."""

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        app.seek(30)
        await press("i")
        app.seek(60)
        await press("o")
        await settle(pilot)
        await press("escape", "shift+delete")
        await settle(pilot)
        assert "select a clip first" not in status(app)
        assert track(app.project, "V1")[:2] == [(0, 30, "a_3", 0), (30, 210, "a_3", 60)]
        await press("ctrl+z", "delete")
        await settle(pilot)
        assert track(app.project, "V1")[:2] == [(0, 30, "a_3", 0), (60, 240, "a_3", 60)]
        # Marks cleared, the playhead in the lifted gap on V1: Shift+Delete closes it (the
        # lift left the same gap on every track, so nothing is in the way).
        await press("X")
        await settle(pilot)
        app.seek(45)
        app.track_index = 1  # V1
        await press("shift+delete")
        await settle(pilot)
        assert "closed a 30-frame gap on V1" in status(app)
        assert track(app.project, "V1")[:2] == [(0, 30, "a_3", 0), (30, 210, "a_3", 60)]
        await press("ctrl+z", "semicolon")
        await settle(pilot)
        assert "mark an in and an out first" in status(app)

    drive(demo_dir, scenario)


def test_a_missing_file_is_marked_relinked_and_media_imported_from_the_editor(
    demo_dir: Path, tmp_path: Path
) -> None:
    found = tmp_path / "found"
    found.mkdir()
    still = next((demo_dir / "assets").glob("*.png"))
    copy = found / "still-copy.png"
    copy.write_bytes(still.read_bytes())
    still.unlink()
    tone = found / "beep.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=880:duration=1", str(tone)],
        check=True,
    )

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await open_bin(app, pilot)
        rows = bin_rows(app)
        assert "I!    - still.png  MISSING" in rows
        await press("down", "down", "r")
        field = app.screen.query_one(Input)
        field.value = f"{found}/still-c"
        await press("tab")  # completes the name
        assert field.value == str(copy)
        await press("enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "relinked still.png" in status(app)
        assert "I.    - still.png  no thumbs" in bin_rows(app)

        await press("a")
        app.screen.query_one(Input).value = str(tone)
        await press("enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert "imported beep.wav" in status(app)
        assert any("beep.wav" in r for r in bin_rows(app))
        new = next(a for a in app.project.assets if a.name == "beep.wav")
        assert not any(c.asset_id == new.id for t in app.project.tracks for c in t.clips)
        assert app.editor.query_one(MediaBin).highlighted == new.id
        await settle(pilot)
        source = app.editor.cutting.source
        assert source is not None and source.asset_id == new.id  # the next edit's source

    drive(demo_dir, scenario)


def test_a_row_says_what_is_building_what_is_missing_and_what_is_gone() -> None:
    """The flag in the narrow column and the words after the name, for each state."""
    from engine.media.status import AssetStatus
    from tests.engine.timelines import ASSETS
    from tui.media_bin import Building, state_text

    video = ASSETS[0]
    built = {"proxy": True, "thumbs": True, "peaks": True}

    def shown(status: AssetStatus | None, building: list[Building]) -> tuple[str, str]:
        flag, words = state_text(video, status, building)
        return flag.plain, words.plain

    assert shown(AssetStatus("ok", built), []) == (" ", "")
    half = {"proxy": False, "thumbs": True, "peaks": False}
    assert shown(AssetStatus("ok", half), [Building("proxy", 0.4)]) == ("~", "proxy 40% no wave")
    assert shown(AssetStatus("ok", half), []) == (".", "no proxy,wave")
    assert shown(AssetStatus("missing", {}), []) == ("!", "MISSING")
    assert shown(AssetStatus("changed", {}), []) == ("!", "CHANGED")
    assert shown(None, []) == (" ", "")  # not read yet
