"""Rendering an export: the job that runs the plan into a temp file and puts it in place.

The output is written under a temp name in the output's folder (`engine.fsio.durable`'s one
scheme), synced, and renamed over the name asked for only when ffmpeg finished: a cancelled or
failed export leaves no half file under that name (and no temp: it is removed however the
render ends). An export is a job of kind ``export`` on the one queue, with ffmpeg's progress as
the job's; cancelling the job stops ffmpeg's process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError, UsageError
from engine.events import EventStream
from engine.export import chunks, lossless, remotion
from engine.export.graph import Plan, plan
from engine.export.presets import PRESETS, Preset, preset_for
from engine.fsio.durable import fsync_dir, temp_path
from engine.jobs.runner import Handler, JobContext, JobFailed
from engine.media.ffmpeg import run_async
from engine.model import Project
from engine.ops.captions import without_captions
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB
from engine.timebase import parse_position

KIND = "export"
RESERVED = (".reelcut", "assets", "proxies", "previews")
OPTIONS = ("chunks", "lossless")
"""Payload keys beside the `Request`: how the export is made, not what it holds."""


@dataclass(frozen=True)
class Request:
    """What to export: where to, how, and which frames (``last`` exclusive)."""

    out: str
    preset: str
    first: int
    last: int
    captions: bool = True
    """False: the captions track is left out of the picture (``--no-captions``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "preset": self.preset,
            "first": self.first,
            "last": self.last,
            "captions": self.captions,
        }


def request(
    root: Path,
    project: Project,
    out: Path,
    *,
    preset: str | None,
    span: str | None,
    marks: tuple[int | None, int | None] = (None, None),
    force: bool = False,
    captions: bool = True,
) -> Request:
    """Check an export's arguments before anything is queued: one line for each mistake."""
    out = Path(out).absolute()
    chosen = preset_for(out.suffix, preset)
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder; export into one that exists")
    if out.is_dir():
        raise UsageError(f"{out} is a folder; name the file to write")
    inside = _inside(root, out)
    if inside is not None and (inside.parts[:1] and inside.parts[0] in RESERVED):
        raise UsageError(f"{inside} is reelcut's own; export outside {inside.parts[0]}/")
    if inside is not None and inside.as_posix() == "project.json":
        raise UsageError("that would overwrite project.json; choose another name")
    if out.exists() and not force:
        raise UsageError(f"{out} exists; --force replaces it (only once the export is whole)")
    first, last = _span(project, span, marks)
    return Request(str(out), chosen.name, first, last, captions)


def options(root: Path, project: Project, req: Request, params: dict[str, Any]) -> dict[str, Any]:
    """How the export is made (`OPTIONS`) from a request's ``chunks`` and ``lossless``,
    checked against ``req``: one line for each mistake (or for why the timeline cannot be
    copied), before anything is queued. Blocking: ``--lossless`` probes the sources."""
    n = params.get("chunks")
    made: dict[str, Any] = {}
    if params.get("lossless"):
        if n is not None and int(n) != 1:
            raise UsageError("--lossless copies the source's frames; it is not made in chunks")
        lossless.check(root, project, PRESETS[req.preset], req.first, req.last)
        made["lossless"] = True
    if n is not None:
        chunks.check(PRESETS[req.preset], req.first, req.last, int(n))
        if int(n) > 1:
            made["chunks"] = int(n)
    return made


def _inside(root: Path, out: Path) -> Path | None:
    try:
        return out.resolve().relative_to(root.resolve())
    except ValueError:
        return None


def _span(
    project: Project, span: str | None, marks: tuple[int | None, int | None]
) -> tuple[int, int]:
    end = project.duration
    if end == 0:
        raise UsageError("the timeline is empty: nothing to export")
    if span is None:
        return 0, end
    if span == "marks":
        mark_in, mark_out = marks
        if mark_in is None and mark_out is None:
            raise UsageError("--range marks needs an in or out mark (I and O in the editor)")
        first = mark_in or 0
        last = (mark_out + 1) if mark_out is not None else end  # marks are inclusive
        return _checked(first, last, end)
    a, sep, b = span.partition("-") if span.count("-") == 1 else ("", "", "")
    if not sep:
        raise UsageError(
            f"--range {span!r}: give A-B (frames or timecodes, B exclusive) or 'marks'"
        )
    try:
        first = parse_position(a.strip(), project.rate) if a.strip() else 0
        last = parse_position(b.strip(), project.rate) if b.strip() else end
    except (ValueError, ReelcutError) as exc:
        raise UsageError(f"--range {span!r}: {exc}") from None
    return _checked(first, last, end)


