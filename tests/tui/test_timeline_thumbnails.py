"""Filmstrips on video clips: track heights, cutting tiles into cells (synthetic ones, then a
real strip decoded by the door's module), the drawing at the clip's source position, and the
view (alone, then in the editor with the background jobs building the demo's strip).

Colours expected from a real strip come from how the test video was made (flat colours per
second), never from the module under test.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from rich.segment import Segment
from textual.app import App, ComposeResult

from engine.media.derivatives import derivative_paths
from engine.media.display import TILE_HEIGHT, Tiles, read_tiles
from engine.media.thumbnail_strip import make_thumbnails
from engine.model import Clip, Project, Track
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate
from tui.timeline.runs import Run
from tui.timeline.thumbnails import (
    HALF_BLOCK,
    PIXEL_ROWS,
    Filmstrip,
    StripSize,
    filmstrip_of,
    filmstrip_runs,
    filmstrips_from,
)
from tui.timeline.tracks import (
    EDGE,
    TrackIndex,
    TrackRows,
    detail_runs,
    plain_runs,
    track_rows,
    track_runs,
)
from tui.timeline.viewport import Viewport
from tui.timeline.widget import TimelineView

RATE = Rate(30, 1)

# -- track heights -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "forced", "tops"),
    [
        (9, None, (0, 3, 5, 7, 9)),  # the footage track tall (label + two strip lines)
        (40, None, (0, 3, 5, 7, 9)),
        (8, None, (0, 2, 4, 6, 8)),  # tall does not fit: two each
        (7, None, (0, 1, 2, 3, 4)),  # two does not fit: one each, the view scrolls
        (40, 1, (0, 1, 2, 3, 4)),
        (40, 2, (0, 2, 4, 6, 8)),
    ],
)
def test_track_rows(room: int, forced: int | None, tops: tuple[int, ...]) -> None:
    assert track_rows([True, False, False, False], room, forced).tops == tops


def test_track_rows_locate_lines() -> None:
    rows = TrackRows((0, 3, 5))
    assert [rows.locate(r) for r in range(-1, 6)] == [
        None,
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        None,
    ]
    assert rows.total == 5 and rows.lines(0) == 3 and rows.lines(1) == 2


# -- a synthetic strip whose every cell says where it comes from ---------------------------------


def coded_strip(count: int = 4, ms: int = 1000) -> Filmstrip:
    """Cell ``x`` of text row ``row`` of tile ``t`` is top ``(t, 2row, x)``, bottom
    ``(t, 2row+1, x)``: a drawn cell can be traced back to its tile and column."""

    def size(rows: int, width: int) -> StripSize:
        cells = tuple(
            b"".join(bytes((t, 2 * row, x, t, 2 * row + 1, x)) for x in range(width))
            for t in range(count)
            for row in range(rows)
        )
        return StripSize(rows, width, cells)

    return Filmstrip(count, ms, {1: size(1, 4), 2: size(2, 8)})


def video_track(*clips: Clip) -> Track:
    return Track(id="t_1", kind="video", name="V1", clips=clips)


def media(
    start: int, duration: int, source_in: int = 0, asset: str = "a_1", cid: str = "c_1"
) -> Clip:
    return Clip(
        id=cid,
        kind="media",
        name="shot",
        start=start,
        duration=duration,
        source_in=source_in,
        asset_id=asset,
    )


def drawn(
    track: Track, vp: Viewport, strips: dict[str, Filmstrip], row: int, rows: int
) -> list[Run]:
    index = TrackIndex(track)
    runs = detail_runs(track_runs(index, vp, ()), index, vp, RATE)
    return filmstrip_runs(runs, index, vp, RATE, strips, row, rows)


def cells_by_col(runs: list[Run]) -> dict[int, tuple[int, ...] | str]:
    """Per column: the six colour bytes of a filmstrip cell, or the text of any other cell."""
    out: dict[int, tuple[int, ...] | str] = {}
    for run in runs:
        for k, col in enumerate(range(run.start, run.end)):
            if run.pixels is not None:
                assert run.text[k] == HALF_BLOCK
                out[col] = tuple(run.pixels[6 * k : 6 * k + 6])
            else:
                out[col] = run.text[k]
    return out


def test_slots_show_the_tile_nearest_the_source_time_of_their_first_column() -> None:
    """A 3 s clip from 1 s into its source at 3 frames a column: the edge mark, then slots of
    8 cells from column 1, sampled at frames 3, 27, 51, 75 of the clip, i.e. source 1.1 s,
    1.9 s, 2.7 s, 3.5 s -> tiles 1, 2, 3, and 3 again (the last tile; there is no tile 4)."""
    track = video_track(media(0, 90, source_in=30))
    cells = cells_by_col(drawn(track, Viewport(0, 3, 40), {"a_1": coded_strip()}, 1, 2))
    assert cells[0] == EDGE
    expected_tiles = [1] * 8 + [2] * 8 + [3] * 8 + [3] * 5
    got = [cells[c] for c in range(1, 30)]
    assert [c[0] for c in got] == expected_tiles
    assert [c[2] for c in got] == [*range(8)] * 3 + [*range(5)]
    # Text row 1 of a two-row strip: pixel rows 2 (top) and 3 (bottom).
    assert {(c[1], c[4]) for c in got} == {(2, 3)}
    assert all(cells[c] == " " for c in range(30, 40))  # the gap after the clip


def test_slots_stay_put_when_the_view_scrolls() -> None:
    track = video_track(media(0, 300, source_in=0))
    strips = {"a_1": coded_strip(count=10)}
    home = cells_by_col(drawn(track, Viewport(0, 3, 60), strips, 0, 2))
    scrolled = cells_by_col(drawn(track, Viewport(15, 3, 60), strips, 0, 2))  # 5 columns on
    assert all(scrolled[c] == home[c + 5] for c in range(55))
    assert scrolled[0] != EDGE  # the edge is off screen: the strip starts at once


def test_one_row_strips_use_the_small_tiles() -> None:
    track = video_track(media(0, 90))
    cells = cells_by_col(drawn(track, Viewport(0, 3, 30), {"a_1": coded_strip()}, 0, 1))
    got = [cells[c] for c in range(1, 30)]
    assert [c[2] for c in got[:8]] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert {(c[1], c[4]) for c in got} == {(0, 1)}


def test_narrow_clips_other_kinds_and_clips_without_a_strip_keep_the_plain_block() -> None:
    title = Clip(id="c_9", kind="text", name="Title", start=60, duration=60)
    track = video_track(
        media(0, 6, cid="c_1"),  # two cells at 3 frames a column
        media(6, 60, asset="a_2", cid="c_2"),  # no strip for a_2
        title,
    )
    vp = Viewport(0, 3, 40)
    index = TrackIndex(track)
    plain = detail_runs(track_runs(index, vp, ()), index, vp, RATE)
    runs = filmstrip_runs(plain, index, vp, RATE, {"a_1": coded_strip()}, 0, 2)
    assert runs == plain and all(r.pixels is None for r in runs)
    # A strip of another height than the track has (three rows) draws nothing either.
    wide = video_track(media(0, 90))
    index = TrackIndex(wide)
    plain = plain_runs(track_runs(index, vp, ()), index, vp)
    assert filmstrip_runs(plain, index, vp, RATE, {"a_1": coded_strip()}, 2, 3) == plain


def test_tile_at_rounds_to_the_nearest_tile_and_clamps() -> None:
    strip = coded_strip(count=5, ms=2000)
    assert [strip.tile_at(f, RATE) for f in (0, 29, 30, 89, 90, 299)] == [0, 0, 1, 1, 2, 4]
    ntsc = Rate(30000, 1001)  # frame 60 is 2.002 s: tile 1; frame 89 is 2.97 s: still 1
    assert [strip.tile_at(f, ntsc) for f in (60, 89, 90)] == [1, 1, 2]


# -- tiles cut into cells ----------------------------------------------------------------------


def test_the_door_decodes_tiles_as_tall_as_a_filmstrip_by_default() -> None:
    assert PIXEL_ROWS == TILE_HEIGHT == 4


def test_filmstrip_of_pairs_pixel_rows_into_cells_and_averages_the_short_size() -> None:
    """Two tiles of 4x4 pixels whose pixel ``(x, y)`` of tile ``t`` is ``(t, 10y, 10x)``:
    two-row cells pair pixel rows 0-1 and 2-3; one-row cells average 2x2 blocks."""
    rgb = bytes(
        v for t in range(2) for y in range(4) for x in range(4) for v in (t, 10 * y, 10 * x)
    )
    strip = filmstrip_of(Tiles(2, 500, 4, 4, rgb))
    assert (strip.count, strip.ms_per_tile) == (2, 500)
    tall, short = strip.sizes[2], strip.sizes[1]
    assert (tall.rows, tall.width, short.rows, short.width) == (2, 4, 1, 2)
    assert tall.cells[1 * 2 + 1][6 * 3 : 6 * 4] == bytes((1, 20, 30, 1, 30, 30))
    # Tile 1, cell 1: top = mean of rows 0-1, columns 2-3 (y 5, x 25); bottom = rows 2-3.
    assert short.cells[1][6:12] == bytes((1, 5, 25, 1, 25, 25))
    with pytest.raises(ValueError):
        filmstrip_of(Tiles(2, 500, 4, 2, rgb[: 2 * 4 * 2 * 3]))  # not PIXEL_ROWS tall
    with pytest.raises(ValueError):
        filmstrip_of(Tiles(2, 500, 4, 4, rgb[:-1]))  # short of bytes


def test_filmstrips_from_keeps_known_strips_and_drops_gone_assets(demo: Project) -> None:
    video, image = (next(a for a in demo.assets if a.kind == k) for k in ("video", "image"))
    known = {video.id: coded_strip(), "a_gone": coded_strip()}
    flat = Tiles(1, 1000, 2, 4, bytes(2 * 4 * 3))
    odd = Tiles(1, 1000, 3, 4, bytes(3 * 4 * 3))
    strips = filmstrips_from(demo, {video.id: flat, image.id: flat}, known)
    assert list(strips) == [video.id, image.id] and strips[video.id] is known[video.id]
    assert strips[image.id].count == 1
    assert filmstrips_from(demo, {image.id: odd}) == {}  # an odd width does not halve


# -- a strip made by ffmpeg, through the door ---------------------------------------------------

RED, LIME, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3.5 s at 320x180: red for 0.5 s, then a second each of lime, blue and white over black
    (top half white, bottom half black), so the tiles at 0, 1, 2 and 3 s are far from a cut."""
    path = tmp_path_factory.mktemp("thumbs") / "colours.mp4"
    seg = "s=320x180:r=30"
    graph = (
        f"color=c=red:{seg}:d=0.5[a];color=c=lime:{seg}:d=1[b];color=c=blue:{seg}:d=1[c];"
        f"color=c=white:{seg}:d=1,drawbox=x=0:y=90:w=320:h=90:color=black:t=fill[d];"
        "[a][b][c][d]concat=n=4"
    )
    ffmpeg("-f", "lavfi", "-i", graph, "-c:v", "libx264", "-preset", "ultrafast", path)
    return path


