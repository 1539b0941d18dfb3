"""Filmstrips for video and still-image clips, drawn from the thumbnail tiles the door decodes
(`Workspace.filmstrip_tiles`: per asset, every tile of its strip as a few RGB pixels; a still
has one tile, repeated along its clips).

A terminal shows a tile as a handful of half-block cells (``▀``, foreground = top pixel,
background = bottom pixel; a half cell is about square, so tiles come at their aspect ratio
with square pixels), ``PIXEL_ROWS`` pixels tall: `filmstrip_of` cuts every tile once into the
cells of one and of two text rows of strip (the one-row size averages 2x2 pixel blocks). A
`Filmstrip` is a few KB per asset however long the video.

`filmstrip_runs` draws a video track's strip lines as NLEs do: from the clip's left edge on,
slots one thumbnail wide, each showing the tile nearest the source time of its first column
(``clip.source_in`` plus the offset into the clip, at the project rate). The edge column keeps
its edge mark; a clip narrower than ``MIN_CELLS``, a dense run and a clip without a strip keep
the plain block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.model import Project
from engine.timebase import Rate
from tui.timeline.runs import Run
from tui.timeline.tracks import EDGE, TrackIndex
from tui.timeline.viewport import Viewport

HALF_BLOCK = "▀"
"""A filmstrip cell: the foreground paints its top half, the background its bottom half."""
MAX_ROWS = 2
"""Text rows of strip a `Filmstrip` is kept for (1 and 2: see ``tracks.TALL_LINES``)."""
PIXEL_ROWS = 2 * MAX_ROWS
"""Pixel rows of the tiles a `Filmstrip` is cut from: two a text row, at the tallest size."""
MIN_CELLS = 3
"""A clip block narrower than this keeps its plain look."""


class TileImages(Protocol):
    """What a filmstrip is made of: the door's ``engine.media.display.Tiles`` (``count``
    images of ``width`` x ``height`` RGB pixels one after the other in ``rgb``, tile ``i``
    showing the source frame nearest ``i * ms_per_tile`` ms)."""

    @property
    def count(self) -> int: ...
    @property
    def ms_per_tile(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def rgb(self) -> bytes: ...


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


def filmstrip_of(tiles: TileImages) -> Filmstrip:
    """``tiles`` (``PIXEL_ROWS`` tall, an even number of pixels wide) cut into the cells of a
    `Filmstrip`; ValueError for tiles of another size or too few bytes."""
    count, width, height = tiles.count, tiles.width, tiles.height
    if height != PIXEL_ROWS or width < 2 or width % 2 or count < 1 or tiles.ms_per_tile < 1:
        raise ValueError(f"{count} tiles of {width}x{height} pixels: not a filmstrip's")
    if len(tiles.rgb) < count * width * height * 3:
        raise ValueError(f"{len(tiles.rgb)} bytes for {count} tiles of {width}x{height}")
    tall = tiles.rgb[: count * width * height * 3]
    short = _halve(tall, count, width, height)
    return Filmstrip(
        count,
        tiles.ms_per_tile,
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


def filmstrips_from(
    project: Project,
    tiles: Mapping[str, TileImages],
    known: Mapping[str, Filmstrip] | None = None,
) -> dict[str, Filmstrip]:
    """The filmstrips of ``project``'s assets, by asset id: those in ``known`` (a previous
    result) as they are, the others cut from their ``tiles`` (`Workspace.filmstrip_tiles`,
    asked with ``known``, so that it decodes only the new strips). Assets gone from the project
    drop out; tiles of the wrong size are left out (the clips keep their plain blocks)."""
    out: dict[str, Filmstrip] = {}
    for asset in project.assets:
        if known is not None and asset.id in known:
            out[asset.id] = known[asset.id]
        elif asset.id in tiles:
            try:
                out[asset.id] = filmstrip_of(tiles[asset.id])
            except ValueError:
                continue
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
