"""A terminal screen read back as cells: tmux's ``capture-pane -p -e`` parsed into characters
with their foreground and background colours, and half-block pictures (``▀``) decoded back to
pixels (the upper pixel is the foreground, the lower the background)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len

RGB = tuple[int, int, int]
_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
_BASIC = [
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0),
    (0, 0, 128), (128, 0, 128), (0, 128, 128), (192, 192, 192),
    (128, 128, 128), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (0, 0, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip
_LEVELS = (0, 95, 135, 175, 215, 255)


def palette(n: int) -> RGB:
    """xterm's 256-colour palette."""
    if n < 16:
        return _BASIC[n]
    if n < 232:
        n -= 16
        return _LEVELS[n // 36], _LEVELS[(n // 6) % 6], _LEVELS[n % 6]
    v = 8 + (n - 232) * 10
    return v, v, v


@dataclass
class Cell:
    text: str
    fg: RGB | None
    bg: RGB | None


def _colour(params: list[int], i: int) -> tuple[RGB | None, int]:
    """The colour an extended SGR (38/48) names from ``params[i]`` on, and the next index."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return palette(params[i + 1]), i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        r, g, b = params[i + 1 : i + 4]
        return (r, g, b), i + 4
    return None, i + 1


def parse(lines: list[str]) -> list[list[Cell]]:
    """Rows of cells from ``capture-pane -p -e`` output (colours carried across lines, as
    tmux does not repeat them)."""
    fg: RGB | None = None
    bg: RGB | None = None
    rows: list[list[Cell]] = []
    for line in lines:
        row: list[Cell] = []
        at = 0
        for m in [*_SGR.finditer(line), None]:
            text = line[at : m.start() if m else len(line)]
            for ch in text:
                if cell_len(ch) == 0 and row:
                    row[-1].text += ch  # a combining mark stays with its cell
                else:
                    row.append(Cell(ch, fg, bg))
            if m is None:
                break
            at = m.end()
            params = [int(p or 0) for p in re.split("[;:]", m.group(1))] if m.group(1) else [0]
            i = 0
            while i < len(params):
                p = params[i]
                if p == 0:
                    fg = bg = None
                    i += 1
                elif p == 38:
                    fg, i = _colour(params, i + 1)
                elif p == 48:
                    bg, i = _colour(params, i + 1)
                elif p == 39:
                    fg, i = None, i + 1
                elif p == 49:
                    bg, i = None, i + 1
                elif 30 <= p <= 37:
                    fg, i = palette(p - 30), i + 1
                elif 40 <= p <= 47:
                    bg, i = palette(p - 40), i + 1
                elif 90 <= p <= 97:
                    fg, i = palette(p - 90 + 8), i + 1
                elif 100 <= p <= 107:
                    bg, i = palette(p - 100 + 8), i + 1
                else:
                    i += 1
        rows.append(row)
    return rows


def half_block_pixels(
    rows: list[list[Cell]], left: int, top: int, width: int, height: int
) -> list[list[RGB]]:
    """The pixels of the half-block picture in cells ``[left, left + width)`` x
    ``[top, top + height)``: two pixel rows a cell row (a space is its background twice)."""
    black: RGB = (0, 0, 0)
    out: list[list[RGB]] = []
    for y in range(top, top + height):
        upper: list[RGB] = []
        lower: list[RGB] = []
        for x in range(left, left + width):
            cell = rows[y][x] if x < len(rows[y]) else Cell(" ", None, None)
            bg = cell.bg or black
            upper.append((cell.fg or black) if cell.text == "▀" else bg)
            lower.append(bg)
        out += [upper, lower]
    return out


def ppm(pixels: list[list[RGB]]) -> bytes:
    """The pixels as a binary PPM (to look at them: ``ffmpeg -i x.ppm x.png``)."""
    h, w = len(pixels), len(pixels[0])
    body = bytes(v for row in pixels for px in row for v in px)
    return f"P6 {w} {h} 255\n".encode() + body
