"""The editor shell under Textual's Pilot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable, Static

from engine.projectdir import ProjectDir
from tui.app import ReelcutApp


def test_opens_on_the_demo_and_quits_with_ctrl_q(demo_master: Path) -> None:
    """Every clip of the demo is listed, the status bar names the project, Ctrl+Q exits."""

    async def scenario() -> None:
        app = ReelcutApp(ProjectDir(demo_master), background_jobs=False)
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one("#clips", DataTable)
            assert table.row_count == 6
            status = str(app.query_one("#status", Static).render())
            assert "reelcut demo" in status and "00:00:11:00" in status
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running

    asyncio.run(scenario())
