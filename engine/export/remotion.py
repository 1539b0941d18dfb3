"""Remotion clips in an export: their frames drawn by @remotion/renderer, as transparent PNGs.

The page compiles a Remotion clip's TSX (``remotion/<asset-id>/manifest.json``: ``source`` and
``props``) and draws it over the tracks below. The export draws the same thing: one Node
process (``preview_web/web/render.mjs``) runs @remotion/renderer on the export's Remotion
bundle (``preview_web/static/render``, built by ``./dev setup`` from
``preview_web/web/src/render/root.tsx`` with the page's own clip compiler), in the system's
Chromium, with nothing downloaded and no network. Each clip's frames in the exported range, at
the project's size and rate, with its props, become ``000000.png``, ``000001.png``, ... in a
folder of the export's scratch space, and the graph lays them over the tracks below like any
layer (`engine.export.graph`).

Why PNG frames: they are the renderer's own screenshots, RGBA and lossless, so the layer is
exactly what Chromium drew, alpha and all; ffmpeg reads them as an image sequence at the
project's rate. ProRes 4444 would add a lossy encode and a colour conversion before the graph's
own, and VP9 with alpha keeps its alpha only through libvpx's decoder (ffmpeg's native one
drops it). The cost is disk space in the scratch folder for the clip's frames only.

A clip whose manifest is missing or not a manifest, or whose code does not compile or throws,
fails the export with one line naming the clip and what went wrong; the output is never
written (the caller renders into a temp name and the scratch folder goes with it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError
from engine.filechecks import check_manifest
from engine.jsoncheck import parse_json
from engine.model import Clip, Project
from engine.shown import source_frame

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "preview_web" / "web" / "render.mjs"
"""The Node program that drives @remotion/renderer (its packages in ``web/node_modules``)."""
BUNDLE = REPO / "preview_web" / "static" / "render"
"""The Remotion bundle the renderer serves (``index.html`` and ``bundle.js``)."""
SETUP = "run ./dev setup (it installs the renderer's npm packages and builds its bundle)"
START_SECONDS = 120.0
PER_FRAME_SECONDS = 5.0
"""The render's time limit: a browser's start plus this much for each frame, generous for a
shared, loaded machine (a frame takes 0.05-0.3 s here)."""


@dataclass(frozen=True)
class Part:
    """The frames of one Remotion clip an export shows: frames ``[first, first + frames)`` of
    the clip's own composition (its frame 0 is the clip's ``start``), from the export's frame
    ``at`` on."""

    clip: Clip
    first: int
    frames: int
    at: int


def parts(project: Project, first: int, last: int) -> list[Part]:
    """The Remotion clips on video tracks with frames in ``[first, last)``."""
    found = []
    for track in project.tracks:
        if track.kind != "video":
            continue
        for clip in track.clips:
            s, e = max(clip.start, first), min(clip.end, last)
            if clip.kind == "remotion" and clip.asset_id and s < e:
                found.append(Part(clip, s - clip.start, e - s, s - first))
    return found


def render(
    root: Path,
    project: Project,
    first: int,
    last: int,
    scratch: Path,
    stopper: Stopper | None = None,
) -> dict[str, Path]:
    """Draw every Remotion clip shown in ``[first, last)``: clip id -> the folder holding its
    frames there as ``%06d.png`` (the first is the export's frame ``part.at``). Blocking;
    ``stopper.stop()`` from another thread ends it (a cancelled export)."""
    todo = parts(project, first, last)
    if not todo:
        return {}
    node = shutil.which("node")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if node is None or chromium is None:
        raise ReelcutError(f"Remotion clips need node and chromium to render; {SETUP}")
    if not (BUNDLE / "index.html").is_file() or not (SCRIPT.parent / "node_modules").is_dir():
        raise ReelcutError(f"the Remotion renderer is not set up; {SETUP}")
    rate = project.rate
    clips = []
    out: dict[str, Path] = {}
    for part in todo:
        clip = part.clip
        source, props = _manifest(root, clip)
        folder = scratch / f"remotion-{clip.id}"
        folder.mkdir(parents=True, exist_ok=True)
        out[clip.id] = folder
        clips.append(
            {
                "clipId": clip.id,
                "source": source,
                "props": props,
                # The page's Sequence shifts the clip by its in-point: the component's frame
                # at the clip's start is source_in (engine.shown.source_frame's rule).
                "sourceIn": source_frame(clip, clip.start),
                "width": project.width,
                "height": project.height,
                "fps": rate.num / rate.den,
                "durationInFrames": clip.duration,
                "from": part.first,
                "to": part.first + part.frames,
                "outDir": str(folder),
            }
        )
    job = scratch / "remotion-job.json"
    job.write_text(
        json.dumps({"serveUrl": str(BUNDLE), "browserExecutable": chromium, "clips": clips}),
        encoding="utf-8",
    )
    frames = sum(p.frames for p in todo)
    _run([node, str(SCRIPT), str(job)], START_SECONDS + PER_FRAME_SECONDS * frames, stopper)
    return out


def _manifest(root: Path, clip: Clip) -> tuple[str, dict[str, object]]:
    """The clip's TSX source and props, or one line saying why it has none."""
    rel = f"remotion/{clip.asset_id}/manifest.json"
    try:
        text = (root / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReelcutError(f"Remotion clip {clip.id}: cannot read {rel} ({reason})") from None
    doc, problem = parse_json(text)
    if problem is None:
        problem = check_manifest(text, doc)
    if problem is not None:
        raise ReelcutError(f"Remotion clip {clip.id}: {rel}:{problem}")
    return doc["source"], doc.get("props") or {}


class Stopper:
    """Ends a renderer that another thread is waiting for: `engine.export.render` calls
    `stop` when the export's job is cancelled, so Chromium does not go on drawing frames
    nobody will use (the wait runs on a worker thread, which a cancelled task cannot stop)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[str]] = set()
        self.stopped = False

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            procs = list(self._procs)
        for proc in procs:
            _kill(proc)

    def started(self, proc: subprocess.Popen[str]) -> bool:
        """Track ``proc``; False (and ``proc`` killed) when the stop came first."""
        with self._lock:
            if not self.stopped:
                self._procs.add(proc)
                return True
        _kill(proc)
        return False

    def ended(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.discard(proc)


def _run(args: list[str], timeout: float, stopper: Stopper | None = None) -> None:
    """Run the renderer; its own process group, so a timeout or a stop ends Chromium with it."""
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    if stopper is not None:
        stopper.started(proc)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise ReelcutError(
            f"the Remotion renderer took more than {timeout:.0f} s; stopped"
        ) from None
    except BaseException:
        _stop(proc)
        raise
    finally:
        if stopper is not None:
            stopper.ended(proc)
    if stopper is not None and stopper.stopped:
        raise ReelcutError("the export was cancelled; the Remotion renderer was stopped")
    if proc.returncode != 0:
        said = [ln for ln in err.splitlines() if ln.startswith(("Remotion clip", "Remotion rend"))]
        tail = [ln for ln in err.splitlines() if ln.strip()][-1:]
        raise ReelcutError(
            (said or tail or [f"the Remotion renderer exited {proc.returncode}"])[-1]
        )


def _kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL to the renderer's process group (node and its Chromium)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _stop(proc: subprocess.Popen[str]) -> None:
    _kill(proc)
    proc.communicate()
