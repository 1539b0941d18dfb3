"""What a front end draws of the derivatives (`engine.media.display`), through the door: thumbnail
tiles decoded by real ffmpeg from real strips, waveform peaks from real peaks files, and the
demo project's assets read by `Workspace.filmstrip_tiles` and `Workspace.waveform_peaks`.

Expected colours come from how the test video was made (flat colours per second) and expected
loudness from how the sounds were made (ffmpeg's sine has amplitude 1/8), never from the module
under test.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.media.derivatives import build_derivative, derivative_paths
from engine.media.display import Peaks, Tiles, read_peaks, read_tiles, scaled_width
from engine.media.thumbnail_strip import make_thumbnails, thumbs_index_path
from engine.model import Asset, Project
from engine.projectdir import ProjectDir
from engine.workspace import Workspace

RED, LIME, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)
Pixel = tuple[int, int, int]


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


def pixels(tile: bytes) -> list[Pixel]:
    return [(tile[i], tile[i + 1], tile[i + 2]) for i in range(0, len(tile), 3)]


def near(got: Pixel, want: Pixel, slack: int = 40) -> bool:
    return all(abs(g - w) <= slack for g, w in zip(got, want, strict=True))


# -- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tile", "height", "width"),
    [
        ((160, 90), 4, 8),  # 16:9: 7.1 pixels, made even
        ((160, 120), 4, 6),  # 4:3: 5.3
        ((160, 284), 4, 2),  # 9:16: 2.25, and never less than 2
        ((160, 90), 2, 4),  # 3.6
        ((160, 90), 8, 14),  # 14.2
        ((90, 160), 1, 2),  # 0.6
    ],
)
def test_scaled_width_keeps_the_aspect_ratio_and_is_even(
    tile: tuple[int, int], height: int, width: int
) -> None:
    assert scaled_width(*tile, height) == width


def test_a_tile_is_a_slice_of_the_pixels() -> None:
    tiles = Tiles(3, 1000, 2, 1, bytes(range(18)))
    assert tiles.tile_bytes == 6
    assert [tiles.tile(i) for i in range(3)] == [bytes(range(k, k + 6)) for k in (0, 6, 12)]
    with pytest.raises(IndexError):
        tiles.tile(3)


# -- tiles from a real strip -------------------------------------------------------------------


@pytest.fixture(scope="module")
def strip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The strip of 3.5 s at 320x180: red for 0.5 s, then a second each of lime, blue and white
    over black (top half white, bottom half black), so the tiles at 0, 1, 2 and 3 s are far
    from a cut."""
    folder = tmp_path_factory.mktemp("display")
    video = folder / "colours.mp4"
    seg = "s=320x180:r=30"
    graph = (
        f"color=c=red:{seg}:d=0.5[a];color=c=lime:{seg}:d=1[b];color=c=blue:{seg}:d=1[c];"
        f"color=c=white:{seg}:d=1,drawbox=x=0:y=90:w=320:h=90:color=black:t=fill[d];"
        "[a][b][c][d]concat=n=4"
    )
    ffmpeg("-f", "lavfi", "-i", graph, "-c:v", "libx264", "-preset", "ultrafast", video)
    thumbs = folder / "previews" / "x.t1.jpg"
    asyncio.run(make_thumbnails(video, thumbs, duration_s=3.5))
    return thumbs


def test_read_tiles_shrinks_every_tile_of_a_real_strip(strip: Path) -> None:
    tiles = read_tiles(strip)  # 160x90 tiles, 4 pixel rows by default: 8 across
    assert (tiles.count, tiles.ms_per_tile, tiles.width, tiles.height) == (4, 1000, 8, 4)
    assert len(tiles.rgb) == 4 * 8 * 4 * 3
    for i, colour in enumerate((RED, LIME, BLUE)):
        assert all(near(p, colour) for p in pixels(tiles.tile(i)))
    last = pixels(tiles.tile(3))  # row-major: two rows of white, then two of black
    assert all(near(p, WHITE) for p in last[:16]) and all(near(p, BLACK) for p in last[16:])


def test_read_tiles_at_another_height(strip: Path) -> None:
    tiles = read_tiles(strip, height=2)
    assert (tiles.count, tiles.width, tiles.height) == (4, 4, 2)
    last = pixels(tiles.tile(3))
    assert all(near(p, WHITE) for p in last[:4]) and all(near(p, BLACK) for p in last[4:])


@pytest.mark.parametrize(
    "damage",
    [{"count": 0}, {"count": 500}, {"tile_width": "wide"}, {"seconds_per_tile": 0}],
)
def test_a_sidecar_that_does_not_describe_the_grid_is_refused(
    strip: Path, tmp_path: Path, damage: dict[str, object]
) -> None:
    copy = tmp_path / strip.name
    shutil.copy(strip, copy)
    doc = json.loads(thumbs_index_path(strip).read_bytes())
    thumbs_index_path(copy).write_text(json.dumps({**doc, **damage}))
    with pytest.raises(ValueError):
        read_tiles(copy)


# -- peaks files ---------------------------------------------------------------------------------


