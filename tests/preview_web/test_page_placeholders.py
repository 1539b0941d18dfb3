"""The page draws a placeholder clip's state (issue 20), in real Chromium (Debian's, driven by
Playwright) against the real preview server and the editor's background jobs: a TTS line queued
through the door shows as queued, then running with its percent while espeak-ng speaks it (held
until the page has shown it running), and its line goes once the take lands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.session import Session
from engine.tts.providers import LocalProvider
from engine.workspace import Workspace
from tests import chromium
from tests.engine.test_tts import make_project
from tui.serve_cli import start_preview

pytestmark = [
    pytest.mark.timeout(180),
]

ROOT = "document.getElementById('root')"


def test_a_placeholder_shows_queued_then_running_with_its_percent_then_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.async_api import async_playwright

    root = make_project(tmp_path / "p")
    release = asyncio.Event()
    speak = LocalProvider._speak

    async def held(self: LocalProvider, *args: Any) -> Any:
        await release.wait()  # the page must see this line running first
        return await speak(self, *args)

    monkeypatch.setattr(LocalProvider, "_speak", held)

    async def go() -> list[str]:
        seen: list[str] = []
        with Session(root) as session:
            workspace = Workspace(root, session)
            await workspace.start_jobs(session.project)
            server = await start_preview(session, workspace, port=0)
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                    await page.wait_for_function(f"{ROOT}.dataset.events === 'open'")
                    doc = await workspace.call("tts.start", {"lines": ["l_2"]})
                    (job,) = doc["jobs"]
                    item = page.locator("#placeholders li")
                    await page.wait_for_function(
                        "document.querySelectorAll('#placeholders li').length === 1"
                    )
                    seen.append(await item.inner_text())
                    # Running, with the percent the job reported (5%: waiting for a voice;
                    # the heartbeat records it), not only the claim's 0%.
                    await page.wait_for_function(
                        "/running [1-9]\\d*%/.test(document.querySelector('#placeholders li')"
                        "?.textContent ?? '')",
                        timeout=20_000,
                    )
                    seen.append(await item.inner_text())
                    assert await item.get_attribute("data-stage") == "running"
                    clip = await item.get_attribute("data-clip")
                    assert clip is not None
                    await page.screenshot(path=str(tmp_path / "placeholder.png"))
                    release.set()
                    await page.wait_for_function(
                        "document.querySelectorAll('#placeholders li').length === 0",
                        timeout=30_000,
                    )
                    status = await workspace.call("tts.status", {})
                    assert {ln["line"]: ln["stage"] for ln in status["lines"]} == {"l_2": "ready"}
                    assert json.dumps(status).count(str(job["job"])) >= 1
                    await browser.close()
            finally:
                release.set()
                await server.stop()
                await workspace.close()
        return seen

    seen = asyncio.run(go())
    assert seen[0].startswith("l_2") and ("queued" in seen[0] or "running" in seen[0])
    assert seen[1].startswith("l_2 running ") and seen[1].endswith("%")
    assert seen[1] != "l_2 running 0%"
    assert (tmp_path / "placeholder.png").stat().st_size > 10_000
