"""The real page in real Chromium (Debian's, driven by Playwright; no browser download) against
the real preview server on 127.0.0.1: the token gate, seeks from the engine side landing on
exactly that frame, and an edit in the session appearing without a reload."""

from __future__ import annotations

import asyncio
import random
import shutil
import urllib.request
from pathlib import Path

import pytest

from engine.jobs import store as jobs_store
from engine.ops import Blade
from engine.session import Session
from engine.workspace import Workspace
from tests import chromium
from tui.serve_cli import start_preview

pytestmark = [
    pytest.mark.timeout(180),
]


async def _no_jobs_left(workspace: Workspace, timeout: float = 120.0) -> None:
    assert workspace.db is not None
    db = workspace.db
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        counts = await db.read(jobs_store.counts)
        if not counts.get("queued") and not counts.get("running"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"derivative jobs still going after {timeout} s: {counts}")


async def _wait(page: object, expr: str, timeout: float = 20_000) -> None:
    await page.wait_for_function(expr, timeout=timeout)  # type: ignore[attr-defined]


def test_the_page_follows_the_engine(demo_dir: Path, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    async def go() -> None:
        with Session(demo_dir) as session:
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            server = await start_preview(session, workspace, port=0)
            assert workspace.events is not None
            try:
                base = server.url.split("?")[0]
                # Without the token: refused, and the page never loads.
                with pytest.raises(urllib.error.HTTPError) as refused:
                    await asyncio.to_thread(urllib.request.urlopen, base)
                assert refused.value.code == 401

                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    assert "token=" not in page.url  # traded for the cookie
                    await _wait(page, "document.getElementById('root').dataset.state === 'ready'")
                    await _wait(page, "document.getElementById('root').dataset.events === 'open'")

                    # Seeks from the engine side, at random frames: the page shows exactly them.
                    rng = random.Random(7)
                    for frame in [rng.randrange(0, 330) for _ in range(8)] + [0, 329]:
                        await workspace.events.publish("playback", "seek", {"frame": frame})
                        await _wait(
                            page, f"document.getElementById('root').dataset.frame === '{frame}'"
                        )
                    await page.screenshot(path=str(tmp_path / "seek.png"))
                    await workspace.events.publish("playback", "seek", {"frame": 100})
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
                await workspace.close()

    asyncio.run(go())
    assert (tmp_path / "seek.png").stat().st_size > 10_000


def test_a_seek_that_arrives_while_the_project_is_loading_is_not_lost(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The event stream can open before project.json has arrived, so the Player does not exist
    yet when the terminal's seek comes; the page keeps it and the Player starts there. It then
    says hello with the frame it shows."""
    from playwright.async_api import async_playwright

    async def go() -> None:
        with Session(demo_dir) as session:
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            hellos: list[dict[str, object]] = []

            async def watch() -> None:
                assert workspace.events is not None
                async for event in workspace.events.subscribe(topics=["playback"]):
                    if event.kind == "shown" and event.data.get("hello"):
                        hellos.append(event.data)

            watcher = asyncio.ensure_future(watch())
            server = await start_preview(session, workspace, port=0)
            assert workspace.events is not None
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    release = asyncio.Event()

                    async def hold(route: object) -> None:
                        await release.wait()
                        await route.continue_()  # type: ignore[attr-defined]

                    await page.route("**/project.json", hold)
                    await page.goto(server.url)
                    root = "document.getElementById('root')"
                    await _wait(page, f"{root}.dataset.events === 'open'")
                    assert await page.evaluate(f"{root}.dataset.state") == "loading"
                    await workspace.events.publish(
                        "playback", "seek", {"frame": 77, "from": "editor"}
                    )
                    await _wait(page, f"{root}.dataset.eventId !== undefined")
                    release.set()
                    await _wait(page, f"{root}.dataset.state === 'ready'")
                    await _wait(page, f"{root}.dataset.frame === '77'")
                    for _ in range(100):
                        if hellos:
                            break
                        await asyncio.sleep(0.05)
                    assert hellos == [{"frame": 77, "from": "page", "hello": True}]
                    await browser.close()
            finally:
                watcher.cancel()
                await server.stop()
                await workspace.close()

    asyncio.run(go())


GOOD = """
import { AbsoluteFill, useCurrentFrame } from "remotion";

type Props = { greeting: string };

export default function Hello({ greeting }: Props) {
  const frame: number = useCurrentFrame();
  return (
    <AbsoluteFill style={{ justifyContent: "center", alignItems: "center" }}>
      <div id="remotion-hello" style={{ fontSize: 96, color: "white", background: "#205" }}>
        {greeting} at {frame}
      </div>
    </AbsoluteFill>
  );
}
"""

BROKEN = "export default function Broken( { return <div>; }"


def add_remotion_assets(root: Path, manifests: dict[str, str | None], greeting: str) -> None:
    """Remotion assets by id (named after it) into the project at ``root``, each with a
    manifest of that TSX source and ``{"greeting": greeting}`` (None: no manifest written)."""
    import json

    import msgspec

    from engine.model import Asset
    from engine.projectdir import ProjectDir

    pd = ProjectDir(root)
    with pd.writer("test"):
        p = pd.load()
        extra = tuple(Asset(id=i, kind="remotion", name=i) for i in manifests)
        pd.save(msgspec.structs.replace(p, assets=p.assets + extra, next_id=92))
    for asset_id, source in manifests.items():
        folder = root / "remotion" / asset_id
        folder.mkdir(parents=True)
        if source is not None:
            (folder / "manifest.json").write_text(
                json.dumps({"source": source, "props": {"greeting": greeting}})
            )


def test_remotion_clips_compile_in_the_page_and_a_broken_one_shows_its_overlay(
    demo_dir: Path, tmp_path: Path
) -> None:
    """Two Remotion clips over the demo: one compiles and renders with its props, the other
    has a syntax error and shows an overlay naming it, while the video underneath still
    plays."""

    from playwright.async_api import async_playwright

    from engine.ops import Overwrite

    add_remotion_assets(demo_dir, {"a_90": GOOD, "a_91": BROKEN}, "hello from remotion")

    async def go() -> None:
        with Session(demo_dir) as session:
            session.apply(Overwrite(asset_id="a_90", at=0, track="V2", duration=60))
            session.apply(Overwrite(asset_id="a_91", at=90, track="V2", duration=60))
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            server = await start_preview(session, workspace, port=0)
            assert workspace.events is not None
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    await _wait(page, "document.getElementById('root').dataset.events === 'open'")
                    await workspace.events.publish("playback", "seek", {"frame": 30})
                    await _wait(page, "!!document.getElementById('remotion-hello')")
                    text = await page.inner_text("#remotion-hello")
                    assert text == "hello from remotion at 30"
                    await page.screenshot(path=str(tmp_path / "remotion-good.png"))
                    await workspace.events.publish("playback", "seek", {"frame": 100})
                    await _wait(page, "!!document.querySelector('[data-clip-error]')")
                    overlay = await page.inner_text("[data-clip-error]")
                    assert overlay.startswith("Remotion clip c_") and "Unexpected" in overlay
                    # The pattern video underneath is still there and the Player still works.
                    assert await page.locator("video").count() >= 1
                    await workspace.events.publish("playback", "seek", {"frame": 200})
                    await _wait(page, "document.getElementById('root').dataset.frame === '200'")
                    await workspace.events.publish("playback", "seek", {"frame": 100})
                    await _wait(page, "!!document.querySelector('[data-clip-error]')")
                    await page.screenshot(path=str(tmp_path / "remotion-broken.png"))
                    await browser.close()
            finally:
                await server.stop()
                await workspace.close()

    asyncio.run(go())


def _remotion_source(label: str) -> str:
    """A clip that shows ``label``, its greeting and the frame, in ``#remotion-hello``."""
    return GOOD.replace("{greeting} at {frame}", label + ": {greeting} at {frame}")


RUNTIME_BROKEN = """
export default function Throws() {
  throw new Error("clip exploded at runtime");
}
"""


def test_a_remotion_clip_recompiles_in_place_when_its_manifest_changes(
    demo_dir: Path, tmp_path: Path
) -> None:
    """The manifest rewritten on disk plus its file event (as the editor's save publishes):
    the page fetches it again and shows the new code at the same frame, without a reload and
    without fetching project.json; broken code shows the overlay, fixed code removes it. An
    applied changeset's file event does the same (its trigger publishes it), and reverting it
    brings the earlier code back. No delayRender handle is left behind."""
    import hashlib
    import json

    from playwright.async_api import async_playwright

    from engine.changes.ledger import Ledger
    from engine.events import publish_file_changed
    from engine.ops import Overwrite

    add_remotion_assets(demo_dir, {"a_90": None}, "hello from remotion")
    rel = "remotion/a_90/manifest.json"
    manifest = demo_dir / rel

    def manifest_text(source: str) -> str:
        return json.dumps({"source": source, "props": {"greeting": "hello from remotion"}})

    def write(source: str) -> str:
        data = manifest_text(source).encode()
        manifest.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    write(_remotion_source("v1"))
    root = "document.getElementById('root')"
    hello = "document.getElementById('remotion-hello')"
    overlay = "document.querySelector('[data-clip-error]')"

    async def go() -> None:
        with Session(demo_dir) as session:
            session.apply(Overwrite(asset_id="a_90", at=0, track="V2", duration=60))
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            # The page reloads the project when a proxy is done: let the derivatives finish
            # first, so every project.json fetch counted below is one this test caused.
            await _no_jobs_left(workspace)
            server = await start_preview(session, workspace, port=0)
            events = workspace.events
            assert events is not None
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    fetched: list[str] = []
                    page.on("request", lambda r: fetched.append(r.url.split("?")[0]))

                    def count(name: str) -> int:
                        return sum(1 for url in fetched if url.endswith("/" + name))

                    await page.goto(server.url)
                    await _wait(page, f"{root}.dataset.events === 'open'")
                    await events.publish("playback", "seek", {"frame": 30})
                    await _wait(page, f"{root}.dataset.frame === '30'")
                    await _wait(page, f"{hello}?.textContent === 'v1: hello from remotion at 30'")
                    await page.evaluate("window.__reelcut_marker = 1")
                    projects, manifests = count("project.json"), count("manifest.json")
                    assert manifests == 1

                    async def change(source: str, expect: str) -> None:
                        digest = write(source)
                        await publish_file_changed(events, rel, digest, "editor")
                        await _wait(page, expect)

                    # New code: the new text, at the same frame, in the same page.
                    await change(
                        _remotion_source("v2"),
                        f"{hello}?.textContent === 'v2: hello from remotion at 30'",
                    )
                    assert count("manifest.json") == manifests + 1
                    # Broken code: the overlay instead of the clip.
                    await change(BROKEN, f"!!{overlay} && !{hello}")
                    text = await page.inner_text("[data-clip-error]")
                    assert text.startswith("Remotion clip c_") and "Unexpected" in text
                    # Fixed: the overlay is gone (code seen before: from the cache).
                    await change(
                        _remotion_source("v2"),
                        f"!{overlay} && {hello}?.textContent === 'v2: hello from remotion at 30'",
                    )
                    # Code that throws while rendering: the boundary's overlay; fixed: gone.
                    await change(RUNTIME_BROKEN, f"!!{overlay} && !{hello}")
                    assert "clip exploded at runtime" in await page.inner_text("[data-clip-error]")
                    await change(
                        _remotion_source("v3"),
                        f"!{overlay} && {hello}?.textContent === 'v3: hello from remotion at 30'",
                    )
                    # An event for another file does not touch this clip.
                    before = count("manifest.json")
                    await publish_file_changed(events, "remotion/a_99/manifest.json", None)
                    await publish_file_changed(events, rel, write(_remotion_source("v4")))
                    await _wait(page, f"{hello}?.textContent === 'v4: hello from remotion at 30'")
                    assert count("manifest.json") == before + 1

                    # An agent's changeset: applied, then reverted.
                    ledger = await Ledger.open(demo_dir)
                    try:
                        cs = await ledger.store.create("agent", "retitle the clip")
                        await ledger.propose(cs, rel, manifest_text(_remotion_source("agent")))
                        await ledger.mark_ready(cs)
                        await ledger.apply(cs)
                        await _wait(
                            page, f"{hello}?.textContent === 'agent: hello from remotion at 30'"
                        )
                        await ledger.revert(cs)
                        await _wait(
                            page, f"{hello}?.textContent === 'v4: hello from remotion at 30'"
                        )
                    finally:
                        await ledger.close()

                    assert await page.evaluate(f"{root}.dataset.frame") == "30"
                    assert await page.evaluate("window.__reelcut_marker") == 1  # same page
                    assert count("project.json") == projects  # no project reload
                    # Every delayRender was continued: none is left holding a render.
                    assert await page.evaluate("window.remotion_delayRenderHandles.length") == 0
                    assert await page.evaluate("window.remotion_renderReady") is True

                    # A file event for project.json does reload the project.
                    await publish_file_changed(
                        events,
                        "project.json",
                        hashlib.sha256((demo_dir / "project.json").read_bytes()).hexdigest(),
                    )
                    await _wait(page, f"{root}.dataset.state === 'ready'")
                    for _ in range(200):
                        if count("project.json") > projects:
                            break
                        await page.wait_for_timeout(25)
                    assert count("project.json") == projects + 1
                    await page.screenshot(path=str(tmp_path / "remotion-live.png"))
                    await browser.close()
            finally:
                await server.stop()
                await workspace.close()

    asyncio.run(go())


def test_an_open_tab_survives_the_editor_quitting_and_coming_back(
    demo_dir: Path, demo_master: Path, tmp_path: Path
) -> None:
    """The project's token and port are kept in its state folder: after the editor quits the
    tab shows an overlay, and when the project is opened again it reconnects by itself (same
    URL, no reload) and follows the new session. Another project's server, in the same
    browser, neither opens this one with its token nor disturbs its cookie."""
    from playwright.async_api import async_playwright

    other = tmp_path / "other"
    shutil.copytree(demo_master, other)

    async def serve(root: Path) -> tuple[Session, Workspace, object]:
        session = Session(root)
        workspace = Workspace(root)
        await workspace.start_jobs(session.project)
        return session, workspace, await start_preview(session, workspace)

    async def stop(session: Session, workspace: Workspace, server: object) -> None:
        await server.stop()  # type: ignore[attr-defined]
        await workspace.close()
        session.close()

    async def go() -> None:
        async with async_playwright() as pw:
            browser = await chromium.launch(pw)
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            first = await serve(demo_dir)
            url = first[2].url  # type: ignore[attr-defined]
            await page.goto(url)
            await _wait(page, "document.getElementById('root').dataset.events === 'open'")
            await page.evaluate("window.__same_page = 1")

            # Another project, served at the same time and opened in the same browser.
            b = await serve(other)
            b_url = b[2].url  # type: ignore[attr-defined]
            assert b_url.split("?")[0] != url.split("?")[0]
            b_page = await context.new_page()
            await b_page.goto(b_url)
            await _wait(b_page, "document.getElementById('root').dataset.state === 'ready'")
            wrong = url.split("?")[0] + "?token=" + b_url.split("token=")[1]
            stranger = await browser.new_context()  # without this project's cookie
            refused = await (await stranger.new_page()).goto(wrong)
            assert refused is not None and refused.status == 401
            await stranger.close()

            await stop(*first)
            await _wait(page, "!!document.getElementById('offline')")
            await page.screenshot(path=str(tmp_path / "offline.png"))

            second = await serve(demo_dir)
            try:
                assert second[2].url == url  # type: ignore[attr-defined]
                await _wait(page, "!document.getElementById('offline')", timeout=30_000)
                await _wait(page, "document.getElementById('root').dataset.events === 'open'")
                events = second[1].events
                assert events is not None
                await events.publish("playback", "seek", {"frame": 123, "from": "editor"})
                await _wait(page, "document.getElementById('root').dataset.frame === '123'")
                assert await page.evaluate("window.__same_page") == 1  # never reloaded
                await page.screenshot(path=str(tmp_path / "back.png"))
                # The other project's tab still has its own cookie and follows its own server.
                b_events = b[1].events
                assert b_events is not None
                await b_events.publish("playback", "seek", {"frame": 45, "from": "editor"})
                await _wait(b_page, "document.getElementById('root').dataset.frame === '45'")
            finally:
                await stop(*second)
                await stop(*b)
                await browser.close()

    asyncio.run(go())


def test_a_remotion_clip_renders_the_frame_of_the_timeline_it_is_at(
    demo_dir: Path, tmp_path: Path
) -> None:
    """Its useCurrentFrame() is the timeline frame counted from the clip's start plus its
    in-point: after a blade the right half goes on from where the left half stopped (it used
    to start again at 0). Checked on the text the clip renders, at random frames."""

    from playwright.async_api import async_playwright

    from engine.ops import Overwrite

    add_remotion_assets(demo_dir, {"a_90": GOOD}, "hi")

    async def go() -> None:
        with Session(demo_dir) as session:
            session.apply(Overwrite(asset_id="a_90", at=90, track="V2", duration=60))
            session.apply(Blade(at=102))
            halves = sorted(
                (c for t in session.project.tracks for c in t.clips if c.asset_id == "a_90"),
                key=lambda c: c.start,
            )
            assert [(c.start, c.source_in) for c in halves] == [(90, 0), (102, 12)]
            workspace = Workspace(demo_dir)
            await workspace.start_jobs(session.project)
            server = await start_preview(session, workspace, port=0)
            assert workspace.events is not None
            try:
                async with async_playwright() as pw:
                    browser = await chromium.launch(pw)
                    page = await browser.new_page(viewport={"width": 1280, "height": 900})
                    await page.goto(server.url)
                    await _wait(page, "document.getElementById('root').dataset.events === 'open'")
                    rng = random.Random(3)
                    frames = [90, 101, 102, 149] + [rng.randrange(90, 150) for _ in range(20)]
                    for n in frames:
                        clip = halves[0] if n < 102 else halves[1]
                        want = n - clip.start + clip.source_in
                        await workspace.events.publish("playback", "seek", {"frame": n})
                        await _wait(
                            page, f"document.getElementById('root').dataset.frame === '{n}'"
                        )
                        await _wait(
                            page,
                            "(document.getElementById('remotion-hello') || {}).textContent"
                            f" === 'hi at {want}'",
                        )
                    await browser.close()
            finally:
                await server.stop()
                await workspace.close()

    asyncio.run(go())
