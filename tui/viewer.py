"""The picture under the playhead, in the terminal: for when no preview page is connected.

`FrameViewer` shows what the page would show at the playhead: the same frame, chosen by the
same rule (`engine.shown.picture_at`, which the export and the page tests use too), decoded
from the proxies (`engine.media.still.frame_pixels`) on a worker thread. It draws half-block
cells (``▀``, the upper pixel in the foreground colour, the lower in the background; runs of
equal cells are one styled run), or, where the terminal has the Kitty graphics protocol, real
pixels through Unicode placeholders (`tui.terminal_graphics`), or, where it has sixel, real
pixels as a sixel picture (`tui.sixel`) sized to its cells in the terminal's pixels.

Sixel is drawn *over* the compositor's cells: the widget renders blank cells there, and after
every repaint of those cells (its own refreshes, a resize, a full repaint when a screen above
closes) the picture is written again at the region's place, the cursor saved and restored
around it. Text written into a cell replaces the sixel pixels in it, so hiding the viewer (the
layout gives the cells to the other panes) or a smaller picture after a resize clears it.

It follows the app's playhead and project: at once when paused (a seek, a step, an edit), at
most `PLAYING_FPS` pictures a second while playing, one decode at a time, always of the latest
frame asked for (frames in between are dropped, never queued). It is shown while no page is
connected and the terminal is at least `AUTO_MIN_WIDTH` columns wide (at 80x24 it stays out of
the way); F7 shows or hides it whatever the rest says. Its first line says what it shows:
the clip, the source frame, the title text over it (drawn on the page, said here) or why
there is no picture (a gap, a proxy still building).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.sixel import encode as sixel_encode
from tui.terminal_graphics import (
    MAX_CELLS,
    Graphics,
    image_id_colour,
    kitty_delete,
    kitty_transmit,
    placeholder_row,
    wrap_for_tmux,
)

if TYPE_CHECKING:
    from engine.model import Project
    from engine.workspace import FramePicture
    from tui.app import ReelcutApp

PLAYING_FPS = 2
"""Half-block pictures per second at most while playing (each is a decode and a repaint):
with the editor's own output it keeps playback within 40 KiB/s at 200x50 in either colour
mode (`bench/bench_terminal_output.py`)."""
SIXEL_PLAYING_BYTES = 32 * 1024
"""Bytes a second sixel pictures may take while playing: a picture of the demo at 200x50 is
40-48 KiB (60 x 33 cells of 10 x 20 pixels), so one about every 1.5 s; paused, each seek and
step draws at once."""
AUTO_MIN_WIDTH = 100
"""Below this many terminal columns the viewer only shows when asked for (F7)."""
KITTY_PIXELS_PER_CELL = (4, 8)
"""Image pixels per cell sent with kitty (a typical cell is about 8 x 16): four times the
half-block's resolution each way, at a size an SSH link carries (`README`, Over SSH)."""
_UPPER_HALF = "▀"


