"""Chunked exports: a long render split into frame ranges, rendered as jobs in parallel and
joined with no visible or audible seam.

``reelcut export DIR OUT --chunks N`` queues one ``export`` job as usual; its handler
(`render_chunked`) writes a snapshot of the project, queues N jobs of kind ``export.chunk`` on
the same queue (one per frame range, `split`) and renders the whole range's sound itself
meanwhile. Each chunk job renders the picture of its frames, and only those (the graph of
`engine.export.graph.plan` for ``[first, last)``: timeline frame N is the same picture whichever
range holds it), encoded with the preset's video codec into a file of the output's container,
every chunk starting on a keyframe. The runner runs as many chunk jobs at once as its
``export.chunk`` limit (`workers`), so N chunks take about N / workers chunk-times.

The join is one ffmpeg pass: the chunks through the concat demuxer with the video stream copied
(each chunk holds exactly its frames, so the seams are at exact frame boundaries), and the
sound, rendered once for the whole range as 32-bit float PCM, encoded then. The sound never has
a seam, and its samples are the ones a single pass would have encoded (the same graph, the same
float samples). With an intra-only codec (ProRes) every frame is bit for bit the single pass's;
with H.264 or VP9 the frames are the same pictures, each chunk's first frame being a keyframe.

Cancelling the export (or its failing) cancels the chunk jobs that have not finished, waits for
them to stop, and removes the chunks: the output is installed, as any export, only when whole.
The chunks live in ``.reelcut/chunks/<job id>-<random>/`` (the project's own folder: on a
shared disk every worker that can read the media can read and write there).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError, UsageError
from engine.events import EventStream
from engine.export.graph import plan
from engine.export.presets import PRESETS, Preset
from engine.fsio.durable import temp_path
from engine.jobs import store
from engine.jobs.runner import JobContext, JobFailed
from engine.media.ffmpeg import run_async
from engine.model import Project
from engine.projectfile import decode_project, encode_project
from engine.state.adb import AsyncDB

KIND = "export.chunk"
MAX_CHUNKS = 64


def workers() -> int:
    """How many chunk jobs one runner renders at once: the cores, at least 2, at most 8."""
    return max(2, min(8, os.cpu_count() or 2))


def split(first: int, last: int, n: int) -> list[tuple[int, int]]:
    """``[first, last)`` as ``n`` consecutive half-open ranges whose lengths differ by at
    most one frame."""
    total = last - first
    if not 1 <= n <= total:
        raise ValueError(f"cannot split {total} frames into {n} chunks")
    edges = [first + total * i // n for i in range(n + 1)]
    return list(itertools.pairwise(edges))


def scratch_dir(root: Path, job_id: int) -> Path:
    """A fresh folder for one attempt of export job ``job_id``: a chunk job left queued by an
    attempt that ended (its process stopped) finds its folder gone and fails, instead of
    writing into the next attempt's."""
    return root / ".reelcut" / "chunks" / f"{job_id}-{secrets.token_hex(4)}"


# -- a chunk job ------------------------------------------------------------------------------