def near(got: bytes | tuple[int, ...], want: tuple[int, int, int], slack: int = 40) -> bool:
    return all(abs(g - w) <= slack for g, w in zip(got, want, strict=True))


def test_a_real_strip_cut_into_cells(colours: Path, tmp_path: Path) -> None:
    thumbs = tmp_path / "previews" / "x.t1.jpg"
    asyncio.run(make_thumbnails(colours, thumbs, duration_s=3.5))
    strip = filmstrip_of(read_tiles(thumbs))
    assert (strip.count, strip.ms_per_tile) == (4, 1000)
    tall, short = strip.sizes[2], strip.sizes[1]
    assert (tall.rows, tall.width, short.rows, short.width) == (2, 8, 1, 4)
    assert len(tall.cells) == 4 * 2 and all(len(c) == 6 * 8 for c in tall.cells)
    for tile, colour in enumerate((RED, LIME, BLUE)):
        for size in (tall, short):
            for row in range(size.rows):
                cells = size.cells[tile * size.rows + row]
                assert all(near(cells[i : i + 3], colour) for i in range(0, len(cells), 3))
    # The last tile: white over black. Two rows: white cells, then black cells; one row: the
    # half block's top (foreground) white and its bottom (background) black.
    top, bottom = tall.cells[3 * 2], tall.cells[3 * 2 + 1]
    assert near(top[:3], WHITE) and near(top[3:6], WHITE)
    assert near(bottom[:3], BLACK) and near(bottom[3:6], BLACK)
    one = short.cells[3]
    assert all(near(one[i : i + 3], WHITE) and near(one[i + 3 : i + 6], BLACK) for i in (0, 18))


