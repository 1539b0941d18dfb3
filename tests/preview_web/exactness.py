"""Seek the real page through the engine's event stream and check the picture.

`build_project` makes a project of bar-coded sources (`framecode`) with clips cut, slipped and
ripple-deleted into place on two video tracks; `measure` opens it in real Chromium against the
real preview server, seeks to each asked frame the way the editor does (a ``playback`` ``seek``
event), waits until the page says it shows that frame, then decodes every video clip under
the playhead from a canvas of its ``<video>`` and compares it with the source frame the
timeline must show there. Shared by `test_frame_exact.py` and `bench/bench_preview.py`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.jobs import store as jobs_store
from engine.media.importer import import_files
from engine.model import Clip, Project, new_project
from engine.ops import AddTrack, Blade, Overwrite, RippleDelete, Slip
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.shown import layers_at
from engine.timebase import parse_rate
from engine.workspace import Workspace
from tests import chromium
from tests.preview_web import framecode
from tui.serve_cli import start_preview

ROOT = "document.getElementById('root')"
CLIP_FRAMES = 150
VIDEOS_JS = """() => [...document.querySelectorAll('video')].map((v) => ({
  clip: v.dataset.clip, asked: v.dataset.asked, presented: v.dataset.presented,
  time: v.currentTime, seeking: v.seeking, ready: v.readyState}))"""


@dataclass
class Result:
    seeks: int = 0
    attribute_exact: int = 0
    pixel_exact: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    attribute_misses: list[str] = field(default_factory=list)


@dataclass
class Built:
    root: Path
    sources: dict[str, framecode.SourceFrames]  # asset id -> its frames
    labels: dict[str, str]  # asset id -> what it is ("25 fps", "vfr")


def build_project(root: Path, project_rate: str, sources: list[str], tmp: Path) -> Built:
    """A project at ``project_rate`` with one clip per source (``"25"``, ``"30000/1001"``,
    ``"vfr"``) one after another on V1 (with gaps), the first source again on V2 over the
    second clip, then a blade, a slip and a ripple delete so in-points are not zero."""
    rate = parse_rate(project_rate)
    ProjectDir.create(root, new_project("exact", rate=rate, width=1280, height=720))
    files = []
    for i, src in enumerate(sources):
        path = tmp / f"src{i}_{src.replace('/', '_')}.mp4"
        if src == "vfr":
            framecode.make_vfr(path, seconds=7)
        else:
            framecode.make_cfr(path, src, seconds=7)
        files.append(path)
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), files, place=False)
        pd.save(project)
    assert all(r.error is None for r in results), [r.error for r in results]
    asset_ids = [r.assets[0] for r in results]
    built = Built(root, {}, {})
    for asset_id, path, src in zip(asset_ids, files, sources, strict=True):
        built.sources[asset_id] = framecode.probe(path, variable=src == "vfr")
        built.labels[asset_id] = src if src == "vfr" else f"{src} fps"
    with Session(root) as session:
        at = 0
        for i, asset_id in enumerate(asset_ids):
            session.apply(
                Overwrite(
                    asset_id=asset_id,
                    at=at,
                    track="V1",
                    source_in=7 + 3 * i,
                    duration=CLIP_FRAMES,
                    with_audio=False,
                )
            )
            at += CLIP_FRAMES + 5
        v1 = _video_clips(session.project, "V1")
        # A blade in the first clip and a slip of its right half; a ripple delete of a piece
        # of the last clip's left half: in-points everywhere, none of them zero.
        first = v1[0]
        session.apply(Blade(at=first.start + 40, clip_ids=(first.id,)))
        right = [c for c in _video_clips(session.project, "V1") if c.start == first.start + 40]
        session.apply(Slip(clip_id=right[0].id, by=9))
        last = v1[-1]
        session.apply(Blade(at=last.start + 20, clip_ids=(last.id,)))
        piece = [c for c in _video_clips(session.project, "V1") if c.start == last.start + 20]
        session.apply(Blade(at=last.start + 35, clip_ids=(piece[0].id,)))
        session.apply(RippleDelete(clip_ids=(piece[0].id,)))
        if len(v1) > 1:
            second = v1[1]
            session.apply(AddTrack(kind="video", name="V2", index=0))
            session.apply(
                Overwrite(
                    asset_id=asset_ids[0],
                    at=second.start + 30,
                    track="V2",
                    source_in=60,
                    duration=50,
                    with_audio=False,
                )
            )
    return built


def _video_clips(project: Project, track: str) -> list[Clip]:
    (t,) = [t for t in project.tracks if t.name == track]
    return sorted(t.clips, key=lambda c: c.start)


def clips_at(project: Project, frame: int) -> list[Clip]:
    """The media clips on video tracks under ``frame``, front first: the rule the export and
    the terminal viewer pick their pictures by (`engine.shown.layers_at`)."""
    return [layer.clip for layer in layers_at(project, frame) if layer.clip.kind == "media"]


def frames_to_check(project: Project, per_source: int, seed: int) -> list[int]:
    """Every clip's first and last frame, the timeline's first and last, and random frames
    inside the video clips, ``per_source`` seeks per source asset in all, shuffled."""
    import random

    rng = random.Random(seed)
    clips = [c for t in project.tracks if t.kind == "video" for c in t.clips if c.kind == "media"]
    by_asset: dict[str, list[Clip]] = {}
    for c in clips:
        by_asset.setdefault(c.asset_id or "", []).append(c)
    frames: list[int] = [0, project.duration - 1]
    for group in by_asset.values():
        edges = [f for c in group for f in (c.start, c.start + c.duration - 1)]
        frames += edges
        for _ in range(max(0, per_source - len(edges))):
            c = rng.choice(group)
            frames.append(c.start + rng.randrange(c.duration))
    rng.shuffle(frames)
    return frames


async def measure(
    built: Built, per_source: int, seed: int = 1, shots: Path | None = None
) -> Result:
    """Seek the page to the frames of `frames_to_check` and compare pictures."""
    from playwright.async_api import async_playwright

    result = Result()
    with Session(built.root) as session:
        workspace = Workspace(built.root)
        await workspace.start_jobs(session.project)
        await _no_jobs_left(workspace)
        server = await start_preview(session, workspace, port=0)
        events = workspace.events
        assert events is not None
        project = session.project
        rate = project.rate.fraction
        try:
            async with async_playwright() as pw:
                browser = await chromium.launch(pw)
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await page.goto(server.url)
                await page.wait_for_function(f"{ROOT}.dataset.state === 'ready'")
                await page.wait_for_function(f"{ROOT}.dataset.events === 'open'")
                await page.wait_for_function(
                    "document.querySelectorAll('.readout .warn').length === 0"
                )  # every proxy is there: the page plays them, not the originals
                for n in frames_to_check(project, per_source, seed):
                    began = time.perf_counter()
                    await events.publish("playback", "seek", {"frame": n, "from": "editor"})
                    await page.wait_for_function(
                        f"{ROOT}.dataset.frame === '{n}' && {ROOT}.dataset.readoutFrame === '{n}'"
                        f" && !!{ROOT}.dataset.presented",
                        timeout=15_000,
                    )
                    result.latencies_ms.append((time.perf_counter() - began) * 1000)
                    presented = await page.evaluate(f"{ROOT}.dataset.presented")
                    result.seeks += 1
                    result.attribute_exact += presented == str(n)
                    if presented != str(n):
                        videos = await page.evaluate(VIDEOS_JS)
                        result.attribute_misses.append(
                            f"frame {n}: the page says {presented}; videos {videos}"
                        )
                    ok = True
                    for clip in clips_at(project, n):
                        assert clip.asset_id is not None
                        want = framecode.expected(
                            built.sources[clip.asset_id],
                            start=clip.start,
                            source_in=clip.source_in,
                            n=n,
                            rate=Fraction(rate),
                        )
                        got = await page.evaluate(framecode.DECODE_JS, clip.id)
                        if got != want:
                            ok = False
                            result.misses.append(
                                f"frame {n}: clip {clip.id} ({built.labels[clip.asset_id]}, "
                                f"start {clip.start}, in {clip.source_in}) shows source frame "
                                f"{got}, expected {want}; page says {presented}"
                            )
                    result.pixel_exact += ok
                    if shots is not None and not ok and len(result.misses) <= 3:
                        await page.screenshot(path=str(shots / f"miss-{n}.png"))
                await browser.close()
        finally:
            await server.stop()
            await workspace.close()
    return result


async def _no_jobs_left(workspace: Workspace, timeout: float = 180.0) -> None:
    assert workspace.db is not None
    deadline = asyncio.get_running_loop().time() + timeout
    counts: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        counts = await workspace.db.read(jobs_store.counts)
        if not counts.get("queued") and not counts.get("running"):
            assert not counts.get("failed") and not counts.get("dead"), counts
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"derivative jobs still going after {timeout} s: {counts}")
