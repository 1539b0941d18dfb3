"""The proxy: a frame-exact H.264 preview of a video at the project's rate, for the browser."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.errors import MediaError
from engine.media import derivative_build
from engine.media.ffmpeg_command import input_args, local_path
from engine.media.headers import mp4_complete
from engine.timebase import Rate

PROXY_RECIPE = 2
"""The recipe version, part of the proxy's file name: bump it when the output changes."""
PROXY_MAX_HEIGHT = 540
PROXY_CRF = 28
KEYFRAME_SECONDS = 0.5
"""Proxy keyframe spacing: a browser seeks to any point by decoding at most this much."""


async def make_proxy(
    src: Path,
    dst: Path,
    rate: Rate,
    *,
    duration_s: float | None,
    on_progress: derivative_build.ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: an H.264 preview of ``src`` at the project's ``rate``, frame-exact.

    The source is conformed to ``rate`` at a constant frame rate, so the proxy's frame ``k``
    (presented at ``k / rate``) is what project frame ``k`` of the source shows: the last
    source frame whose time is at or before ``k / rate``, counted from the first video frame
    (``setpts=PTS-STARTPTS``, then ffmpeg's ``fps`` filter with ``round=up``: a source frame
    at time ``t`` first appears at tick ``ceil(t * rate)``). That holds for any source rate and
    for variable-rate footage, and the page seeks to the middle of frame ``k``, never to a
    boundary a decoder may round to either side.

    At most 540 lines tall (never upscaled), aspect kept, even dimensions, rotation applied;
    libx264 veryfast CRF 28, yuv420p, a keyframe every 0.5 s, no scene-cut keyframes, ``moov``
    up front; AAC stereo when the source has sound. ``timeout`` defaults to 10 minutes plus
    four times the duration.
    """
    progress = derivative_build.Progress("proxy", duration_s, on_progress)
    frames = str(max(1, round(float(rate.fraction) * KEYFRAME_SECONDS)))
    gop = ["-g", frames, "-keyint_min", frames]

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            "-map",
            "0:V:0",
            "-map",
            "0:a:0?",
            "-vf",
            f"setpts=PTS-STARTPTS,fps=fps={rate.num}/{rate.den}:round=up,"
            f"scale=-2:'min({PROXY_MAX_HEIGHT},trunc(ih/2)*2)',format=yuv420p",
            "-fps_mode",
            "cfr",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(PROXY_CRF),
            *gop,
            "-sc_threshold",
            "0",
            "-force_key_frames",
            f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-ac",
            "2",
            "-map_metadata",
            "-1",
            "-map_chapters",
            "-1",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            local_path(tmp),
        ]
        what = f"{src.name}: could not make its proxy"
        await derivative_build.run_ffmpeg(
            args,
            what=what,
            timeout=derivative_build.build_timeout(timeout, duration_s),
            show_as={local_path(tmp): dst.name},
            duration_s=duration_s,
            on_progress=progress.fraction,
        )
        if not await asyncio.to_thread(mp4_complete, tmp):
            raise MediaError(f"{what}: ffmpeg wrote no complete video")

    await derivative_build.produce(src, dst, "proxy", build)
    progress.done()