# -- the view ----------------------------------------------------------------------------------


class Host(App[None]):
    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project

    def compose(self) -> ComposeResult:
        yield TimelineView(self.project, 1)


def flat_strip(colour: tuple[int, int, int], count: int = 20) -> Filmstrip:
    """Every cell of every tile the same colour, top and bottom."""

    def size(rows: int, width: int) -> StripSize:
        cell = bytes(colour) * 2
        return StripSize(rows, width, (cell * width,) * (count * rows))

    return Filmstrip(count, 1000, {1: size(1, 4), 2: size(2, 8)})


def run_view(project: Project, size: tuple[int, int], scenario: Callable[..., object]) -> None:
    async def main() -> None:
        app = Host(project)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app.query_one(TimelineView), pilot)  # type: ignore[misc]

    asyncio.run(main())


def row_of(view: TimelineView, text: str) -> int:
    for y in range(view.scrollable_content_region.height):
        if text in view.render_line(y).text:
            return y
    raise AssertionError(f"{text!r} is not drawn")


def colours_of(segments: list[Segment]) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    out = set()
    for seg in segments:
        if seg.text.strip(HALF_BLOCK) == "" and seg.style and seg.style.color:
            assert seg.style.bgcolor is not None
            out.add(
                (tuple(seg.style.color.get_truecolor()), tuple(seg.style.bgcolor.get_truecolor()))
            )
    return out


