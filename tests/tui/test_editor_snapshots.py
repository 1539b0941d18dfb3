"""Text snapshots of the whole editor screen on the demo: 80x24 and 160x48, three zoom levels.

Each golden file in ``snapshots/`` starts with what a reviewer should see in it. A change to
the screen fails here with a diff; look at the new screen (the test prints it), and when it is
right, regenerate with ``REELCUT_UPDATE_SNAPSHOTS=1 .venv/bin/pytest`` on this file.
Text, not SVG: the layout, labels, ruler and playhead are what these guard, and a text diff
reads in review.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot

from engine.session import Session
from tui.app import ReelcutApp

SNAPSHOTS = Path(__file__).with_name("snapshots")

CASES = {
    # name: (size, frames per column, playhead, what to look for)
    "80x24_1f": (
        (80, 24),
        1,
        45,
        "80x24 at one frame per column: the project tree (project.json, scripts/), the empty "
        "script panes and the agent chat (settings line, prompt box) on top; ruler labels "
        "every 15 frames; the playhead column at 00:00:01:15 where 'Welcome line' starts on "
        "A2; V1 shows the linked mark (∞) on 'Test pattern'; the status line ends the screen "
        "above the footer.",
    ),
    "160x48_4f": (
        (160, 48),
        4,
        120,
        "160x48 at 4 frames per column: the Midpoint marker (◆) on the ruler over the "
        "playhead at 00:00:04:00; the title on V2 has ended, the gap after it is empty; "
        "two lines per track (name, then length), three on V1, which holds footage (the third "
        "line plain: no filmstrip without the thumbnail derivative). Right of the agent the "
        "picture viewer (no page is connected): its first line says the pattern's proxy is not "
        "built (no jobs run here), so its picture is black.",
    ),
    "160x48_fit": (
        (160, 48),
        0,
        330,
        "160x48 zoomed to fit: the whole 11 s demo across the width, Still and Tone starting "
        "at 00:00:08:00, the playhead at the very end (00:00:11:00), both markers labelled.",
    ),
}


def screen_text(app: ReelcutApp) -> str:
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        color_system=None,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


async def settled(app: ReelcutApp, pilot: Pilot[int]) -> None:
    """Until no worker is left (the picture viewer's decode of the playhead's frame, the
    project tree's listing), each one's result painted."""
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in app.workers):
            return
    raise AssertionError("workers still running after 100 rounds")


@pytest.mark.parametrize("name", list(CASES))
def test_editor_screen_snapshot(demo_dir: Path, name: str) -> None:
    size, fpc, playhead, look_for = CASES[name]

    async def capture() -> str:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                if fpc:
                    app.timeline.zoom_to(fpc, anchor=0)
                else:
                    app.timeline.zoom_to_fit()
                app.seek(playhead)
                app.timeline.show_playhead()
                await pilot.pause()
                await settled(app, pilot)
                return screen_text(app)

    got = asyncio.run(capture())
    path = SNAPSHOTS / f"{name}.txt"
    header = f"# {look_for}\n"
    if os.environ.get("REELCUT_UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(header + got + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert expected.startswith("# "), "a snapshot starts with what to look for"
    assert expected.split("\n", 1)[1] == got + "\n", f"screen now:\n{got}"


PANE_CASES = {
    "160x48_panes1": (
        ["scripts/script.md"],
        "one pane at 160x48: 'scripts/script.md' with line numbers and soft-wrapped markdown "
        "(line 5 wraps); the top region has grown (3:2 over the timeline); the title starts "
        "with the pane number.",
    ),
    "160x48_panes2": (
        ["scripts/script.md", "scripts/Scenario_TTS.json"],
        "two panes side by side: the markdown wraps, the JSON does not (long lines scroll).",
    ),
    "160x48_panes4": (
        [
            "scripts/script.md",
            "scripts/Scenario_TTS.json",
            "scripts/workflows/editor.json",
            "project.json",
        ],
        "four panes in a 2x2 grid (four columns would be under 40 cells each): panes 1 and 2 "
        "on top, 3 and 4 below; pane 4 is project.json, marked read-only.",
    ),
}


@pytest.mark.parametrize("name", list(PANE_CASES))
def test_script_panes_snapshot(demo_dir: Path, name: str) -> None:
    files, look_for = PANE_CASES[name]

    async def capture() -> str:
        from tui.scripts import ScriptPanes

        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=False)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                panes = app.editor.query_one(ScriptPanes)
                for rel in files:
                    await panes.open(rel)
                    await pilot.pause()
                panes.panes[0].area.focus()
                app.timeline.zoom_to(4, anchor=0)
                # Soft wrap and the scrollbars settle over a few refreshes: take the screen
                # once two captures in a row agree.
                await settled(app, pilot)
                shown = ""
                for _ in range(40):
                    await pilot.pause(0.05)
                    now = screen_text(app)
                    if now == shown:
                        break
                    shown = now
                return shown

    got = asyncio.run(capture())
    path = SNAPSHOTS / f"{name}.txt"
    header = f"# {look_for}\n"
    if os.environ.get("REELCUT_UPDATE_SNAPSHOTS"):
        path.write_text(header + got + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert expected.split("\n", 1)[1] == got + "\n", f"screen now:\n{got}"
