"""The editor shell under Textual's Pilot: it opens on the demo and Ctrl+Q leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.session import Session
from tui.app import ReelcutApp


def test_opens_on_the_demo_and_quits_with_ctrl_q(demo_dir: Path) -> None:
    """The title names the project, the timeline shows every track, Ctrl+Q exits."""

    async def scenario() -> None:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                assert app.sub_title == "reelcut demo"
                text = "\n".join(
                    app.timeline.render_line(y).text for y in range(app.timeline.size.height)
                )
                for track in ("V2", "V1", "A1", "A2"):
                    assert track in text
                await pilot.press("ctrl+q")
                await pilot.pause()
                assert not app.is_running

    asyncio.run(scenario())
