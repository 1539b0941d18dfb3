"""The page's source view (issue 19): while the editor's media bin has the focus, the page
shows the chosen bin item alone at its source playhead, with its in/out marks, instead of the
timeline; when the focus goes back, the timeline again. Proven on pixels in real Chromium.

One bar-coded source (`framecode`: every frame carries its number) is cut onto V1 at 0 from
source frame 7. The editor's messages are sent as the editor sends them (``playback``
``source`` events on the engine's stream, `tui/bin_actions.py`); the picture of the visible
``<video>`` is decoded from a canvas and must be source frame N with the source view on, and
the timeline's frame (source frame 7 + n) with it off.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from engine.media.importer import import_files
from engine.model import new_project
from engine.ops import Overwrite
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import parse_rate
from engine.workspace import Workspace
from tests import chromium
from tests.preview_web import framecode
from tests.preview_web.exactness import _no_jobs_left
from tui.serve_cli import start_preview

pytestmark = [
    pytest.mark.timeout(300),
]

ROOT = "document.getElementById('root')"
SOURCE_IN = 7
VISIBLE_JS = """(clipId) => {
  const v = document.querySelector(`video[data-clip="${clipId}"]`);
  if (!v) return null;
  const r = v.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
}"""


def make_project(root: Path, tmp: Path) -> tuple[str, str, framecode.SourceFrames]:
    """The project, its source asset's id, the clip's id and the source's frames."""
    ProjectDir.create(root, new_project("source", rate=parse_rate("30"), width=1280, height=720))
    path = framecode.make_cfr(tmp / "bars.mp4", "30", seconds=5)
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), [path], place=False)
        pd.save(project)
    asset = results[0].assets[0]
    with Session(root) as session:
        session.apply(
            Overwrite(
                asset_id=asset, at=0, track="V1", source_in=SOURCE_IN, duration=60, with_audio=False
            )
        )
        (clip,) = [c for t in session.project.tracks for c in t.clips]
    return asset, clip.id, framecode.probe(path)


async def shows(page: Any, clip_id: str, frame: int) -> int | None:
    """Wait until ``clip_id``'s video says it presented source frame ``frame`` and is still,
    then decode its picture (the attribute only says when to look)."""
    await page.wait_for_function(
        f"""() => {{
          const v = document.querySelector('video[data-clip="{clip_id}"]');
          return !!v && v.dataset.presented === '{frame}' && !v.seeking;
        }}""",
        timeout=15_000,
    )
    return await page.evaluate(framecode.DECODE_JS, clip_id)  # type: ignore[no-any-return]


def test_the_page_shows_the_source_while_the_bin_has_focus_and_the_timeline_after(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    asset, clip, frames = make_project(root, tmp_path)
    source_clip = f"source-{asset}"
    rate = Fraction(30)

    async def go() -> None:
        from playwright.async_api import async_playwright

        with Session(root) as session:
            workspace = Workspace(root)
            await workspace.start_jobs(session.project)
            await _no_jobs_left(workspace)  # the proxy: the exact picture
            server = await start_preview(session, workspace, port=0)
            events = workspace.events
            assert events is not None

            async def editor(kind: str, data: dict[str, Any]) -> None:
                await events.publish("playback", kind, {**data, "from": "editor"})

            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                    await page.wait_for_function(f"{ROOT}.dataset.events === 'open'")
                    await page.wait_for_function(
                        "document.querySelectorAll('.readout .warn').length === 0"
                    )
                    # The timeline at frame 10: source frame 17.
                    await editor("seek", {"frame": 10})
                    want = framecode.expected(frames, start=0, source_in=SOURCE_IN, n=10, rate=rate)
                    assert await shows(page, clip, 17) == want == 17
                    assert await page.evaluate(f"{ROOT}.dataset.source") == ""

                    # The bin takes the focus: the source at its playhead, with its marks.
                    source = {"asset_id": asset, "mark_in": 20, "mark_out": 61}
                    await editor("source", {**source, "position": 40})
                    await page.wait_for_function(f"{ROOT}.dataset.source === '{asset}'")
                    assert await shows(page, source_clip, 40) == 40
                    assert await page.evaluate(VISIBLE_JS, source_clip) is True
                    assert await page.evaluate(VISIBLE_JS, clip) is False  # the timeline hides
                    assert await page.locator("#readout").count() == 0  # and its readout
                    readout = await page.inner_text(".source-readout")
                    assert "in 00:00:00:20 out 00:00:02:01" in readout, readout
                    assert "frame 40 / 150" in readout and "41 frames" in readout, readout
                    # The source playhead moves (a step in the bin): frame 97 shows.
                    await editor("source", {**source, "position": 97})
                    assert await shows(page, source_clip, 97) == 97
                    # A timeline seek meanwhile moves the hidden timeline, not the source.
                    await editor("seek", {"frame": 30})
                    await page.wait_for_function(f"{ROOT}.dataset.frame === '30'")
                    assert await page.evaluate(framecode.DECODE_JS, source_clip) == 97

                    # The timeline has the focus again: its frame 30, source frame 37.
                    await editor("source", {"asset_id": None})
                    await page.wait_for_function(f"{ROOT}.dataset.source === ''")
                    await page.wait_for_function(
                        f"!document.querySelector('video[data-clip=\"{source_clip}\"]')"
                    )
                    assert await shows(page, clip, 37) == 37
                    assert await page.evaluate(VISIBLE_JS, clip) is True
                    # The timeline's readout is back and says the picture is the frame asked.
                    await page.wait_for_function(
                        f"{ROOT}.dataset.readoutFrame === '30' && {ROOT}.dataset.presented === '30'"
                    )
                    await browser.close()
            finally:
                await server.stop()
                await workspace.close()

    asyncio.run(go())
