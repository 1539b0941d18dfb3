"""A cancelled export stops the Remotion renderer (`engine.export.remotion.Stopper`): the
clips are drawn on a worker thread, which cancelling the export's task cannot stop, so node and
its Chromium went on drawing (a clip that never finishes a frame: until the renderer's time
limit, minutes) after the job had ended. The job also names the stage while they are drawn.

Real parts: the real renderer in the system Chromium, a clip whose component never returns."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from engine.errors import ReelcutError
from engine.export import remotion
from engine.export.presets import PRESETS
from engine.export.render import Request, render
from engine.projectdir import ProjectDir
from tests.preview_web.test_export_remotion import FRAMES, build, pytestmark  # noqa: F401

SPINNING = "export default function Spin() { while (true) {} return null; }"


def renderers() -> list[str]:
    """Processes of the Remotion renderer script running now."""
    res = subprocess.run(["pgrep", "-f", str(remotion.SCRIPT)], capture_output=True, text=True)
    return res.stdout.split()


def test_cancelling_the_export_stops_the_renderer_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "p"
    build(root, tmp_path, SPINNING)
    project = ProjectDir(root).load()
    movie = tmp_path / "out.mp4"
    stages: list[str] = []
    assert renderers() == [], "another renderer is running"

    async def go() -> float:
        req = Request(out=str(movie), preset="h264", first=0, last=FRAMES)
        task = asyncio.create_task(
            render(root, project, req, PRESETS["h264"], on_progress=lambda f, s: stages.append(s))
        )
        deadline = time.monotonic() + 120
        while not renderers():
            assert time.monotonic() < deadline, "the renderer never started"
            assert not task.done(), task
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # Chromium is up and spinning in the clip
        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        took = time.monotonic() - cancelled
        # Checked here, in the loop: `asyncio.run` would wait for the worker thread at its
        # end, so a renderer left running would have ended by then all the same.
        gone = time.monotonic() + 10
        while renderers() and time.monotonic() < gone:
            await asyncio.sleep(0.1)
        assert renderers() == [], "the renderer went on after the export was cancelled"
        return took

    took = asyncio.run(go())
    assert stages[:1] == ["drawing Remotion clips"]
    assert took < 30, f"the cancel waited {took:.1f} s"
    assert not movie.exists()


def test_a_stop_before_the_renderer_starts_stops_it_at_once() -> None:
    stopper = remotion.Stopper()
    stopper.stop()
    started = time.monotonic()
    with pytest.raises(ReelcutError, match="cancelled"):
        remotion._run(["sleep", "60"], 100, stopper)
    assert time.monotonic() - started < 5
