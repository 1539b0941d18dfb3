"""The media bin's relink to a different file under Pilot (R on a bin item whose file is in
place): the asset takes the picked file as one undo step, and a file that cannot stand in is
refused with one line and changes nothing. The demo: a_3 pattern.mp4 (video, 240 frames at
30 fps, its sound a_4), played whole by V1's c_10 and A1's c_11 (tests/tui/test_media_bin.py).
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.engine.test_relink import clip_file
from tests.tui.test_editor import drive, settle, status
from tests.tui.test_media_bin import open_bin
from tui.app import ReelcutApp


def ranges(app: ReelcutApp) -> list[tuple[str, str | None, int, int, int]]:
    return [
        (c.id, c.asset_id, c.start, c.duration, c.source_in)
        for t in app.project.tracks
        for c in t.clips
    ]


def test_r_relinks_the_highlighted_asset_to_another_file_as_one_undo_step(
    demo_dir: Path, tmp_path: Path
) -> None:
    longer = clip_file(tmp_path / "pattern-v2.mp4", 9)
    short = clip_file(tmp_path / "short.mp4", 2)

    async def relink_to(app: ReelcutApp, pilot: object, path: Path) -> None:
        await pilot.press("r")  # type: ignore[attr-defined]
        field = app.screen.query_one(Input)
        field.value = str(path)
        await pilot.press("enter")  # type: ignore[attr-defined]
        await app.workers.wait_for_complete()
        await settle(pilot)

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        await open_bin(app, pilot)  # pattern.mp4 is highlighted
        before, clips = app.project.asset("a_3"), ranges(app)
        assert before is not None

        await relink_to(app, pilot, short)
        assert "relink: short.mp4 is 00:00:02:00 long, but the timeline plays" in status(app)
        assert app.project.asset("a_3") == before and ranges(app) == clips

        await relink_to(app, pilot, longer)
        assert "relinked pattern.mp4" in status(app)
        now = app.project.asset("a_3")
        assert now is not None and now.source_name == "pattern-v2.mp4"
        assert now.hash != before.hash and ranges(app) == clips
        assert app.session.steps()[-1].label.startswith("relinked pattern.mp4")

        await pilot.press("ctrl+z")  # type: ignore[attr-defined]
        await settle(pilot)
        assert app.project.asset("a_3") == before

    drive(demo_dir, scenario)