@pytest.fixture
def demo(demo_master: Path) -> Project:
    return ProjectDir(demo_master).load()


def test_the_view_draws_a_video_clip_as_coloured_half_blocks(demo: Project) -> None:
    pattern = next(c for t in demo.tracks for c in t.clips if c.name == "Test pattern")
    assert pattern.asset_id is not None
    asset_id: str = pattern.asset_id

    async def scenario(view: TimelineView, pilot: object) -> None:
        label = row_of(view, "Test pattern")
        # V1 holds footage: three lines (label, two of strip); V2 holds a title only: two.
        assert row_of(view, "Test pattern (audio)") - label == 3
        assert label - row_of(view, "Title") == 2
        before = [list(view.render_line(label + k)) for k in (1, 2)]
        assert not any(HALF_BLOCK in s.text for line in before for s in line)
        view.set_thumbnails({asset_id: flat_strip((200, 40, 10))})
        await pilot.pause()  # type: ignore[attr-defined]
        assert "Test pattern" in view.render_line(label).text  # the label line is kept
        for k in (1, 2):  # both lines under the label: the two rows of the filmstrip
            line = list(view.render_line(label + k))
            text = "".join(s.text for s in line)
            assert HALF_BLOCK * 20 in text
            assert colours_of(line) == {((200, 40, 10), (200, 40, 10))}
        # The playhead is drawn over the strip, on the cell's own colour.
        view.set_playhead(60, follow=False)
        await pilot.pause()  # type: ignore[attr-defined]
        x = view.viewport.header_cols + view.viewport.col_of(60)
        under = next(iter(view.render_line(label + 1).crop(x, x + 1)))
        assert under.text == "┃" and under.style is not None and under.style.bgcolor is not None
        assert tuple(under.style.bgcolor.get_truecolor()) == (200, 40, 10)
        # Selected, the pixels lean to the selection colour.
        selected = msgspec.structs.replace(
            demo, editor=msgspec.structs.replace(demo.editor, selection=(pattern.id,))
        )
        view.set_project(selected, 2)
        tinted = colours_of(list(view.render_line(label + 1)))
        assert len(tinted) == 1 and tinted != {((200, 40, 10), (200, 40, 10))}

    run_view(demo, (160, 48), scenario)


def test_the_editor_draws_the_strip_the_background_job_builds(demo_dir: Path) -> None:
    """The real path: the editor opens with no strip (plain blocks), its background jobs build
    the demo's thumbnails, the ``thumbs`` jobs' success reloads them and V1's test pattern and
    still image are drawn in colour."""
    from tui.app import ReelcutApp

    project = ProjectDir(demo_dir).load()
    video = next(a for a in project.assets if a.kind == "video")
    image = next(a for a in project.assets if a.kind == "image")
    still = next(c for t in project.tracks for c in t.clips if c.asset_id == image.id)
    assert not derivative_paths(demo_dir, video, project.rate)["thumbs"].exists()
    assert not derivative_paths(demo_dir, image, project.rate)["thumbs"].exists()
    Colours = set[tuple[tuple[int, ...], tuple[int, ...]]]

    async def go() -> tuple[Colours, Colours]:
        with Session(demo_dir) as session:
            app = ReelcutApp(session, background_jobs=True)
            async with app.run_test(size=(160, 48)) as pilot:
                for _ in range(1500):
                    if {video.id, image.id} <= set(app.timeline.thumbnails):
                        break
                    await pilot.pause(0.04)
                assert video.id in app.timeline.thumbnails, "the video's strip never came"
                assert image.id in app.timeline.thumbnails, "the still's strip never came"
                await pilot.pause()
                view = app.timeline
                head = view.viewport.header_cols
                first = view.render_line(row_of(view, "V1") + 1).crop(head + 1, head + 40)
                pattern = colours_of(list(first))  # the test pattern's first 80 frames or so
                view.set_playhead(still.start + 10)  # the still on screen, wherever the zoom
                await pilot.pause()
                vp = view.viewport
                col = vp.visible_col(still.start)
                assert col is not None
                x = vp.header_cols + col + 1  # after the clip's edge mark
                line = view.render_line(row_of(view, "V1") + 1)  # the track of both clips
                return pattern, colours_of(list(line.crop(x, x + 12)))

    pattern_colours, still_colours = asyncio.run(go())
    # testsrc2's colour bars, and the still's SMPTE bars: many colours, not one flat block.
    assert len(pattern_colours) > 5
    assert len(still_colours) > 5