def test_read_peaks_takes_the_louder_side_of_each_bucket_on_0_127(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    doc = {"buckets_per_second": 100, "full_scale": 127}
    path.write_text(json.dumps({**doc, "min": [0, -127, -16, -3, -200], "max": [0, 5, 40, 3, 0]}))
    assert read_peaks(path) == Peaks(100, bytes([0, 127, 40, 3, 127]))  # clamped to full scale
    path.write_text(json.dumps({**doc, "full_scale": 254, "min": [-254, -127], "max": [0, 0]}))
    assert read_peaks(path) == Peaks(100, bytes([127, 63]))
    path.write_text(json.dumps({"min": [0], "max": [0]}))
    with pytest.raises(KeyError):
        read_peaks(path)


# -- the demo project through the door ----------------------------------------------------------


@pytest.fixture(scope="module")
def built(demo_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo project with every thumbnail strip and peaks file built."""
    root = tmp_path_factory.mktemp("display-demo") / "demo"
    shutil.copytree(demo_master, root)
    project = ProjectDir(root).load()

    async def build() -> None:
        for asset in project.assets:
            for kind in ("thumbs", "peaks"):
                if kind in derivative_paths(root, asset, project.rate):
                    await build_derivative(root, asset, kind, project.rate)

    asyncio.run(build())
    return root


def by_name(project: Project) -> dict[str, Asset]:
    return {a.name: a for a in project.assets}


def test_nothing_is_read_before_the_derivatives_are_built(demo_dir: Path) -> None:
    project = ProjectDir(demo_dir).load()
    ws = Workspace(demo_dir)
    assert asyncio.run(ws.waveform_peaks(project)) == {}
    assert asyncio.run(ws.filmstrip_tiles(project)) == {}


def test_the_door_reads_the_demo_peaks(built: Path) -> None:
    project = ProjectDir(built).load()
    assets = by_name(project)
    peaks = asyncio.run(Workspace(built).waveform_peaks(project))
    # Every asset with sound: the pattern (its video and its audio asset), the tone, the line.
    sounding = ("pattern.mp4", "pattern.mp4 (audio)", "tone.wav", "line.wav")
    assert set(peaks) == {assets[n].id for n in sounding}
    assert all(p.buckets_per_second == 100 for p in peaks.values())
    tone = peaks[assets["tone.wav"].id]
    assert abs(len(tone.levels) - 200) <= 2  # 2 s at 100 buckets a second
    # ffmpeg's sine has amplitude 1/8, and the tone is stereo, mixed down to mono 3 dB lower for
    # the peaks: 127 / 8 / √2 ≈ 11.2 in every 10 ms bucket.
    assert all(10 <= level <= 12 for level in tone.levels)
    line = peaks[assets["line.wav"].id].levels
    assert max(line) > 20 and min(line) < 3  # speech: louder than the tone, and pauses


def test_the_door_decodes_the_demo_tiles(built: Path) -> None:
    project = ProjectDir(built).load()
    assets = by_name(project)
    video, still = assets["pattern.mp4"], assets["still.png"]
    ws = Workspace(built)
    tiles = asyncio.run(ws.filmstrip_tiles(project))
    assert set(tiles) == {video.id, still.id}
    # 8 s of 1280x720: a tile a second, 160x90, shrunk to 4 rows of 8 pixels; the still: one.
    strip, bars = tiles[video.id], tiles[still.id]
    assert (strip.count, strip.ms_per_tile, strip.width, strip.height) == (8, 1000, 8, 4)
    assert (bars.count, bars.width, bars.height) == (1, 8, 4)
    assert len(strip.rgb) == 8 * 8 * 4 * 3 and len(bars.rgb) == 8 * 4 * 3
    assert len(set(pixels(bars.tile(0)))) > 5  # SMPTE bars: many colours, not one flat block
    assert len({strip.tile(i) for i in range(8)}) > 1  # testsrc2 moves
    # Assets the caller has are not decoded again; another height is another decode.
    assert set(asyncio.run(ws.filmstrip_tiles(project, {video.id}))) == {still.id}
    small = asyncio.run(ws.filmstrip_tiles(project, height=2))
    assert (small[video.id].width, small[video.id].height) == (4, 2)


def test_damaged_derivatives_are_left_out(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    project = ProjectDir(root).load()
    assets = by_name(project)
    video, tone = assets["pattern.mp4"], assets["tone.wav"]
    thumbs = derivative_paths(root, video, project.rate)["thumbs"]
    index = thumbs_index_path(thumbs)
    index.write_text(json.dumps({**json.loads(index.read_bytes()), "count": 0}))
    peaks = derivative_paths(root, tone, project.rate)["peaks"]
    peaks.write_text(json.dumps({"min": [0]}))  # complete JSON, but no peaks in it
    ws = Workspace(root)
    assert video.id not in asyncio.run(ws.filmstrip_tiles(project))
    assert assets["still.png"].id in asyncio.run(ws.filmstrip_tiles(project))
    waves = asyncio.run(ws.waveform_peaks(project))
    assert tone.id not in waves and assets["line.wav"].id in waves
