"""The thumbnail strip: up to 100 frames of a video tiled into one JPEG, with a JSON sidecar."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from engine.errors import MediaError
from engine.fsio.durable import remove_stale_temps, write_path
from engine.media import derivative_build
from engine.media.ffmpeg_command import input_args, local_path
from engine.media.headers import jpeg_file_size

THUMBS_RECIPE = 1
"""The recipe version, part of the strip's file name and its sidecar's ``version``: bump it
when the output changes."""
THUMB_WIDTH = 160
THUMB_COLUMNS = 10
MAX_TILES = 100
MIN_TILE_SECONDS = 1.0


def thumbs_index_path(thumbs: Path) -> Path:
    """The JSON sidecar that describes the tile grid of the thumbnail strip ``thumbs``."""
    return thumbs.with_suffix(".json")


def tile_plan(duration_s: float | None) -> tuple[int, int]:
    """``(milliseconds per tile, tile count)`` for a strip over ``duration_s``: at most
    ``MAX_TILES`` tiles, at least ``MIN_TILE_SECONDS`` apart, covering the whole duration."""
    duration_ms = max(0, math.ceil((duration_s or 0) * 1000))
    interval = max(round(MIN_TILE_SECONDS * 1000), math.ceil(duration_ms / MAX_TILES))
    return interval, min(MAX_TILES, max(1, math.ceil(duration_ms / interval)))


async def make_thumbnails(
    src: Path,
    dst: Path,
    *,
    duration_s: float | None,
    on_progress: derivative_build.ProgressCallback | None = None,
    timeout: float | None = None,
) -> None:
    """Write ``dst``: a strip of up to 100 thumbnails of ``src`` tiled into one JPEG, and its
    sidecar ``thumbs_index_path(dst)``::

        {"version": 1, "image": "<sha>.t1.jpg", "count": 30, "columns": 10, "rows": 3,
         "tile_width": 160, "tile_height": 90, "seconds_per_tile": 1.0}

    Tile ``i`` (row-major, ``i < count``) is 160 pixels wide and shows the frame nearest to
    ``i * seconds_per_tile``; tiles are at least a second apart and spread evenly over
    ``duration_s``. Tiles after the end of the video stream, if any, are black. A still image
    (``duration_s`` None or 0) gets one tile.
    """
    interval_ms, count = tile_plan(duration_s)
    columns = min(count, THUMB_COLUMNS)
    rows = math.ceil(count / columns)
    progress = derivative_build.Progress("thumbnails", duration_s, on_progress)
    index_path = thumbs_index_path(dst)

    async def build(tmp: Path) -> None:
        args = [
            "-y",
            *input_args(src),
            # A null copy of the decoded video: its clock is the decode position, which the
            # tile output (one frame, at the very end) cannot report.
            "-map",
            "0:V:0",
            "-c:v",
            "wrapped_avframe",
            "-f",
            "null",
            "-",
            "-map",
            "0:V:0",
            "-vf",
            # A still (no duration) is one frame with no successor, which the fps filter
            # would hold back for ever: it is tiled as it is.
            (f"fps=1000/{interval_ms}," if duration_s else "")
            + f"scale={THUMB_WIDTH}:-2,tile={columns}x{rows}:nb_frames={count}",
            "-frames:v",
            "1",
            "-update",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "-f",
            "image2",
            local_path(tmp),
        ]
        what = f"{src.name}: could not make its thumbnails"
        await derivative_build.run_ffmpeg(
            args,
            what=what,
            timeout=derivative_build.build_timeout(timeout, duration_s),
            show_as={local_path(tmp): dst.name},
            duration_s=duration_s,
            on_progress=progress.fraction,
        )
        size = await asyncio.to_thread(jpeg_file_size, tmp)
        if size is None:
            raise MediaError(f"{what}: ffmpeg wrote no picture (no video frames?)")
        width, height = size
        index = {
            "version": THUMBS_RECIPE,
            "image": dst.name,
            "count": count,
            "columns": columns,
            "rows": rows,
            "tile_width": width // columns,
            "tile_height": height // rows,
            "seconds_per_tile": interval_ms / 1000,
        }
        # The sidecar lands first: the JPEG's rename is the commit point `derivatives.is_fresh`
        # looks at.
        await asyncio.to_thread(write_path, index_path, derivative_build.compact_json(index))

    # A worker killed while it wrote the sidecar left that temp (`produce` clears the JPEG's).
    await asyncio.to_thread(remove_stale_temps, index_path.parent, index_path.name)
    await derivative_build.produce(src, dst, "thumbnails", build)
    progress.done()
