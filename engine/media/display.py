"""What a front end draws of an asset's derivatives, as plain data: the loudness of its sound
over time (from the peaks file) and its thumbnails as small RGB images (from the strip).

Front ends ask the door (`Workspace.waveform_peaks`, `Workspace.filmstrip_tiles`), which runs
these blocking reads on a worker thread; the editor's timeline turns the data into terminal
cells (``tui/timeline/waveform.py``, ``tui/timeline/thumbnails.py``). Only complete derivatives
are read (`derivatives.is_fresh`); a missing or damaged one is left out, and the background job
that builds it announces its success, after which the front end asks again.

The thumbnail strip is one JPEG of up to 100 tiles 160 pixels wide, in a grid described by its
JSON sidecar (`thumbnail_strip.make_thumbnails`). A front end wants each tile a few pixels tall
(the editor: 4 pixel rows, two text rows of half blocks), so ffmpeg does the decoding: its
``untile`` filter cuts the grid into tiles and ``scale=...:flags=area`` averages each one down
in C, and Python reads a few KB of raw RGB instead of decoding a megapixel JPEG and averaging
it pixel by pixel, with no compiled dependency added (ffmpeg made the strip). The price is one
short process per asset. An ffmpeg older than 4.4 has no ``untile``: no tiles, plain blocks.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError
from engine.media.derivatives import derivative_paths, is_fresh
from engine.media.ffmpeg import run
from engine.media.ffmpeg_command import input_args
from engine.media.thumbnail_strip import thumbs_index_path
from engine.model import Project

TILE_HEIGHT = 4
"""Pixel rows a tile is shrunk to unless asked otherwise: the editor's filmstrip, two text rows
of half blocks (``▀``) with two pixels each."""
DECODE_TIMEOUT = 30.0
"""Seconds ffmpeg may take to decode one strip (a 1600x900 JPEG takes a fraction of one)."""
_DAMAGED = (OSError, ValueError, KeyError, TypeError, ReelcutError)
"""What reading a damaged derivative raises: a bad file, a sidecar that does not describe its
image, an ffmpeg that fails or is missing."""


@dataclass(frozen=True, slots=True)
class Peaks:
    """An asset's loudness over time: ``levels[i]`` is the loudest sample of bucket ``i`` (the
    ``1 / buckets_per_second`` seconds from ``i / buckets_per_second``), from 0 (silence) to
    127 (full scale)."""

    buckets_per_second: int
    levels: bytes


@dataclass(frozen=True, slots=True)
class Tiles:
    """An asset's thumbnails, shrunk: ``count`` images of ``width`` x ``height`` RGB pixels.

    Tile ``i`` shows the source frame nearest ``i * ms_per_tile`` ms (a still image has one
    tile, for any time). ``rgb`` holds the tiles one after the other, each row-major, three
    bytes a pixel: tile ``i`` is ``rgb[i * tile_bytes : (i + 1) * tile_bytes]`` (`tile`).
    """

    count: int
    ms_per_tile: int
    width: int
    height: int
    rgb: bytes

    @property
    def tile_bytes(self) -> int:
        return self.width * self.height * 3

    def tile(self, i: int) -> bytes:
        """The RGB pixels of tile ``i`` (row-major)."""
        if not 0 <= i < self.count:
            raise IndexError(f"tile {i} of a strip of {self.count}")
        return self.rgb[i * self.tile_bytes : (i + 1) * self.tile_bytes]


def scaled_width(tile_width: int, tile_height: int, height: int) -> int:
    """Pixels across a ``tile_width`` x ``tile_height`` tile shrunk to ``height`` pixel rows,
    keeping its aspect ratio, made even (so that averaging 2x2 blocks halves it); at least 2."""
    across = height * tile_width / max(1, tile_height)
    return max(2, 2 * round(across / 2))


def read_peaks(path: Path) -> Peaks:
    """The peaks file ``path`` (`peaks.make_peaks`) as `Peaks`.

    Raises OSError, ValueError (or KeyError, TypeError) for a file that cannot be read or does
    not hold peaks.
    """
    doc = json.loads(path.read_bytes())
    lows, highs = doc["min"], doc["max"]
    scale = int(doc.get("full_scale", 127)) or 127
    levels = bytes(
        min(127, max(abs(lo), abs(hi)) * 127 // scale) for lo, hi in zip(lows, highs, strict=False)
    )
    return Peaks(int(doc["buckets_per_second"]), levels)


def read_tiles(thumbs: Path, height: int = TILE_HEIGHT) -> Tiles:
    """Every tile of the strip ``thumbs`` shrunk to ``height`` pixel rows (`scaled_width`
    across), decoded by ffmpeg.

    Raises ValueError (or KeyError, TypeError) for a sidecar that does not describe the image,
    ``ReelcutError`` when ffmpeg is missing or fails, OSError when a file cannot be read.
    """
    if height < 1:
        raise ValueError(f"tiles need at least one pixel row, not {height}")
    index = json.loads(thumbs_index_path(thumbs).read_bytes())
    count, columns, rows = int(index["count"]), int(index["columns"]), int(index["rows"])
    tile_w, tile_h = int(index["tile_width"]), int(index["tile_height"])
    ms = round(float(index["seconds_per_tile"]) * 1000)
    if min(count, columns, rows, tile_w, tile_h, ms) < 1 or count > columns * rows:
        raise ValueError(f"{thumbs.name}: the sidecar does not describe a tile grid")
    width = scaled_width(tile_w, tile_h, height)
    out = run(
        [
            "ffmpeg",
            *input_args(thumbs),
            *("-vf", f"untile={columns}x{rows},scale={width}:{height}:flags=area"),
            *("-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"),
        ],
        timeout=DECODE_TIMEOUT,
        what=f"{thumbs.name}: could not read its thumbnails",
    ).stdout
    size = count * width * height * 3
    if len(out) < size:
        raise ValueError(f"{thumbs.name}: ffmpeg gave {len(out)} bytes for {count} tiles")
    return Tiles(count, ms, width, height, out[:size])


def waveform_peaks(root: Path, project: Project) -> dict[str, Peaks]:
    """Every asset's `Peaks` whose peaks file is there and complete, by asset id.

    Blocking (a long recording's peaks are megabytes of JSON): call it off the event loop.
    """
    out: dict[str, Peaks] = {}
    for asset in project.assets:
        path = derivative_paths(root, asset, project.rate).get("peaks")
        if path is None or not is_fresh(path):
            continue
        try:
            out[asset.id] = read_peaks(path)
        except _DAMAGED:
            continue  # the job rebuilds it; the front end draws without it meanwhile
    return out


def filmstrip_tiles(
    root: Path, project: Project, known: Collection[str] = (), height: int = TILE_HEIGHT
) -> dict[str, Tiles]:
    """Every video or image asset's `Tiles` whose thumbnail strip is there and complete, by
    asset id, except the assets in ``known``: an asset's bytes never change, so neither do its
    tiles, and a front end that has them need not have them decoded again.

    Blocking (reads files, runs ffmpeg once per strip): call it off the event loop.
    """
    out: dict[str, Tiles] = {}
    for asset in project.assets:
        path = derivative_paths(root, asset, project.rate).get("thumbs")
        if path is None or asset.id in known or not is_fresh(path):
            continue
        try:
            out[asset.id] = read_tiles(path, height)
        except _DAMAGED:
            continue  # the job rebuilds it; the front end draws without it meanwhile
    return out
