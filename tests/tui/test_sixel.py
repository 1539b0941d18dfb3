"""The sixel encoder (`tui.sixel`) read back by a decoder written in the tests
(`tests.tui.sixel_decoder`): every pixel comes back within the colour cube's quantisation
error, on solid colours, bars and noise, at sizes that are and are not whole bands."""

from __future__ import annotations

import random

import pytest

from tests.tui.sixel_decoder import decode
from tui.sixel import cube_rgb, encode

QUANTISATION = 26
"""The most a channel can be off: half a cube step (25.5), plus percent rounding."""


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    return bytes(rgb) * (width * height)


def bars(width: int, height: int, colours: list[tuple[int, int, int]]) -> bytes:
    """Vertical bars, one per colour, left to right (a bar code of colours)."""
    row = b"".join(bytes(colours[x * len(colours) // width]) for x in range(width))
    return row * height


def off_by(width: int, height: int, rgb: bytes, text: str) -> int:
    """The largest channel difference between ``rgb`` and the decoded ``text`` (and that every
    pixel was put, no more, no fewer)."""
    got = decode(text)
    assert got.declared == (width, height)
    assert (got.width, got.height) == (width, height)
    worst = 0
    for y in range(height):
        for x in range(width):
            px = got.pixels[y][x]
            assert px is not None, f"pixel {x},{y} never drawn"
            want = rgb[(y * width + x) * 3 : (y * width + x) * 3 + 3]
            worst = max(worst, *(abs(a - b) for a, b in zip(px, want, strict=True)))
    return worst


@pytest.mark.parametrize(("width", "height"), [(1, 1), (7, 6), (13, 11), (40, 30)])
@pytest.mark.parametrize(
    "rgb", [(0, 0, 0), (255, 255, 255), (255, 0, 0), (12, 200, 99), (128, 128, 128)]
)
def test_a_solid_picture_decodes_to_its_colour(
    width: int, height: int, rgb: tuple[int, int, int]
) -> None:
    data = solid(width, height, rgb)
    assert off_by(width, height, data, encode(width, height, data)) <= QUANTISATION


def test_cube_colours_come_back_exactly() -> None:
    colours = [cube_rgb(i) for i in range(0, 216, 7)]
    data = bars(len(colours) * 3, 13, colours)
    assert off_by(len(colours) * 3, 13, data, encode(len(colours) * 3, 13, data)) <= 1


def test_bars_keep_their_edges() -> None:
    """Black and white bars of a frame code: each column comes back its own colour."""
    colours = [(255, 255, 255) if bit == "1" else (0, 0, 0) for bit in "1011001110001011"]
    width, height = 160, 17
    data = bars(width, height, colours)
    text = encode(width, height, data)
    assert off_by(width, height, data, text) == 0
    assert "!10" in text  # ten equal columns are one repeat, not ten characters


def test_noise_within_the_quantisation_error() -> None:
    width, height = 50, 23
    data = random.Random(4).randbytes(width * height * 3)
    assert off_by(width, height, data, encode(width, height, data)) <= QUANTISATION


def test_its_shape() -> None:
    text = encode(2, 1, bytes([255, 0, 0, 0, 0, 255]))
    # DCS with P2 = 1, square pixels and the size, the two colours, one band: blue in
    # column 1 (column 0 nothing: ``?``; row 0: ``@``) and, after ``$``, red in column 0; ST.
    assert text == '\x1bP0;1;0q"1;1;2;1#5;2;0;0;100#180;2;100;0;0#5?@$#180@\x1b\\'


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="not a 3x2 RGB picture"):
        encode(3, 2, b"\0" * 10)
