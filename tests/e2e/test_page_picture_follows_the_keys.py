"""The editor in real tmux and its page in real Chromium, judged on the picture: after frame
steps, a J/K/L shuttle stopped with K, Space to play and Space to pause, and End, the page
presents exactly the frame under the terminal's playhead, decoded from the bar code every
source frame carries. Closing the tab clears "(page connected)" on the status line."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from engine.timebase import Rate, parse_timecode
from tests import chromium
from tests.e2e.tmux import Tmux
from tests.preview_web import framecode

REELCUT = str(Path(sys.executable).with_name("reelcut"))
URL = re.compile(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+")
TIMECODE = re.compile(r"^\s*(\d\d:\d\d:\d\d[:;]\d\d)\s", re.M)
ROOT = "document.getElementById('root')"

pytestmark = [
    pytest.mark.timeout(240),
]


def playhead(tmux: Tmux) -> int:
    """The frame on the status line (its first field is the playhead's timecode)."""
    lines = [ln for ln in tmux.screen().splitlines() if "snap " in ln]
    assert lines, tmux.screen()
    m = TIMECODE.match(lines[-1])
    assert m is not None, lines[-1]
    return parse_timecode(m.group(1), Rate(30, 1))


def test_the_page_shows_the_playhead_frame_after_every_kind_of_move(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    root = tmp_path / "p"
    source = framecode.make_cfr(tmp_path / "bars.mp4", "30", seconds=12)
    frames = framecode.probe(source)
    for args in (["new", root], ["import", root, source], ["jobs", root, "run"]):
        done = subprocess.run([REELCUT, *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    tmux = Tmux([REELCUT, str(root)], width=200, height=50)
    try:
        tmux.wait_for(lambda: URL.search(tmux.screen()) is not None, "the preview URL", 60)
        match = URL.search(tmux.screen())
        assert match is not None

        async def go() -> None:
            async with async_playwright() as pw:
                browser = await chromium.launch(pw)
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await page.goto(match.group())
                await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                tmux.wait_text("(page connected)")
                clip = await page.evaluate("document.querySelector('video').dataset.clip")

                async def agrees(what: str) -> None:
                    # Let the terminal settle, then the page, then look at the picture.
                    await asyncio.sleep(0.3)
                    n = playhead(tmux)
                    try:
                        await page.wait_for_function(
                            f"{ROOT}.dataset.frame === '{n}' && {ROOT}.dataset.readoutFrame === "
                            f"'{n}' && {ROOT}.dataset.presented === '{n}'",
                            timeout=10_000,
                        )
                    except Exception:
                        state = await page.evaluate(
                            f"[{{...{ROOT}.dataset}}, [...document.querySelectorAll('video')]"
                            ".map(v => [v.currentTime, v.duration, v.seeking, v.dataset.asked,"
                            " v.dataset.presented])]"
                        )
                        raise AssertionError(f"after {what}: playhead {n}, page {state}") from None
                    got = await page.evaluate(framecode.DECODE_JS, clip)
                    want = framecode.expected(frames, start=0, source_in=0, n=n, rate=Fraction(30))
                    assert got == want, f"after {what}: playhead {n}, picture {got}"

                for _ in range(5):
                    tmux.keys("Right")
                    await agrees("a frame step")
                tmux.keys("S-Right", "Left")
                await agrees("a second forward and a frame back")
                tmux.keys("l")
                await asyncio.sleep(0.7)
                tmux.keys("k")
                await agrees("L then K")
                tmux.keys("l", "l")
                await asyncio.sleep(0.5)
                tmux.keys("k")
                await agrees("2x shuttle stopped")
                tmux.keys("Space")
                await asyncio.sleep(0.8)
                tmux.keys("Space")
                await agrees("Space, Space")
                tmux.keys("End")
                await agrees("End")
                assert playhead(tmux) == len(frames.times) - 1 or playhead(tmux) > 300
                await page.screenshot(path=str(tmp_path / "end.png"))
                await page.close()
                tmux.wait_for(
                    lambda: "(page connected)" not in tmux.screen(), "the status to clear", 10
                )
                await browser.close()

        asyncio.run(go())
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
    finally:
        tmux.close()
