"""The picture viewer (`tui.viewer`) under Pilot, proven on pixels: the half-block cells on the
composed screen, and the image the kitty or the sixel path writes, are decoded back to the
frame's bar code and compared with the source frame ffprobe's timestamps say the timeline
shows there.

The project is the exactness project of the page and the export (`tests.preview_web.
exactness`): 25 fps and 29.97 fps bar-coded sources in a 30 fps timeline, bladed, slipped,
ripple-deleted, a clip on V2 over V1, gaps; its proxies are built first."""

from __future__ import annotations

import asyncio
import base64
import re
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.color import Color, ColorSystem

from engine.media.derivatives import build_derivative
from engine.media.still import canvas_size
from engine.model import Project
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import format_timecode
from tests.e2e.screen_cells import RGB, Cell, half_block_pixels
from tests.engine.test_shown import truth
from tests.preview_web import framecode
from tests.preview_web.exactness import Built, build_project
from tests.tui.sixel_decoder import Decoded
from tests.tui.sixel_decoder import decode as decode_sixel
from tui.app import ReelcutApp
from tui.terminal_graphics import DIACRITICS, PLACEHOLDER, Graphics
from tui.viewer import FrameViewer

SIZE = (200, 60)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("viewer")
    built = build_project(tmp / "p", "30", ["25", "30000/1001"], tmp)
    project = ProjectDir(built.root).load()
    for asset in project.assets:
        if asset.kind == "video":
            asyncio.run(build_derivative(built.root, asset, "proxy", project.rate))
    return built


def checked_frames(project: Project) -> list[int]:
    """A clip's first and last frames, the V2 clip over V1, a gap, a slipped half."""
    v1 = next(t for t in project.tracks if t.name == "V1")
    v2 = next(t for t in project.tracks if t.name == "V2")
    frames = [v1.clips[0].start + 3, v1.clips[0].end - 1, v1.clips[1].start, v1.clips[0].end]
    frames += [v2.clips[0].start, v2.clips[0].end - 1, v1.clips[1].end + 2, v1.clips[-1].end - 1]
    frames += [v1.clips[-1].start + 7]
    return list(dict.fromkeys(frames))


def read_bars(pixels: list[list[RGB]], project: Project, box: tuple[int, int]) -> int | None:
    """The bar code of a picture ``box`` (width, height) centred in ``pixels``."""
    width, height = len(pixels[0]), len(pixels)
    cw, ch = canvas_size(project, *box)
    left, top = (width - cw) // 2, (height - ch) // 2
    row = [sum(px) // 3 for px in pixels[top + ch // 2][left : left + cw]]
    if max(row) < 60:
        return None
    content = round(ch * framecode.WIDTH / framecode.HEIGHT)
    start = (cw - content) / 2
    n = 0
    for i in range(framecode.BITS):
        if row[int(start + (i + 0.5) * content / framecode.BITS)] > 128:
            n |= 1 << i
    return n


def screen_cells(app: ReelcutApp) -> list[list[Cell]]:
    """The composed screen as cells (text, foreground, background)."""
    rows = []
    for strip in app.screen._compositor.render_strips():
        row: list[Cell] = []
        for text, style, control in strip:
            if control:
                continue
            fg = style.color.triplet if style and style.color and style.color.triplet else None
            bg = (
                style.bgcolor.triplet if style and style.bgcolor and style.bgcolor.triplet else None
            )
            for ch in text:
                if ch in DIACRITICS and row:
                    row[-1].text += ch
                else:
                    row.append(Cell(ch, tuple(fg) if fg else None, tuple(bg) if bg else None))  # type: ignore[arg-type]
        rows.append(row)
    return rows


async def shown(app: ReelcutApp, pilot: object, viewer: FrameViewer, frame: int) -> None:
    """Until the viewer has drawn ``frame`` (its decode awaited, its message handled)."""
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]
        if viewer.shown_frame == frame and not viewer._busy and viewer._wanted is None:
            return
    raise AssertionError(f"the viewer never showed frame {frame} (it shows {viewer.shown_frame})")


def run(
    root: Path,
    scenario: Callable[[ReelcutApp, object], Awaitable[None]],
    graphics: Graphics | None = None,
    size: tuple[int, int] = SIZE,
) -> None:
    async def go() -> None:
        with Session(root) as session:
            app = ReelcutApp(session, background_jobs=False)
            app.graphics = graphics
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                await scenario(app, pilot)

    asyncio.run(go())


