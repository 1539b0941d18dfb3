"""The real page in real Chromium (Debian's, driven by Playwright; no browser download) against
the real preview server on 127.0.0.1: the token gate, seeks from the engine side landing on
exactly that frame, and an edit in the session appearing without a reload."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import urllib.request
from pathlib import Path

import pytest

from engine.ops import Blade
from engine.session import Session
from preview_web.build import STATIC_DIR
from tui.background import BackgroundJobs
from tui.serve_cli import start_preview

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (./dev setup)"),
    pytest.mark.skipif(
        not (STATIC_DIR / "bundle.js").exists(), reason="the page is not built (./dev setup)"
    ),
    pytest.mark.timeout(180),
]


async def _wait(page: object, expr: str, timeout: float = 20_000) -> None:
    await page.wait_for_function(expr, timeout=timeout)  # type: ignore[attr-defined]


def test_the_page_follows_the_engine(demo_dir: Path, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async def go() -> None:
        with Session(demo_dir) as session:
            jobs = BackgroundJobs(demo_dir, lambda event: None)
            await jobs.start(session.project)
            server = await start_preview(session, jobs, port=0)
            assert jobs.events is not None
            try:
                base = server.url.split("?")[0]
                # Without the token: refused, and the page never loads.
                with pytest.raises(urllib.error.HTTPError) as refused:
                    await asyncio.to_thread(urllib.request.urlopen, base)
                assert refused.value.code == 401

                async with async_playwright() as pw:
                    args = ["--no-sandbox"] if os.geteuid() == 0 else []
                    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    assert "token=" not in page.url  # traded for the cookie
                    await _wait(page, "document.getElementById('root').dataset.state === 'ready'")
                    await _wait(page, "document.getElementById('root').dataset.events === 'open'")

                    # Seeks from the engine side, at random frames: the page shows exactly them.
                    rng = random.Random(7)
                    for frame in [rng.randrange(0, 330) for _ in range(8)] + [0, 329]:
                        await jobs.events.publish("playback", "seek", {"frame": frame})
                        await _wait(
                            page, f"document.getElementById('root').dataset.frame === '{frame}'"
                        )
                    await page.screenshot(path=str(tmp_path / "seek.png"))
                    await jobs.events.publish("playback", "seek", {"frame": 100})
                    await _wait(page, "document.getElementById('root').dataset.frame === '100'")
                    await page.wait_for_timeout(300)  # let the video element paint the frame
                    await page.screenshot(path=str(tmp_path / "frame100.png"))

                    # An edit in the session reaches the page without a reload.
                    await page.evaluate("window.__reelcut_marker = 1")
                    await asyncio.to_thread(session.apply, Blade(at=60))
                    await _wait(
                        page, "document.querySelector('.meta').textContent.includes('V1:3')"
                    )
                    assert await page.evaluate("window.__reelcut_marker") == 1  # same page
                    await page.screenshot(path=str(tmp_path / "edited.png"))
                    await browser.close()
            finally:
                await server.stop()
                await jobs.stop()

    asyncio.run(go())
    assert (tmp_path / "seek.png").stat().st_size > 10_000