async def render_chunk(ctx: JobContext) -> dict[str, Any]:
    """Render the picture of frames ``[first, last)`` of the snapshot to ``out``."""
    p = ctx.job.payload
    try:
        preset = PRESETS[p["preset"]]
        snapshot, out = Path(p["snapshot"]), Path(p["out"])
        first, last = int(p["first"]), int(p["last"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JobFailed(f"not an export chunk: {exc}") from None
    try:
        data = await asyncio.to_thread(snapshot.read_bytes)
    except FileNotFoundError:
        raise JobFailed("the export this chunk belongs to is gone") from None
    project = decode_project(data, label=snapshot.name, trusted=True)
    picture = dataclasses.replace(preset, audio=False)
    tmp = temp_path(out)
    with tempfile.TemporaryDirectory(prefix="reelcut-chunk-") as scratch:
        job = await asyncio.to_thread(plan, ctx.root, project, picture, first, last, Path(scratch))
        for name, text in job.text_files.items():
            (Path(scratch) / name).write_text(text, encoding="utf-8")
        args = ["ffmpeg", *job.args, *preset.codec_args, "-an", "-map_metadata", "-1"]
        try:
            await run_async(
                [*args, "-f", preset.format, "-y", str(tmp)],
                what=f"export chunk {first}-{last}",
                timeout=600 + 20 * job.seconds,
                show_as={str(tmp): out.name},
                duration_s=job.seconds,
                on_progress=lambda f: ctx.report(f, f"frames {first}-{last}"),
            )
            os.replace(tmp, out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return {"out": str(out), "frames": last - first}


# -- the export job that splits, waits and joins ------------------------------------------------


async def render_chunked(
    ctx: JobContext,
    db: AsyncDB,
    events: EventStream,
    project: Project,
    out: Path,
    tmp: Path,
    preset: Preset,
    first: int,
    last: int,
    chunks: int,
) -> dict[str, Any]:
    """Render ``[first, last)`` of ``project`` to ``tmp`` in ``chunks`` chunk jobs (the
    caller installs ``tmp`` as ``out``); see the module's docstring."""
    # Absolute: the payloads are read by workers that may run elsewhere (another cwd).
    scratch = scratch_dir(ctx.root.absolute(), ctx.job.id)
    scratch.mkdir(parents=True)
    snapshot = scratch / "project.json"
    snapshot.write_bytes(encode_project(project))
    ranges = split(first, last, chunks)
    payloads = [
        {
            "parent": ctx.job.id,
            "snapshot": str(snapshot),
            "preset": preset.name,
            "first": a,
            "last": b,
            "out": str(scratch / f"chunk{i:03d}.{preset.format}"),
        }
        for i, (a, b) in enumerate(ranges)
    ]

    def enqueue(conn: Any) -> list[int]:
        return [store.enqueue(conn, KIND, p, max_attempts=2)[0].id for p in payloads]

    ids = await db.write(enqueue)
    events.committed()
    wake = asyncio.Event()
    unlisten = events.listen(lambda e: wake.set() if e.topic == "job" else None)
    started = time.monotonic()
    sound = scratch / "sound.wav" if preset.audio else None
    mixing = None
    if sound is not None:
        mixing = asyncio.create_task(render_sound(ctx.root, project, first, last, scratch, sound))
    try:
        await _wait(ctx, db, wake, ids, ranges, mixing)
        if mixing is not None:
            await mixing
        ctx.report(0.97, "joining the chunks")
        await _join(payloads, sound, preset, out, tmp, last - first)
    finally:
        unlisten()
        if mixing is not None and not mixing.done():
            mixing.cancel()  # its ffmpeg is stopped before the folder goes
            await asyncio.gather(mixing, return_exceptions=True)
        await _stop(db, events, ids)
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    return {
        "out": str(out),
        "frames": last - first,
        "chunks": chunks,
        "seconds": round(time.monotonic() - started, 3),
    }


async def render_sound(
    root: Path, project: Project, first: int, last: int, scratch: Path, out: Path
) -> None:
    """The sound of the whole range, once, as float PCM (what the single pass encodes)."""
    job = await asyncio.to_thread(plan, root, project, PRESETS["wav"], first, last, scratch)
    await run_async(
        ["ffmpeg", *job.args, "-c:a", "pcm_f32le", "-f", "wav", "-y", str(out)],
        what="export sound",
        timeout=600 + 5 * job.seconds,
        show_as={str(out): out.name},
    )


async def _wait(
    ctx: JobContext,
    db: AsyncDB,
    wake: asyncio.Event,
    ids: list[int],
    ranges: list[tuple[int, int]],
    mixing: asyncio.Task[None] | None,
) -> None:
    """Until every chunk job succeeded (progress: frames done of all); a chunk that failed,
    died or was cancelled fails the export with its reason."""
    total = sum(b - a for a, b in ranges)
    while True:
        jobs = await db.read(lambda c: [store.get(c, i) for i in ids], quick=True)
        done = 0.0
        for job, (a, b) in zip(jobs, ranges, strict=True):
            assert job is not None
            if job.status in ("failed", "dead", "cancelled"):
                raise JobFailed(f"chunk {a}-{b} {job.status}: {job.error or 'no reason given'}")
            done += (b - a) * (1.0 if job.status == "succeeded" else job.progress)
        n = sum(1 for j in jobs if j is not None and j.status == "succeeded")
        ctx.report(0.95 * done / total, f"{n} of {len(ids)} chunks rendered")
        if n == len(ids):
            return
        if mixing is not None and mixing.done() and mixing.exception() is not None:
            await mixing  # the sound failed: say why
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=1.0)
        wake.clear()


async def _join(
    payloads: list[dict[str, Any]],
    sound: Path | None,
    preset: Preset,
    out: Path,
    tmp: Path,
    frames: int,
) -> None:
    listing = Path(payloads[0]["out"]).with_name("chunks.txt")
    # Names relative to the listing (the concat demuxer reads them from the listing's folder).
    quoted = (Path(p["out"]).name.replace("'", "'\\''") for p in payloads)
    listing.write_text("".join(f"file '{q}'\n" for q in quoted), encoding="utf-8")
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-f", "concat", "-safe", "0", "-i", str(listing)]
    maps = ["-map", "0:v:0"]
    if sound is not None:
        args += ["-i", str(sound)]
        maps += ["-map", "1:a:0"]
    args += [*maps, "-c:v", "copy", *not_video(preset.codec_args), "-map_metadata", "-1"]
    try:
        await run_async(
            [*args, "-f", preset.format, "-y", str(tmp)],
            what=f"join the chunks of {out.name}",
            timeout=600 + frames / 10,
            show_as={str(tmp): out.name},
        )
    except ReelcutError as exc:
        raise JobFailed(str(exc)) from None


def not_video(codec_args: tuple[str, ...]) -> list[str]:
    """The preset's options for the sound and the container (the picture is copied: an
    encoder's option such as ``-profile:v`` would be refused). Presets are option/value
    pairs; the sound's end in ``:a``."""
    pairs = zip(codec_args[::2], codec_args[1::2], strict=True)
    return [x for o, v in pairs if o.endswith(":a") or o == "-movflags" for x in (o, v)]


async def _stop(db: AsyncDB, events: EventStream, ids: list[int]) -> None:
    """Cancel the chunk jobs still queued or running and wait (a few seconds at most) until
    they have stopped, so nothing writes into the chunks' folder once it is removed."""

    def cancel(conn: Any) -> list[int]:
        left = []
        for i in ids:
            job = store.get(conn, i)
            if job is not None and job.status not in store.FINISHED:
                store.request_cancel(conn, i)
                left.append(i)
        return left

    left = await asyncio.shield(db.write(cancel))
    if not left:
        return
    events.committed()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        jobs = await db.read(lambda c: [store.get(c, i) for i in left], quick=True)
        if all(j is None or j.status in store.FINISHED for j in jobs):
            return
        await asyncio.sleep(0.05)


def check(preset: Preset, first: int, last: int, n: int) -> None:
    """``--chunks N``'s mistakes, one line each (1 is the single pass)."""
    if not 1 <= n <= MAX_CHUNKS:
        raise UsageError(f"--chunks {n}: give 1 to {MAX_CHUNKS} chunks")
    if n > 1 and preset.audio_only:
        raise UsageError("--chunks splits the picture; an audio-only export is one pass")
    if n > last - first:
        raise UsageError(f"--chunks {n}: the range holds only {last - first} frames")
