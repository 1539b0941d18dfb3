"""Whether an mp4 or a JPEG file is whole, and a JPEG's size, read from box and marker headers.

The derivatives' freshness checks and builders ask these of ffmpeg's output without decoding
it: a truncated or unfinished file fails them, and none reads a media payload.
"""

from __future__ import annotations

import os
from pathlib import Path

_READ_CHUNK = 64 * 1024


def mp4_complete(path: Path) -> bool:
    """The top-level boxes of ``path`` follow each other to exactly its end, with ftyp, moov
    and mdat among them (a truncated or unfinished mp4 fails this)."""
    size = path.stat().st_size
    seen: set[bytes] = set()
    pos = 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                return False
            box = int.from_bytes(head[:4], "big")
            if box == 1 and len(head) == 16:
                box = int.from_bytes(head[8:16], "big")
            elif box == 0:
                box = size - pos
            if box < 8:
                return False
            seen.add(head[4:8])
            pos += box
    return pos == size and {b"ftyp", b"moov", b"mdat"} <= seen


def jpeg_complete(path: Path) -> bool:
    """``path`` ends in the JPEG end marker and has a frame header with a size."""
    with open(path, "rb") as f:
        f.seek(-2, os.SEEK_END)
        if f.read(2) != b"\xff\xd9":
            return False
    return jpeg_file_size(path) is not None


def jpeg_file_size(path: Path) -> tuple[int, int] | None:
    """`jpeg_size` of the first 64 KiB of the file at ``path`` (where ffmpeg puts the header)."""
    with open(path, "rb") as f:
        return jpeg_size(f.read(_READ_CHUNK))


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the frame header of the JPEG starting ``data``, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        # SOF0..SOF15 carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None
