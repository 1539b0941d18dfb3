"""The whole loop: the real editor in tmux and the real page in Chromium, paired by the URL
the editor prints. Keys in the terminal move the page's frame (exactly), a cut shows up in the
page without a reload, and playing in the terminal plays the page. A page opened after the
playhead moved starts where the terminal is."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from tests import chromium
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))

pytestmark = [
    pytest.mark.timeout(180),
]

URL = re.compile(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+")


def test_terminal_keys_drive_the_page(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    tmux = Tmux([REELCUT, "demo", str(tmp_path / "demo")], width=220, height=50)
    try:
        tmux.wait_for(lambda: URL.search(tmux.screen()) is not None, "the preview URL", 60)
        match = URL.search(tmux.screen())
        assert match is not None
        url = match.group()

        async def go() -> None:
            async with async_playwright() as pw:
                browser = await chromium.launch(pw)
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                # The playhead moves before the page is open: the page starts where it is.
                tmux.keys("S-Right", "S-Right", "S-Right")  # frame 90
                tmux.wait_text("00:00:03:00")
                await page.goto(url)
                root = "document.getElementById('root')"
                await page.wait_for_function(f"{root}.dataset.frame === '90'", timeout=10_000)
                tmux.keys("Right")  # frame 91
                await page.wait_for_function(f"{root}.dataset.frame === '91'", timeout=10_000)
                tmux.wait_text("(page connected)")
                tmux.keys("C-b")  # cuts the pattern, its audio and the line at 91
                await page.wait_for_function(
                    "document.querySelector('.meta').textContent.includes('V1:3')",
                    timeout=10_000,
                )
                assert await page.evaluate(f"{root}.dataset.frame") == "91"  # kept its place
                tmux.keys("Space")
                await page.wait_for_function(f"Number({root}.dataset.frame) > 110", timeout=10_000)
                tmux.keys("Space")
                await page.screenshot(path=str(tmp_path / "paired.png"))
                await browser.close()

        asyncio.run(go())
        tmux.keys("C-q")
        assert tmux.wait_exit() == 0
    finally:
        tmux.close()