class FrameViewer(Widget, can_focus=False):
    """The frame under the playhead (see the module's docstring)."""

    DEFAULT_CSS = """
    FrameViewer {
        width: 1fr;
        max-width: 64;
        height: 100%;
        display: none;
    }
    FrameViewer.-shown {
        display: block;
    }
    """

    asked: reactive[bool | None] = reactive(None, init=False)
    """F7's choice: shown (True), hidden (False), or None to follow the page and the width."""

    def __init__(self, graphics: Graphics | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graphics = graphics or Graphics("halfblock")
        self.picture: FramePicture | None = None
        """What is drawn: the region's picture (half-block: 1 x 2 pixels a cell)."""
        self.caption = ""
        self.shown_frame: int | None = None
        """The timeline frame the picture is of (what tests and the status compare)."""
        self._wanted: int | None = None  # the latest frame asked for, not decoded yet
        self._busy = False
        self._last_decode = float("-inf")
        self._timer_set = False
        self._unsubscribe: object = None
        self._sent_kitty: tuple[int, int] | None = None  # the placement's (columns, rows)
        self._cells: list[tuple[Cell, ...]] = []
        """The half-block cells on screen, by row: (upper RGB, lower RGB), quantised."""
        self._drawn_caption = ""
        self._sent_rgb = b""
        self._sixel = ""
        """The sixel picture of the region (its whole DCS sequence), written after a repaint."""
        self._sixel_pending = False
        self.terminal_write = self._write_to_terminal
        """Where graphics commands go (the terminal; a test catches them)."""

    @property
    def host(self) -> ReelcutApp:
        return self.app  # type: ignore[return-value]

    # -- when to show and what ----------------------------------------------------------

    def on_mount(self) -> None:
        host = self.host
        self.watch(host, "playhead", self._moved, init=False)
        self.watch(host, "pages_open", self._visibility, init=False)
        self._unsubscribe = host.session.subscribe(self._committed)
        self._visibility()

    def _committed(self, _change: object) -> None:
        """A session listener (any thread): the picture under the playhead may have changed."""
        self.post_message(Edited())

    def on_unmount(self) -> None:
        if callable(self._unsubscribe):
            self._unsubscribe()
        self._forget_kitty()

    def on_resize(self) -> None:
        # A picture of the old size would be drawn cropped or with a gap until the new one
        # comes: show none (and say no frame) meanwhile.
        self.picture, self.shown_frame, self._cells = None, None, []
        self._sixel = ""
        self.caption = self._drawn_caption = ""
        self.refresh()
        self._visibility()
        self.request()

    def watch_asked(self) -> None:
        self._visibility()

    def toggle(self) -> bool:
        """F7: show it if hidden, hide it if shown; whether it now shows."""
        self.asked = not self.has_class("-shown")
        return bool(self.asked)

    @property
    def wanted(self) -> bool:
        if self.asked is not None:
            return self.asked
        return self.host.pages_open == 0 and self.screen.size.width >= AUTO_MIN_WIDTH

    def _visibility(self, *_: object) -> None:
        show = self.wanted
        if show == self.has_class("-shown"):
            return
        self.set_class(show, "-shown")
        if show:
            self.request()
        else:
            self._forget_kitty()
            self._sixel = ""  # its cells go to the other panes, whose text covers it

    def _moved(self, frame: int) -> None:
        self.request()

    def on_edited(self, _message: Edited) -> None:
        self.request()

    def request(self) -> None:
        """Ask for the picture at the playhead: now when idle, after the previous decode,
        and at most `PLAYING_FPS` a second while playing (sixel: within
        `SIXEL_PLAYING_BYTES` a second too)."""
        if not self.has_class("-shown") or not self.is_mounted:
            return
        self._wanted = self.host.playhead
        if self._busy:
            return  # the decode in flight asks again when it ends
        wait = 0.0
        if self.host.playing:
            interval = max(1 / PLAYING_FPS, len(self._sixel) / SIXEL_PLAYING_BYTES)
            wait = self._last_decode + interval - time.monotonic()
        if wait > 0:
            if not self._timer_set:
                self._timer_set = True
                self.set_timer(wait, self._timer_fired)
            return
        self._start()

    def _timer_fired(self) -> None:
        self._timer_set = False
        self.request()

    def _start(self) -> None:
        frame = self._wanted
        if frame is None:
            return
        self._wanted = None
        size = self._picture_cells()
        if size.width < 1 or size.height < 1:
            return
        self._busy = True
        self._last_decode = time.monotonic()
        self.run_worker(
            self._decode(self.host.session.project, frame, size),
            group="viewer",
            exit_on_error=False,
        )

    def _picture_cells(self) -> Size:
        """The cells the picture takes: the region less its caption line."""
        w, h = self.size.width, self.size.height - 1
        if self.mode == "kitty":
            # Not the last column: tmux 3.3 hangs the marks of a character written there on
            # the cell before it (the cursor waits at the margin), so that cell would name
            # the wrong part of the image and the last one none.
            w, h = min(w - 1, MAX_CELLS), min(h, MAX_CELLS)
        elif self.mode == "sixel" and self.region.bottom >= self.screen.size.height:
            # Sixel ending on the screen's last line scrolls the terminal.
            h -= 1
        return Size(max(0, w), max(0, h))

    async def _decode(self, project: Project, frame: int, cells: Size) -> None:
        """The picture at ``frame`` from the door (decoded on a worker thread), then drawn.
        It always ends by drawing, so the next decode can start; a failure is said on the
        caption line."""
        mode = self.mode
        per_x, per_y = {"halfblock": (1, 2), "kitty": KITTY_PIXELS_PER_CELL}.get(
            mode, self.graphics.cell
        )
        # A cell is about twice as tall as wide, so these pixels are about square.
        width, height = cells.width * per_x, cells.height * per_y
        if mode == "sixel":
            height -= height % 6  # whole bands: a terminal draws the last one whole
        picture: FramePicture | None = None
        sixel = ""
        try:
            picture = await self.host.workspace.frame_picture(project, frame, width, height)
            caption = f" {picture.caption}"
            if mode == "sixel":
                px = picture.pixels
                sixel = await asyncio.to_thread(sixel_encode, px.width, px.height, px.rgb)
        except Exception as exc:  # never leave the viewer waiting for this decode
            caption = f" viewer: {type(exc).__name__}: {exc}"
        self._busy = False
        if cells != self._picture_cells():  # resized meanwhile: it no longer fits
            self.request()
            return
        self.caption = caption
        caption_changed = self.caption != self._drawn_caption
        self._drawn_caption = self.caption
        self.picture, self.shown_frame = picture, frame
        if picture is not None and self.mode == "kitty":
            self._send_kitty(picture, cells)
            self.refresh()
        elif self.mode == "sixel":
            if sixel != self._sixel:  # a still, a gap, a step within one source frame: not
                self._sixel = sixel
                self.refresh()  # blank cells under it, then it (`render_lines`)
            elif caption_changed:
                self.refresh(Region(0, 0, self.size.width, 1))
        else:
            self._redraw_cells(picture, caption_changed)
        if self._wanted is not None:
            self.request()

    def _redraw_cells(self, picture: FramePicture | None, caption_changed: bool) -> None:
        """Take the new picture's half-block cells and repaint only the span of each row that
        differs from what is on screen (a still scene, a paused step: a few cells)."""
        old = self._cells
        levels = TRUECOLOR_LEVELS if self._truecolor() else CUBE_LEVELS
        new = half_block_cells(picture.pixels, levels) if picture is not None else []
        self._cells = new
        if len(old) != len(new) or any(len(a) != len(b) for a, b in zip(old, new, strict=False)):
            self.refresh()
            return
        if caption_changed:
            self.refresh(Region(0, 0, self.size.width, 1))
        for y, (before, after) in enumerate(zip(old, new, strict=True)):
            changed = [x for x, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
            if changed:
                self.refresh(Region(changed[0], y + 1, changed[-1] - changed[0] + 1, 1))

    # -- kitty ---------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """How it draws: kitty where detected and the console writes 256 colours or more (the
        placeholders' colour names the image), sixel where detected, else half-block cells."""
        if self.graphics.mode == "kitty" and self.app.console.color_system in ("256", "truecolor"):
            return "kitty"
        return "sixel" if self.graphics.mode == "sixel" else "halfblock"

    def _truecolor(self) -> bool:
        return self.app.console.color_system == "truecolor"

    def _rgb_ids(self) -> bool:
        """Whether the placeholders' colour reaches the terminal in 24 bits (their image id
        is then the colour's value, else its palette index)."""
        return self._truecolor() and self.graphics.rgb_ids

    def _send_kitty(self, picture: FramePicture, cells: Size) -> None:
        pixels = picture.pixels
        if self._sent_kitty == (cells.width, cells.height) and self._sent_rgb == pixels.rgb:
            return  # the same picture (a still, a gap, a step within one source frame)
        self._sent_rgb = pixels.rgb
        image_id, _ = image_id_colour(self._rgb_ids())
        self.terminal_write(
            kitty_transmit(
                image_id,
                pixels.width,
                pixels.height,
                pixels.rgb,
                cells.width,
                cells.height,
                tmux=self.graphics.tmux,
            )
        )
        self._sent_kitty = (cells.width, cells.height)

    def _forget_kitty(self) -> None:
        if self._sent_kitty is not None:
            self._sent_kitty, self._sent_rgb = None, b""
            image_id, _ = image_id_colour(self._rgb_ids())
            self.terminal_write(kitty_delete(image_id, tmux=self.graphics.tmux))

    # -- sixel ---------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The compositor is painting some of the picture's cells (blank): draw the picture
        # again once that frame is out. Not for a one-line crop: that is the compositor
        # asking for the style under the mouse (`Compositor.get_style_at`), which paints
        # nothing, and a mouse moving over the picture would send it again each time.
        lines = super().render_lines(crop)
        if self._sixel and not self._sixel_pending and crop.bottom > 1 and crop.height > 1:
            self._sixel_pending = True
            self.call_after_refresh(self._write_sixel)
        return lines

    def _write_sixel(self) -> None:
        self._sixel_pending = False
        if not self._sixel or not self.has_class("-shown") or self.screen is not self.app.screen:
            return
        region = self.content_region
        column, row = self.graphics.pane if self.graphics.tmux else (0, 0)
        place = f"\x1b[{row + region.y + 2};{column + region.x + 1}H"
        # Saved and restored: Textual's idea of where the cursor is stays true.
        command = "\x1b7" + place + self._sixel + "\x1b8"
        self.terminal_write(wrap_for_tmux(command, self.graphics.tmux))

    def _write_to_terminal(self, data: str) -> None:
        # Between two of the compositor's frames: a graphics command moves no cursor and
        # prints nothing (q=2), so it cannot disturb what Textual has drawn.
        driver = self.app._driver
        if driver is not None:
            driver.write(data)
            driver.flush()

    # -- drawing -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            text = self.caption[:width].ljust(width)
            return Strip([Segment(text, Style(color="grey70", bgcolor="black"))], width)
        row = y - 1
        pixels = self.picture.pixels if self.picture is not None else None
        blank = Strip([Segment(" " * width, Style(bgcolor="black"))], width)
        if pixels is None or self.mode == "sixel":
            return blank
        if self.mode == "kitty":
            if self._sent_kitty is None:
                return blank
            columns, rows = self._sent_kitty
            if row >= rows:
                return blank
            _, rgb = image_id_colour(self._rgb_ids())
            style = Style.from_color(color=Color.from_rgb(*rgb))
            cells = [Segment(placeholder_row(row, columns), style)]
            if width > columns:
                cells.append(Segment(" " * (width - columns), Style(bgcolor="black")))
            return Strip(cells, width)
        return _half_block_row(self._cells[row], width) if row < len(self._cells) else blank


class Edited(Message):
    """A change was committed to the project (from any thread)."""


Cell = tuple[int, int, int, int, int, int]
"""A half-block cell: the upper pixel's RGB (the foreground) and the lower one's (the
background)."""
TRUECOLOR_LEVELS = tuple(range(0, 256, 17))
"""The values a channel of a half-block cell takes in 24-bit colour (16 levels): fewer distinct
cells from one frame to the next (a still scene's noise repaints nothing) and longer runs."""
CUBE_LEVELS = (0, 95, 135, 175, 215, 255)
"""In 256 colours: the levels of xterm's colour cube, which is what the terminal shows."""


def _quantiser(levels: tuple[int, ...]) -> bytes:
    """A `bytes.translate` table: each value to its nearest level."""
    return bytes(min(levels, key=lambda level: abs(level - v)) for v in range(256))


_QUANTISERS = {levels: _quantiser(levels) for levels in (TRUECOLOR_LEVELS, CUBE_LEVELS)}


def half_block_cells(pixels: Any, levels: tuple[int, ...]) -> list[tuple[Cell, ...]]:
    """The cell rows of a picture: pixel rows ``2y`` and ``2y + 1`` of each column, each
    channel at its nearest of ``levels``."""
    w, data = pixels.width, pixels.rgb.translate(_QUANTISERS[levels])
    rows = []
    for y in range(pixels.height // 2):
        top, bottom = 2 * y * w * 3, (2 * y + 1) * w * 3
        rows.append(
            tuple(
                (*data[top + 3 * x : top + 3 * x + 3], *data[bottom + 3 * x : bottom + 3 * x + 3])
                for x in range(w)
            )
        )
    return rows


def _half_block_row(cells: tuple[Cell, ...], width: int) -> Strip:
    """One row of cells, a run of equal cells written as one segment."""
    segments: list[Segment] = []
    run = 0
    last: Cell | None = None
    for cell in cells[:width]:
        if cell != last and last is not None:
            segments.append(_cell_run(last, run))
            run = 0
        last, run = cell, run + 1
    if last is not None:
        segments.append(_cell_run(last, run))
    if width > len(cells):
        segments.append(Segment(" " * (width - len(cells)), Style(bgcolor="black")))
    return Strip(segments, width)


def _cell_run(cell: Cell, run: int) -> Segment:
    """``run`` equal cells: ``▀`` in two colours, or spaces in one where both pixels are alike
    (half the colour sequence: a flat area costs about 20 bytes a style instead of 36)."""
    bg = Color.from_rgb(cell[3], cell[4], cell[5])
    if cell[:3] == cell[3:]:
        return Segment(" " * run, Style(bgcolor=bg))
    fg = Color.from_rgb(cell[0], cell[1], cell[2])
    return Segment(_UPPER_HALF * run, Style(color=fg, bgcolor=bg))
