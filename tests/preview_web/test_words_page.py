"""The page's word under the playhead and its caption clips (issue 22), in real Chromium
(Debian's, driven by Playwright) against the real preview server: at frame N the marked word
is the word said at N (from the recording's truth, not from the code that maps it), nothing is
marked between words, a cut moves the words with the video, and the caption clips placed
through the door are drawn in the picture."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.ops.captions import caption_clips
from engine.session import Session
from engine.workspace import Workspace
from tests import chromium
from tests.engine.test_transcript_edit import make_talk, truth
from tests.preview_web.serving import authed, serve
from tui.serve_cli import start_preview

pytestmark = [
    pytest.mark.timeout(180),
]

ROOT = "document.getElementById('root')"


def said_at(frame: int, fps: int = 30) -> str:
    """The word the recording says at ``frame`` ("" between words), from its truth."""
    t = frame / fps
    return next((s.text for s in truth() if s.start <= t < s.end), "")


def test_words_json_holds_the_timeline_words_in_frames(tmp_path: Path) -> None:
    root = tmp_path / "p"
    make_talk(root)
    client, _, _ = serve(root)
    words = authed(client).get("/words.json").json()["words"]
    assert [w["text"] for w in words] == [s.text for s in truth()]
    # 0.5 s at 30 fps is frame 15, 0.9 s frame 27: each word's frames hold only that word.
    assert (words[0]["start"], words[0]["end"]) == (15, 27)
    for w in words:
        assert said_at(w["start"]) == said_at(w["end"] - 1) == w["text"]


async def _wait(page: Any, expr: str, timeout: float = 20_000) -> None:
    await page.wait_for_function(expr, timeout=timeout)


def test_the_page_marks_the_word_under_the_playhead_and_draws_the_captions(
    tmp_path: Path,
) -> None:
    from playwright.async_api import async_playwright

    root = tmp_path / "p"
    make_talk(root, video=True)
    shots = tmp_path / "shots"
    shots.mkdir()

    async def go() -> None:
        with Session(root) as session:
            workspace = Workspace(root, session)
            await workspace.start_jobs(session.project)
            placed = await workspace.call("captions.place", {})
            server = await start_preview(session, workspace, port=0)
            assert workspace.events is not None
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    await _wait(page, f"{ROOT}.dataset.state === 'ready'")
                    await _wait(page, f"{ROOT}.dataset.events === 'open'")
                    await _wait(page, f"{ROOT}.dataset.words === '13'")
                    # "talk" is said from 4.7 s to 5.1 s: frames 141-152; 30 is between words.
                    for frame in (16, 141, 150, 30, 200, 100):
                        await workspace.events.publish("playback", "seek", {"frame": frame})
                        await _wait(page, f"{ROOT}.dataset.frame === '{frame}'")
                        want = said_at(frame)
                        await _wait(page, f"{ROOT}.dataset.word === '{want}'")
                        marked = await page.locator("#words mark").all_text_contents()
                        assert marked == ([want] if want else []), (frame, marked)
                    assert said_at(141) == "talk" and said_at(30) == ""
                    # The caption clip under the playhead is in the picture, in its words.
                    first = caption_clips(session.project.tracks)[0]
                    assert first.text is not None
                    clip = page.locator(f'[data-clip="{first.id}"]')
                    await workspace.events.publish("playback", "seek", {"frame": 141})
                    await _wait(page, f"{ROOT}.dataset.frame === '141'")
                    assert await clip.count() == 1
                    assert (await clip.inner_text()).strip() == first.text.text
                    await page.wait_for_timeout(300)
                    await page.screenshot(path=str(shots / "words.png"))
                    # Cut the first four words (frames 15-81: "so" starts at 0.5 s, "are" ends
                    # at 2.7 s): "talk" is said 66 frames earlier.
                    view = (await workspace.call("transcript.view", {}))["view"]
                    cut = view.replace("so today we are ", "")
                    out = await workspace.call(
                        "tool",
                        {"name": "transcript_cut", "arguments": {"view": cut}, "apply": True},
                    )
                    assert out.get("applied"), out
                    moved = 141 - 66
                    await _wait(page, f"{ROOT}.dataset.frames === '{270 - 66}'")
                    await workspace.events.publish("playback", "seek", {"frame": moved})
                    await _wait(page, f"{ROOT}.dataset.frame === '{moved}'")
                    await _wait(page, f"{ROOT}.dataset.word === 'talk'")
                    await browser.close()
            finally:
                await server.stop()
                await workspace.close()
        assert placed["cues"] >= 2

    asyncio.run(go())
    assert (shots / "words.png").stat().st_size > 10_000
