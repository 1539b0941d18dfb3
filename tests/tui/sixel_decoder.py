"""A small sixel decoder for the tests: a DCS ... q ... ST sequence back to RGB pixels, the way
a terminal reads it (raster attributes, ``#`` colour definitions and selections, ``!n``
repeats, ``$`` carriage return, ``-`` next band). Written from the VT330/340 manual's grammar,
not from the encoder, so the encoder's mistakes do not cancel out."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DCS = re.compile(r"\x1bP([0-9;]*)q(.*?)\x1b\\", re.S)
_TOKEN = re.compile(r'"([0-9;]*)|#([0-9;]*)|!(\d+)(.)|([?-~])|(\$)|(-)', re.S)


@dataclass
class Decoded:
    width: int
    height: int
    pixels: list[list[tuple[int, int, int] | None]]
    """Rows of pixels; None where no colour was put (a pixel the picture leaves alone)."""
    declared: tuple[int, int]
    """The raster attributes' width and height."""


def decode(text: str) -> Decoded:
    """The picture of the one sixel sequence in ``text``."""
    found = _DCS.findall(text)
    assert len(found) == 1, f"{len(found)} sixel sequences"
    _params, body = found[0]
    palette: dict[int, tuple[int, int, int]] = {}
    colour = 0
    x = band = 0
    declared = (0, 0)
    put: dict[tuple[int, int], tuple[int, int, int]] = {}
    at = 0
    while at < len(body):
        m = _TOKEN.match(body, at)
        assert m, f"not sixel at {at}: {body[at : at + 20]!r}"
        at = m.end()
        raster, define, count, repeated, char, cr, nl = m.groups()
        if raster is not None:
            pan, pad, w, h = (int(v) for v in raster.split(";"))
            assert (pan, pad) == (1, 1)
            declared = (w, h)
        elif define is not None:
            values = [int(v) for v in define.split(";")]
            colour = values[0]
            if len(values) == 5:
                assert values[1] == 2, "RGB colours only"
                palette[colour] = tuple(round(v * 255 / 100) for v in values[2:])  # type: ignore[assignment]
        elif count is not None or char is not None:
            n, c = (int(count), repeated) if count is not None else (1, char)
            bits = ord(c) - 63
            assert 0 <= bits < 64, repr(c)
            for _ in range(n):
                for k in range(6):
                    if bits >> k & 1:
                        put[(x, band * 6 + k)] = palette[colour]
                x += 1
        elif cr is not None:
            x = 0
        elif nl is not None:
            x, band = 0, band + 1
    width = max([declared[0]] + [px + 1 for px, _ in put])
    height = max([declared[1]] + [py + 1 for _, py in put])
    pixels: list[list[tuple[int, int, int] | None]] = [[None] * width for _ in range(height)]
    for (px, py), rgb in put.items():
        pixels[py][px] = rgb
    return Decoded(width, height, pixels, declared)
