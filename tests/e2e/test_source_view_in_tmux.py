"""The source view through the real editor (issue 19): the editor in tmux, the page in
Chromium, paired by the URL it prints. F5 focuses the media bin and the page shows the
highlighted item as a source monitor; source keys move its playhead and marks on the page;
Enter gives the focus back to the timeline and the page shows the timeline again. After the
editor quits and opens again, the marks are back, on its status line and on the page when F5
focuses the bin. The frame-exact picture of the source view is proven on
bar-coded media in tests/preview_web/test_source_view.py; here the path from keys to page.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests import chromium
from tests.e2e.test_editor_with_page import URL
from tests.e2e.tmux import Tmux

REELCUT = str(Path(sys.executable).with_name("reelcut"))
ROOT = "document.getElementById('root')"

pytestmark = [
    pytest.mark.timeout(240),
]


def test_the_bin_drives_the_page_source_view_and_marks_survive_a_restart(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    root = tmp_path / "demo"
    tmux = Tmux([REELCUT, "demo", str(root)], width=220, height=50)
    try:
        tmux.wait_for(lambda: URL.search(tmux.screen()) is not None, "the preview URL", 60)
        match = URL.search(tmux.screen())
        assert match is not None
        url = match.group()

        async def go() -> None:
            async with async_playwright() as pw:
                browser = await chromium.launch(pw)
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await page.goto(url)
                await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                tmux.wait_text("(page connected)")
                assert await page.evaluate(f"{ROOT}.dataset.source") == ""
                tmux.keys("F5")  # the bin, focused: pattern.mp4 (a_3) is the source
                await page.wait_for_function(f"{ROOT}.dataset.source === 'a_3'", timeout=10_000)
                tmux.keys("S-Right", "i", "S-Right", "o", "Right")  # in 1 s, out 2 s, at 61
                await page.wait_for_function(
                    "document.querySelector('[data-source-position]')"
                    "?.dataset.sourcePosition === '61'",
                    timeout=10_000,
                )
                readout = await page.inner_text(".source-readout")
                assert "in 00:00:01:00 out 00:00:02:00" in readout, readout
                # The source's own video (its exact picture: tests/preview_web).
                await page.wait_for_selector('video[data-clip="source-a_3"]', timeout=10_000)
                await page.screenshot(path=str(tmp_path / "source.png"))
                tmux.keys("Enter")  # chosen: the focus goes back to the timeline
                await page.wait_for_function(f"{ROOT}.dataset.source === ''", timeout=10_000)
                tmux.keys("C-q")
                assert tmux.wait_exit() == 0

                # The editor again. The page is opened afresh at the address it prints (the
                # same one unless another program took the port meanwhile).
                again = Tmux([REELCUT, "open", str(root)], width=220, height=50)
                try:
                    again.wait_for(lambda: URL.search(again.screen()) is not None, "the URL", 60)
                    found = URL.search(again.screen())
                    assert found is not None
                    await page.goto(found.group())
                    await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                    again.wait_text("(page connected)")
                    assert await page.evaluate(f"{ROOT}.dataset.source") == ""
                    again.keys("F5")
                    await page.wait_for_function(f"{ROOT}.dataset.source === 'a_3'", timeout=10_000)
                    await page.wait_for_function(
                        "document.querySelector('[data-source-position]')"
                        "?.dataset.sourcePosition === '61'",
                        timeout=10_000,
                    )
                    readout = await page.inner_text(".source-readout")
                    assert "in 00:00:01:00 out 00:00:02:00" in readout, readout
                    again.wait_text("src in 00:00:01:00 out 00:00:02:00")
                    again.keys("C-q")
                    assert again.wait_exit() == 0
                finally:
                    again.close()
                await browser.close()

        asyncio.run(go())
    finally:
        tmux.close()