def test_the_half_block_viewer_shows_the_frame_under_the_playhead(built: Built) -> None:
    project = ProjectDir(built.root).load()
    frames = checked_frames(project)
    results: list[tuple[int, int | None, int | None]] = []

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        viewer = app.editor.query_one(FrameViewer)
        assert viewer.has_class("-shown")  # no page connected, 200 columns
        for n in frames:
            app.playback.seek(n)
            await shown(app, pilot, viewer, n)
            region = viewer.content_region
            cells = screen_cells(app)
            caption = "".join(c.text for c in cells[region.y][region.x : region.right])
            assert caption.startswith(" " + format_timecode(n, project.rate))
            px = half_block_pixels(cells, region.x, region.y + 1, region.width, region.height - 1)
            got = read_bars(px, project, (region.width, 2 * (region.height - 1)))
            results.append((n, truth(built, project, n), got))

    run(built.root, scenario)
    wrong = [r for r in results if r[1] != r[2]]
    assert wrong == [], f"(frame, want, got): {wrong}"
    assert any(want is None for _, want, _ in results)  # a gap was among them: black


def terminal_reads_id(app: ReelcutApp, fg: RGB, *, tmux_rgb: bool = True) -> int:
    """The image id a kitty terminal reads from a cell of foreground ``fg`` as this console
    writes it: ``38;5;N`` is id N, ``38;2;R;G;B`` the 24-bit value; through a tmux without
    the RGB feature a 24-bit colour arrives as one of 256."""
    system = app.console._color_system
    if not tmux_rgb:
        system = ColorSystem.EIGHT_BIT
    codes = Color.from_rgb(*fg).downgrade(system).get_ansi_codes()
    values = [int(c) for c in ";".join(codes).split(";")]
    if values[:2] == [38, 5]:
        return values[2]
    assert values[:2] == [38, 2], codes
    return values[2] << 16 | values[3] << 8 | values[4]


def unwrap(text: str) -> str:
    """Commands as the terminal gets them from tmux's passthrough (as they are without it)."""
    return text.replace("\x1bPtmux;", "").replace("\x1b\x1b", "\x1b")


