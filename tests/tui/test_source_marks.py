"""Source marks across a restart (issue 19): each bin item's source playhead and in/out marks
are saved in the state database's meta (`engine.source_marks`), not in project.json, and are
back when the editor opens again. Keys in under Pilot, Ctrl+Q to quit, a new app on the same
project; and the store's own rules (assets gone and marks out of order are dropped).

The demo: assets a_3 pattern.mp4 (video, 240 frames), a_5 still.png, a_6 tone.wav, a_7
line.wav; 30 fps.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from engine.model import SourceMarks
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.source_marks import decode_source_marks, encode_source_marks
from tests.tui.test_editor import settle, status
from tests.tui.test_media_bin import open_bin
from tui.app import ReelcutApp


def run(root: Path, scenario: object, quit: bool = True) -> None:
    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                await scenario(app, pilot)  # type: ignore[operator]
                if quit:
                    await pilot.press("ctrl+q")
                    await pilot.pause()

    asyncio.run(go())


def test_source_marks_and_playheads_are_back_after_a_restart(demo_dir: Path) -> None:
    project_json = demo_dir / "project.json"
    before = hashlib.sha256(project_json.read_bytes()).hexdigest()

    async def mark(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await open_bin(app, pilot)
        # pattern.mp4: in at 1 s, out at 2 s, then its playhead on to 2 s + 3 frames.
        await press("shift+right", "i", "shift+right", "o", "right", "right", "right")
        # tone.wav (three items down): only an in mark, at 10 frames.
        await press("down", "down", "down", *["right"] * 10, "i")
        await settle(pilot)
        cutting = app.editor.cutting
        assert cutting.source is not None and cutting.source.asset_id == "a_6"

    run(demo_dir, mark)
    # Not in project.json (not an edit of the timeline), and no undo step.
    assert hashlib.sha256(project_json.read_bytes()).hexdigest() == before
    with Session(demo_dir) as session:
        assert session.source_marks() == {
            "a_3": SourceMarks("a_3", position=63, mark_in=30, mark_out=60),
            "a_6": SourceMarks("a_6", position=10, mark_in=10, mark_out=None),
        }
        assert all("mark" not in s.label for s in session.steps())

    async def reopened(app: ReelcutApp, pilot: object) -> None:
        press = pilot.press  # type: ignore[attr-defined]
        await open_bin(app, pilot)  # the pattern is highlighted: the source, with its marks
        cutting = app.editor.cutting
        assert cutting.source is not None
        assert (cutting.source.asset_id, cutting.source.position) == ("a_3", 63)
        assert (cutting.source.mark_in, cutting.source.mark_out) == (30, 60)
        assert "src in 00:00:01:00 out 00:00:02:00" in status(app)
        await press("down", "down", "down")
        assert cutting.source.asset_id == "a_6"
        assert (cutting.source.position, cutting.source.mark_in) == (10, 10)
        # The marks still place the edit: overwrite the pattern's second at 4 s on V1.
        await press("up", "up", "up", "enter")
        app.seek(120)
        await press("b")
        await settle(pilot)
        v1 = next(t for t in app.project.tracks if t.name == "V1")
        assert [(c.start, c.end, c.source_in) for c in v1.clips if c.start == 120] == [
            (120, 150, 30)
        ]

    run(demo_dir, reopened, quit=False)


def test_the_store_drops_assets_gone_and_marks_out_of_order(demo_dir: Path) -> None:
    project = ProjectDir(demo_dir).load()
    raw = encode_source_marks(
        [
            SourceMarks("a_7", 5, 4, 9),
            SourceMarks("a_99", 1, 0, 2),  # not an asset of the project
            SourceMarks("a_3", 50, 40, 40),  # the out is not after the in: dropped
        ]
    )
    assert decode_source_marks(raw, project) == {
        "a_3": SourceMarks("a_3", 50, 40, None),
        "a_7": SourceMarks("a_7", 5, 4, 9),
    }
    assert decode_source_marks("{not json", project) == {}
    assert decode_source_marks('[{"asset_id": "a_3", "position": -1}]', project) == {}
    assert decode_source_marks(None, project) == {}
