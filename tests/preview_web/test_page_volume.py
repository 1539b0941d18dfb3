"""The page plays a clip at its gain and with its fades: the level its <audio> plays at in real
Chromium, frame by frame, is the level the export writes at that frame's first sample.

One clip of a constant level on A1 (frames 30-90, -6.02 dB, a 10-frame fade-in and a 15-frame
fade-out); the page is seeked through the engine's event stream as the editor seeks it, and
Remotion sets the gain of the Web Audio GainNode the element plays through from the clip's
volume curve (preview_web/web/src/volume.ts). The level is the element's ``volume`` times that
gain (tests/preview_web/page_audio.py). The same project is exported to WAV and read at each
frame's first sample, so the page and the file are compared with each other, not with a
formula. test_page_loudness.py listens to the output itself, above 0 dB too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.ops import Overwrite, SetAudio
from engine.session import Session
from engine.workspace import Workspace
from tests import chromium
from tests.engine.test_export_audio import HALF_DB, LEVEL, PER_FRAME, export_left, make_project
from tests.preview_web import page_audio
from tui.serve_cli import start_preview

ROOT = "document.getElementById('root')"
VOLUMES_JS = "window.__tap.levels()"
"""The level of every audio element that plays an asset (the Player keeps a few shared ones
with a silent data: source for autoplay)."""
FRAMES = [30, 31, 33, 35, 39, 40, 41, 60, 74, 75, 76, 80, 85, 89]


async def page_volumes(root: Path, frames: list[int]) -> dict[int, list[float]]:
    """The levels of the page's audio elements at each of ``frames``, seeked one by one."""
    from playwright.async_api import async_playwright

    out: dict[int, list[float]] = {}
    with Session(root) as session:
        workspace = Workspace(root)
        await workspace.start_jobs(session.project)
        server = await start_preview(session, workspace, port=0)
        events = workspace.events
        assert events is not None
        try:
            async with async_playwright() as pw:
                browser = await chromium.launch(pw)
                page = await browser.new_page()
                await page_audio.install(page)
                await page.goto(server.url)
                await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                await page.wait_for_function(f"{ROOT}.dataset.events === 'open'")
                for n in frames:
                    await events.publish("playback", "seek", {"frame": n, "from": "editor"})
                    await page.wait_for_function(
                        f"{ROOT}.dataset.frame === '{n}' && {ROOT}.dataset.readoutFrame === '{n}'",
                        timeout=15_000,
                    )
                    await page.wait_for_function(
                        "document.querySelectorAll('audio').length > 0", timeout=15_000
                    )
                    out[n] = await page.evaluate(VOLUMES_JS)
                await browser.close()
        finally:
            await server.stop()
            await workspace.close()
    return out


def test_the_page_plays_the_gain_and_fades_the_export_writes(tmp_path: Path) -> None:
    root, asset = make_project(tmp_path, str(LEVEL))
    with Session(root) as session:
        session.apply(Overwrite(asset_id=asset, at=30, track="A1", source_in=0, duration=60))
        clip = session.project.tracks[1].clips[0].id
        session.apply(SetAudio(clip, gain_db=HALF_DB, fade_in=10, fade_out=15))
    left = export_left(root, tmp_path / "out.wav")
    volumes = asyncio.run(page_volumes(root, FRAMES))
    for n in FRAMES:
        in_file = left[n * PER_FRAME] / LEVEL
        assert len(volumes[n]) == 1, volumes[n]
        assert abs(volumes[n][0] - in_file) < 3e-4, (n, volumes[n][0], in_file)
    assert abs(volumes[60][0] - 0.5) < 1e-3  # -6.02 dB: half
    assert volumes[30][0] == 0 and abs(volumes[35][0] - 0.25) < 1e-3  # half-way into the fade