def kitty_images(written: list[str]) -> list[tuple[dict[str, str], bytes]]:
    """Every image the commands transmit: its first chunk's keys and its decoded pixels."""
    images = []
    keys: dict[str, str] = {}
    data = ""
    for text in written:
        for m in re.finditer(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\", unwrap(text)):
            fields = dict(kv.split("=", 1) for kv in m.group(1).split(","))
            if fields.get("a") == "d":
                continue
            if "a" in fields:
                keys, data = fields, ""
            data += m.group(2) or ""
            if fields.get("m") == "0":
                raw = base64.standard_b64decode(data)
                images.append((keys, zlib.decompress(raw) if keys.get("o") == "z" else raw))
    return images


@pytest.mark.parametrize("colours", ["truecolor", "256", "truecolor, tmux without RGB"])
def test_the_kitty_viewer_transmits_the_frame_and_draws_its_placeholders(
    built: Built, monkeypatch: pytest.MonkeyPatch, colours: str
) -> None:
    """In 24-bit colour the image id is the placeholders' colour value; in 256 colours the
    palette index it is written as, and so through a tmux that turns 24-bit colour into 256
    (its commands wrapped for tmux's passthrough)."""
    tmux_rgb = "without RGB" not in colours
    graphics = Graphics("kitty") if tmux_rgb else Graphics("kitty", True, rgb_ids=False)
    if colours.startswith("truecolor"):
        monkeypatch.setenv("COLORTERM", "truecolor")
    else:
        monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    project = ProjectDir(built.root).load()
    frames = checked_frames(project)[:5]
    written: list[str] = []
    monkeypatch.setattr(FrameViewer, "_write_to_terminal", lambda self, data: written.append(data))
    results = []

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        viewer = app.editor.query_one(FrameViewer)
        assert app.console.color_system == colours.split(",")[0] and viewer.mode == "kitty"
        for n in frames:
            app.playback.seek(n)
            await shown(app, pilot, viewer, n)
            keys, rgb = kitty_images(written)[-1]
            w, h = int(keys["s"]), int(keys["v"])
            assert len(rgb) == w * h * 3
            px = [
                [tuple(rgb[(y * w + x) * 3 : (y * w + x) * 3 + 3]) for x in range(w)]
                for y in range(h)
            ]
            results.append((n, truth(built, project, n), read_bars(px, project, (w, h))))  # type: ignore[arg-type]
            # The cells that show it: placeholders naming their row and column, in the
            # colour that is the image's id.
            region = viewer.content_region
            cells = screen_cells(app)
            columns, rows = int(keys["c"]), int(keys["r"])
            assert (columns, rows) == (region.width - 1, region.height - 1)
            image_id = int(keys["i"])
            for r in (0, rows - 1):
                line = cells[region.y + 1 + r][region.x : region.x + columns]
                assert [c.text for c in line] == [
                    PLACEHOLDER + DIACRITICS[r] + DIACRITICS[c] for c in range(columns)
                ]
                assert line[0].fg is not None
                assert terminal_reads_id(app, line[0].fg, tmux_rgb=tmux_rgb) == image_id
        app.pages_open = 1  # a page connects: the viewer goes, and so does the image
        await pilot.pause()  # type: ignore[attr-defined]
        assert not viewer.has_class("-shown")
        assert f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\" in unwrap(written[-1])

    run(built.root, scenario, graphics)
    assert all(("\x1bPtmux;" in w) == (not tmux_rgb) for w in written)
    wrong = [r for r in results if r[1] != r[2]]
    assert wrong == [], f"(frame, want, got): {wrong}"


def test_the_viewer_hides_for_a_page_and_at_80x24_unless_asked(built: Built) -> None:
    async def wide(app: ReelcutApp, pilot: object) -> None:
        viewer = app.editor.query_one(FrameViewer)
        assert viewer.has_class("-shown")
        app.pages_open = 1
        await pilot.pause()  # type: ignore[attr-defined]
        assert not viewer.has_class("-shown") and viewer.region.width == 0
        await pilot.press("f7")  # type: ignore[attr-defined]
        assert viewer.has_class("-shown") and "picture viewer on" in app.message
        await pilot.press("f7")  # type: ignore[attr-defined]
        assert not viewer.has_class("-shown")

    async def small(app: ReelcutApp, pilot: object) -> None:
        viewer = app.editor.query_one(FrameViewer)
        assert not viewer.has_class("-shown")  # out of the way at 80x24
        await pilot.press("f7")  # type: ignore[attr-defined]
        await shown(app, pilot, viewer, app.playhead)
        assert viewer.region.width > 10 and viewer.region.height >= 3

    run(built.root, wide)
    run(built.root, small, size=(80, 24))


def sixel_pictures(written: list[str]) -> list[tuple[tuple[int, int], Decoded]]:
    """Every sixel picture written: the cell (column, row), 1-based, it was placed at, and its
    pixels as a terminal decodes them."""
    pictures = []
    for text in written:
        for m in re.finditer(r"\x1b7\x1b\[(\d+);(\d+)H(\x1bP.*?\x1b\\)\x1b8", unwrap(text), re.S):
            pictures.append(((int(m.group(2)), int(m.group(1))), decode_sixel(m.group(3))))
    return pictures


@pytest.mark.parametrize("tmux", [False, True])
def test_the_sixel_viewer_draws_the_frame_over_its_cells(
    built: Built, monkeypatch: pytest.MonkeyPatch, tmux: bool
) -> None:
    """The picture is the region's cells in the terminal's pixels (here 9 x 18 a cell), whole
    bands, placed at the region's first picture cell (through tmux: the pane's offset added
    and the whole command in tmux's passthrough); written again after a full repaint, not when
    the mouse moves over it, not after the viewer is hidden."""
    graphics = Graphics("sixel", tmux, cell=(9, 18), pane=(5, 2) if tmux else (0, 0))
    project = ProjectDir(built.root).load()
    frames = checked_frames(project)[:5]
    written: list[str] = []
    monkeypatch.setattr(FrameViewer, "_write_to_terminal", lambda self, data: written.append(data))
    results = []

    async def scenario(app: ReelcutApp, pilot: object) -> None:
        viewer = app.editor.query_one(FrameViewer)
        assert viewer.mode == "sixel"
        for n in frames:
            app.playback.seek(n)
            await shown(app, pilot, viewer, n)
            await pilot.pause()  # type: ignore[attr-defined]
            (column, row), picture = sixel_pictures(written)[-1]
            region = viewer.content_region
            assert (column, row) == (
                region.x + 1 + graphics.pane[0],
                region.y + 2 + graphics.pane[1],
            )
            w, h = picture.width, picture.height
            assert w == region.width * 9 and h == (region.height - 1) * 18 // 6 * 6
            bars = read_bars(picture.pixels, project, (w, h))  # type: ignore[arg-type]
            results.append((n, truth(built, project, n), bars))
            # Under it the compositor draws blank cells, so nothing of the text covers it.
            cells = screen_cells(app)
            line = cells[region.y + 1][region.x : region.right]
            assert {c.text for c in line} == {" "}
        count = len(written)
        app.screen.refresh()  # a full repaint (a screen above closed, say) covers it
        await pilot.pause()  # type: ignore[attr-defined]
        await pilot.pause()  # type: ignore[attr-defined]
        assert len(written) == count + 1 and sixel_pictures(written[-1:])
        # The mouse over it repaints nothing (the compositor only asks a cell's style).
        for offset in ((3, 4), (10, 6), (20, 9)):
            await pilot.hover(FrameViewer, offset=offset)  # type: ignore[attr-defined]
            await pilot.pause()  # type: ignore[attr-defined]
        assert len(written) == count + 1
        app.pages_open = 1  # a page connects: the viewer goes, its cells go to the panes
        await pilot.pause()  # type: ignore[attr-defined]
        app.screen.refresh()
        await pilot.pause()  # type: ignore[attr-defined]
        assert not viewer.has_class("-shown") and len(written) == count + 1

    run(built.root, scenario, graphics)
    assert all(("\x1bPtmux;" in w) == tmux for w in written)
    wrong = [r for r in results if r[1] != r[2]]
    assert wrong == [], f"(frame, want, got): {wrong}"
