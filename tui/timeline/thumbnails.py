"""Filmstrips for video and still-image clips, from the thumbnail derivative
(``previews/<sha>.t1.jpg``; a still's has one tile, repeated along its clips).

The derivative is one JPEG of up to 100 tiles, 160 pixels wide, in a grid described by its JSON
sidecar (``engine.media.derivatives.make_thumbnails``). A terminal shows a tile as a handful of
half-block cells (``▀``, foreground = top pixel, background = bottom pixel; a half cell is
about square), so `read_filmstrip` shrinks every tile once, at load time, to ``2 * rows`` pixel
rows by a few columns, for one and for two text rows of strip. A `Filmstrip` is a few KB per
asset however long the video.

Decoding is ffmpeg's, not Pillow's: ffmpeg is already required (it made the strip), its
``untile`` filter cuts the grid into tiles and ``scale=...:flags=area`` averages each one down
in C, so Python reads a few KB of raw RGB instead of decoding a megapixel JPEG and averaging
it pixel by pixel, and the project gains no compiled dependency. The price is one short process
per video asset, which `load_filmstrips` runs off the event loop (call it in a thread). An
ffmpeg older than 4.4 has no ``untile``: the clips then keep their plain blocks.

`filmstrip_runs` draws a video track's strip lines as NLEs do: from the clip's left edge on,
slots one thumbnail wide, each showing the tile nearest the source time of its first column
(``clip.source_in`` plus the offset into the clip, at the project rate). The edge column keeps
its edge mark; a clip narrower than ``MIN_CELLS``, a dense run and a clip without a strip keep
the plain block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError
from engine.media import derivatives
from engine.media.tools import PROTOCOLS, local_path
from engine.media.tools import run as run_tool
from engine.model import Project
from engine.timebase import Rate
from tui.timeline.layout import EDGE, Run, TrackIndex, Viewport

HALF_BLOCK = "▀"
"""A filmstrip cell: the foreground paints its top half, the background its bottom half."""
MAX_ROWS = 2
"""Text rows of strip a `Filmstrip` is kept for (1 and 2: see ``layout.TALL_LINES``)."""
MIN_CELLS = 3
"""A clip block narrower than this keeps its plain look."""
DECODE_TIMEOUT = 30.0
"""Seconds ffmpeg may take to decode one strip (a 1600x900 JPEG takes a fraction of one)."""


@dataclass(frozen=True, slots=True)
class StripSize:
    """Every tile of a strip at one height: ``rows`` text rows of ``width`` cells.

    ``cells[tile * rows + row]`` holds the ``width`` cells of one text row of a tile, six
    bytes a cell (top RGB, bottom RGB), so drawing a slot is a slice.
    """

    rows: int
    width: int
    cells: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Filmstrip:
    """One video asset's thumbnails shrunk for the terminal.

    Tile ``i`` (``i < count``) shows the source frame nearest ``i * ms_per_tile`` ms.
    ``sizes`` holds the tiles for 1 .. ``MAX_ROWS`` text rows of strip, by row count.
    """

    count: int
    ms_per_tile: int
    sizes: Mapping[int, StripSize]

    def tile_at(self, source_frame: int, rate: Rate) -> int:
        """The tile nearest source frame ``source_frame`` (clamped to the strip)."""
        # round(frame * den / num * 1000 / ms) in integers: the frame's time over the spacing
        den = rate.num * self.ms_per_tile
        tile = (2 * source_frame * rate.den * 1000 + den) // (2 * den)
        return max(0, min(self.count - 1, tile))


def tile_cells(tile_width: int, tile_height: int, pixel_rows: int) -> int:
    """Cells across a tile drawn ``pixel_rows`` half-cells tall at its aspect ratio (a half
    cell is about square), made even so that it halves for the shorter size; at least 2."""
    across = pixel_rows * tile_width / max(1, tile_height)
    return max(2, 2 * round(across / 2))


def read_filmstrip(thumbs: Path) -> Filmstrip:
    """Decode the strip ``thumbs`` and its sidecar into a `Filmstrip`.

    Raises ValueError (or KeyError, TypeError) for a sidecar that does not describe the image,
    ``ReelcutError`` when ffmpeg is missing or fails, OSError when a file cannot be read.
    """
    index = json.loads(derivatives.thumbs_index_path(thumbs).read_bytes())
    count, columns, rows = int(index["count"]), int(index["columns"]), int(index["rows"])
    tile_w, tile_h = int(index["tile_width"]), int(index["tile_height"])
    ms = round(float(index["seconds_per_tile"]) * 1000)
    if min(count, columns, rows, tile_w, tile_h, ms) < 1 or count > columns * rows:
        raise ValueError(f"{thumbs.name}: the sidecar does not describe a tile grid")
    height = 2 * MAX_ROWS
    width = tile_cells(tile_w, tile_h, height)
    out = run_tool(
        [
            "ffmpeg",
            *("-nostdin", "-hide_banner", "-v", "error"),
            *("-protocol_whitelist", PROTOCOLS, "-i", local_path(thumbs)),
            *("-vf", f"untile={columns}x{rows},scale={width}:{height}:flags=area"),
            *("-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"),
        ],
        timeout=DECODE_TIMEOUT,
        what=f"{thumbs.name}: could not read its thumbnails",
    ).stdout
    tile_bytes = width * height * 3
    if len(out) < count * tile_bytes:
        raise ValueError(f"{thumbs.name}: ffmpeg gave {len(out)} bytes for {count} tiles")
    tall = out[: count * tile_bytes]
    short = _halve(tall, count, width, height)
    return Filmstrip(
        count,
        ms,
        {
            1: StripSize(1, width // 2, _cell_rows(short, count, width // 2, height // 2)),
            2: StripSize(2, width, _cell_rows(tall, count, width, height)),
        },
    )


def _halve(pixels: bytes, count: int, width: int, height: int) -> bytes:
    """Tiles of ``width`` x ``height`` RGB pixels averaged in 2x2 blocks (both even)."""
    out = bytearray()
    row = width * 3
    for t in range(count):
        base = t * height * row
        for y in range(0, height, 2):
            top = base + y * row
            bottom = top + row
            for x in range(0, row, 6):
                for c in range(3):
                    total = (
                        pixels[top + x + c]
                        + pixels[top + x + 3 + c]
                        + pixels[bottom + x + c]
                        + pixels[bottom + x + 3 + c]
                    )
                    out.append((total + 2) // 4)
    return bytes(out)


def _cell_rows(pixels: bytes, count: int, width: int, height: int) -> tuple[bytes, ...]:
    """Per tile and text row, the row's cells: each cell's top pixel RGB then bottom RGB."""
    rows: list[bytes] = []
    line = width * 3
    for t in range(count):
        base = t * height * line
        for y in range(0, height, 2):
            top = pixels[base + y * line : base + (y + 1) * line]
            bottom = pixels[base + (y + 1) * line : base + (y + 2) * line]
            cells = bytearray()
            for x in range(0, line, 3):
                cells += top[x : x + 3]
                cells += bottom[x : x + 3]
            rows.append(bytes(cells))
    return tuple(rows)


def load_filmstrips(
    root: Path, project: Project, known: Mapping[str, Filmstrip] | None = None
) -> dict[str, Filmstrip]:
    """Every video or image asset's filmstrip whose thumbnail strip is there and complete, by
    asset id.

    Strips in ``known`` (a previous result) are kept, not decoded again: an asset's bytes never
    change, so neither does its strip. Blocking (reads files, runs ffmpeg once per new strip):
    call it off the event loop.
    """
    out: dict[str, Filmstrip] = {}
    for asset in project.assets:
        path = derivatives.derivative_paths(root, asset, project.rate).get("thumbs")
        if path is None:
            continue
        if known is not None and asset.id in known:
            out[asset.id] = known[asset.id]
            continue
        if not derivatives.is_fresh(path):
            continue
        try:
            out[asset.id] = read_filmstrip(path)
        except (OSError, ValueError, KeyError, TypeError, ReelcutError):
            continue  # a damaged strip: the job rebuilds it; draw the plain block meanwhile
    return out


def filmstrip_runs(
    runs: Sequence[Run],
    index: TrackIndex,
    vp: Viewport,
    rate: Rate,
    strips: Mapping[str, Filmstrip],
    row: int,
    rows: int,
) -> list[Run]:
    """``runs`` (a line under a video track's label, as it is drawn without strips) with every
    clip block that has a strip drawn as text row ``row`` (0-based) of a filmstrip ``rows``
    rows tall: half-block runs with ``pixels``. Every other run comes back as it was.
    """
    out: list[Run] = []
    fpc = vp.frames_per_col
    for run in runs:
        clip = index.clips[run.clip_index] if run.kind == "clip" else None
        strip = strips.get(clip.asset_id or "") if clip is not None else None
        size = strip.sizes.get(rows) if strip is not None else None
        if clip is None or strip is None or size is None or run.width < MIN_CELLS:
            out.append(run)
            continue
        # Columns count from the clip's first column (the first sampled at or after its start,
        # which holds the edge mark); slots of one thumbnail follow it, so they stay put when
        # the view scrolls.
        edge_col = -(-(clip.start - vp.first_frame) // fpc)
        start = run.start
        if start == edge_col:
            out.append(run._replace(end=start + 1, text=EDGE))
            start += 1
        w = size.width
        pixels = bytearray()
        col = start
        while col < run.end:
            slot, x = divmod(col - edge_col - 1, w)
            slot_col = edge_col + 1 + slot * w
            frame = min(max(vp.frame_of(slot_col), clip.start), clip.end - 1)
            tile = strip.tile_at(clip.source_in + frame - clip.start, rate)
            take = min(w - x, run.end - col)
            cells = size.cells[tile * rows + row]
            pixels += cells[6 * x : 6 * (x + take)]
            col += take
        out.append(
            run._replace(start=start, text=HALF_BLOCK * (run.end - start), pixels=bytes(pixels))
        )
    return out