def _checked(first: int, last: int, end: int) -> tuple[int, int]:
    if not 0 <= first < last:
        raise UsageError(f"the range {first}-{last} holds no frame (the end is exclusive)")
    if first >= end:
        raise UsageError(f"the range starts at {first}, after the timeline's end ({end})")
    return first, last


def handlers(db: AsyncDB | None = None, events: EventStream | None = None) -> dict[str, Handler]:
    """The export job's handler and its chunks' (`engine.export.chunks`); a chunked export
    queues its chunk jobs through ``db`` and ``events`` (without them it is refused)."""
    return {
        KIND: functools.partial(_export, db=db, events=events),
        chunks.KIND: chunks.render_chunk,
    }


def limits() -> dict[str, int]:
    # ffmpeg uses every core for one export; chunk jobs run side by side (their filter graphs
    # are single-threaded, which is what the chunks win back)
    return {KIND: 1, chunks.KIND: chunks.workers()}


async def _export(
    ctx: JobContext, *, db: AsyncDB | None = None, events: EventStream | None = None
) -> dict[str, Any]:
    try:
        payload = dict(ctx.job.payload)
        how = {k: payload.pop(k) for k in OPTIONS if k in payload}
        req = Request(**payload)
        preset = PRESETS[req.preset]
    except (TypeError, KeyError) as exc:
        raise JobFailed(f"not an export job: {exc}") from None
    project = await asyncio.to_thread(ProjectDir(ctx.root).load)
    if not req.captions:
        project = without_captions(project)
    out = Path(req.out)
    if how.get("lossless"):
        return await produce(
            out,
            lambda tmp: lossless.render(
                ctx, ctx.root, project, preset, req.first, req.last, out, tmp
            ),
        )
    n = int(how.get("chunks") or 1)
    if n > 1:
        if db is None or events is None:
            raise JobFailed("this worker cannot queue chunk jobs; export with reelcut export")
        return await produce(
            out,
            lambda tmp: chunks.render_chunked(
                ctx, db, events, project, out, tmp, preset, req.first, req.last, n
            ),
        )
    await render(ctx.root, project, req, preset, on_progress=ctx.report)
    return {"out": req.out, "frames": req.last - req.first}


async def produce(out: Path, make: Callable[[Path], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """``make(tmp)`` writes the export under a temp name beside ``out``; it is put in place
    only when that returned (the module's docstring), and the temp never outlives this."""
    tmp = temp_path(out)
    try:
        result = await make(tmp)
        await asyncio.to_thread(_install, tmp, out)
        return result
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


async def render(
    root: Path,
    project: Project,
    req: Request,
    preset: Preset,
    *,
    on_progress: Any = None,
) -> None:
    """Render ``req`` to its file (see the module's docstring)."""
    out = Path(req.out)
    tmp = temp_path(out)
    with tempfile.TemporaryDirectory(prefix="reelcut-export-") as scratch:
        texts = Path(scratch)
        job = await _plan(root, project, preset, req, texts, on_progress)
        for name, text in job.text_files.items():
            (texts / name).write_text(text, encoding="utf-8")
        args = [
            "ffmpeg",
            *job.args,
            *preset.codec_args,
            "-map_metadata",
            "-1",
            "-f",
            preset.format,
            "-y",
            str(tmp),
        ]
        try:
            await run_async(
                args,
                what=f"export to {out.name}",
                timeout=600 + 20 * job.seconds,
                show_as={str(tmp): out.name},
                duration_s=job.seconds,
                on_progress=(lambda f: on_progress(f, "rendering")) if on_progress else None,
            )
            await asyncio.to_thread(_install, tmp, out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


async def _plan(
    root: Path, project: Project, preset: Preset, req: Request, texts: Path, on_progress: Any
) -> Plan:
    """`graph.plan` on a worker thread. It draws the Remotion clips first (a browser renders
    them: said as the job's stage); a cancel stops that renderer and waits for the thread, so
    nothing is left drawing into the scratch folder about to be removed."""
    if on_progress and not preset.audio_only and remotion.parts(project, req.first, req.last):
        on_progress(0.0, "drawing Remotion clips")
    stopper = remotion.Stopper()
    work = asyncio.ensure_future(
        asyncio.to_thread(plan, root, project, preset, req.first, req.last, texts, stopper)
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        stopper.stop()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(work, 30)
        raise


def _install(tmp: Path, out: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, out)
    fsync_dir(out.parent)
