"""The page plays a clip's gain as a listener hears it, above 0 dB too (issue 19 item 3).

A 1 kHz tone at 0.25 of full scale is placed four times on A1: at 0 dB, +6.02 dB, -6.02 dB and
with a two-second fade-in. Real Chromium plays the page from the real preview server, and the
samples the page sends to its speakers are read back through an AnalyserNode
(tests/preview_web/page_audio.py). The RMS at +6.02 dB is twice the RMS at 0 dB (Remotion's
element ``volume`` stops at 1, so without its Web Audio path the page played it at unity),
-6.02 dB is half, and the fade rises from low to full at the slope of its ramp.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from engine.ops import Overwrite, SetAudio
from engine.session import Session
from engine.workspace import Workspace
from tests import chromium
from tests.engine.test_export_audio import HALF_DB, make_project
from tests.preview_web import page_audio
from tui.serve_cli import start_preview

pytestmark = pytest.mark.timeout(240)

ROOT = "document.getElementById('root')"
TONE = 0.25
CLIP = 90
"""Each clip's length in frames (3 s at 30 fps)."""
FADE = 60
FPS = 30
SAMPLES = 2048
"""Samples per RMS read: 43 ms at 48 kHz, 43 periods of the tone."""


async def _frame(page: Any) -> int:
    return int(await page.evaluate(f"{ROOT}.dataset.frame"))


async def _play_and_read(
    page: Any, events: Any, start: int, until: int
) -> list[tuple[float, float]]:
    """Play from frame ``start`` until the page shows ``until``; (frame of the clip's media,
    RMS) read every ~50 ms from ``start + 12`` on (past the Player's 30 ms ramp up from
    silence). The frame is the playing element's ``currentTime``: under load the page's frame
    counter trails what is heard by several frames."""
    await events.publish("playback", "seek", {"frame": start, "from": "editor"})
    await page.wait_for_function(f"{ROOT}.dataset.frame === '{start}'", timeout=15_000)
    await events.publish("playback", "play", {"from": "editor"})
    await page.wait_for_function(f"+{ROOT}.dataset.frame >= {start + 12}", timeout=15_000)
    reads: list[tuple[float, float]] = []
    while await _frame(page) < until:
        await page.evaluate("window.__tap.routeDirect()")
        read = await page.evaluate(f"window.__tap.read({SAMPLES})")
        if read["time"] is not None:
            reads.append((read["time"] * FPS, read["rms"]))
        await asyncio.sleep(0.05)
    await events.publish("playback", "pause", {"from": "editor"})
    return reads


async def listen(root: Path) -> tuple[dict[str, list[tuple[float, float]]], int]:
    """The (frame, RMS) reads of each clip, and how many elements played outside Web Audio."""
    from playwright.async_api import async_playwright

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
                # A click on the page: the user gesture Chromium wants before audio plays.
                await page.click("header h1")
                out = {
                    "unity": await _play_and_read(page, events, 0 * CLIP, 0 * CLIP + 70),
                    "boost": await _play_and_read(page, events, 1 * CLIP, 1 * CLIP + 70),
                    "cut": await _play_and_read(page, events, 2 * CLIP, 2 * CLIP + 70),
                    "fade": await _play_and_read(page, events, 3 * CLIP, 3 * CLIP + 80),
                }
                direct = await page.evaluate("window.__tap.direct")
                await browser.close()
        finally:
            await server.stop()
            await workspace.close()
    return out, direct


def test_the_page_plays_a_boost_louder_and_a_cut_softer(tmp_path: Path) -> None:
    root, asset = make_project(tmp_path, f"{TONE}*sin(2*PI*1000*t)")
    with Session(root) as session:
        gains = [0.0, -HALF_DB, HALF_DB, 0.0]
        for n, gain in enumerate(gains):
            session.apply(
                Overwrite(asset_id=asset, at=n * CLIP, track="A1", source_in=0, duration=CLIP)
            )
            clip = session.project.tracks[1].clips[n].id
            fade = FADE if n == 3 else 0
            session.apply(SetAudio(clip, gain_db=gain, fade_in=fade, fade_out=0))
    reads, direct = asyncio.run(listen(root))
    unity = statistics.median(r for _, r in reads["unity"])
    assert abs(unity - TONE / math.sqrt(2)) < 0.02 * TONE, (unity, reads["unity"])
    boost = statistics.median(r for _, r in reads["boost"])
    cut = statistics.median(r for _, r in reads["cut"])
    # Measured: 2.000 and 0.500. The old page played +6.02 dB at the element's volume 1: 1.0.
    assert abs(boost / unity - 2.0) < 0.04, (boost / unity, reads["boost"])
    assert abs(cut / unity - 0.5) < 0.01, (cut / unity, reads["cut"])
    assert direct == 0, f"{direct} clip elements played outside Web Audio (at element volume)"
    # The fade ramps: it starts low, rises read after read at the ramp's slope (fitted against
    # the element's clock; the gain follows the Player's frame, which under load trails the
    # element by a few frames, so the fit leaves the offset free) and ends at the full level.
    # Measured slopes 1.000-1.010 of 1/60 per frame (five runs at load 10-12).
    fade = [(f, r / unity) for f, r in reads["fade"]]
    levels = [level for _, level in fade]
    assert len(fade) >= 10 and levels[0] < 0.4 and levels[-1] > 0.98, fade
    assert all(b > a - 0.01 for a, b in itertools.pairwise(levels)), fade
    ramp = [(f, level) for f, level in fade if 0.1 < level < 0.9]
    assert len(ramp) >= 5, fade
    slope = statistics.linear_regression([f for f, _ in ramp], [lv for _, lv in ramp]).slope
    assert abs(slope * FADE - 1) < 0.2, (slope * FADE, fade)
