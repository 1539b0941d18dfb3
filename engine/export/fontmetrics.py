"""A font file's vertical metrics, read from its ``head`` and ``hhea`` tables.

The page's text sits in a CSS line box of ``line-height: normal``: Chromium (Skia over
FreeType on Linux) takes the font's ascender, descender and line gap, rounds each to whole
pixels at the font size, and puts the baseline ``ascent + line_gap / 2`` below the line box's
top. The export draws the same text with drawtext, which places glyphs by their own bounding
boxes; `line_box` gives the numbers that put its baseline and background where the page's are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ReelcutError


@dataclass(frozen=True)
class LineBox:
    """One line of text at a size, in whole pixels as Chromium lays it out."""

    ascent: int
    descent: int
    line_gap: int

    @property
    def height(self) -> int:
        return self.ascent + self.descent + self.line_gap

    @property
    def baseline(self) -> float:
        """The baseline's distance below the line box's top."""
        return self.ascent + self.line_gap / 2


def _tables(data: bytes, offset: int) -> dict[bytes, int]:
    (count,) = struct.unpack_from(">H", data, offset + 4)
    return {
        data[offset + 12 + 16 * i : offset + 16 + 16 * i]: struct.unpack_from(
            ">I", data, offset + 20 + 16 * i
        )[0]
        for i in range(count)
    }


def line_box(font_file: str, size: float) -> LineBox:
    """``font_file``'s line box at ``size`` px (the first face of a collection)."""
    data = Path(font_file).read_bytes()
    offset = struct.unpack_from(">I", data, 12)[0] if data[:4] == b"ttcf" else 0
    tables = _tables(data, offset)
    if b"head" not in tables or b"hhea" not in tables:
        raise ReelcutError(f"{font_file} has no head/hhea table: not a TrueType/OpenType font")
    (units,) = struct.unpack_from(">H", data, tables[b"head"] + 18)
    ascender, descender, gap = struct.unpack_from(">hhh", data, tables[b"hhea"] + 4)
    scale = size / units
    return LineBox(round(ascender * scale), round(-descender * scale), round(gap * scale))
