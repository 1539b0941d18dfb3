"""A minimal terminal screen for the terminal benchmarks: enough of a VT parser to follow
what Textual writes (cursor moves, text, erases) and to say where each byte landed.

Not an emulator: styles (SGR), modes and private sequences are skipped, not interpreted; a
character is one cell unless Rich measures it as two. What it gives the benchmarks:

- ``text(row)``: what a row shows, to wait for a change a key should make;
- ``bytes_at``: the bytes of the stream, each counted at the cell the cursor stood on when it
  was written (a cursor move counts at its target), for a breakdown by region;
- counts of cursor moves, SGR sequences and resets (``ESC[0m``), for the per-cell overhead.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

from rich.cells import cell_len

# One token: a CSI sequence, an OSC/DCS/APC string, another escape, or a run of text.
_TOKEN = re.compile(
    r"\x1b\[([0-9;?<>=!]*)([ -/]*)([@-~])"  # CSI params, intermediates, final
    r"|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, APC, PM up to BEL / ST
    r"|\x1b[ -/]*[0-OQ-Z\\`-~]"  # other escapes (ESC 7, ESC 8, ESC ( B ...)
    r"|[^\x1b]+"  # text and C0 controls
    r"|\x1b",  # a lone escape (the rest arrives in the next chunk)
    re.S,
)


class Screen:
    """``width`` x ``height`` cells of text and a cursor, fed the terminal's output stream."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.rows = [[" "] * width for _ in range(height)]
        self.x = 0
        self.y = 0
        self._saved = (0, 0)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self.bytes_at: Counter[tuple[int, int]] = Counter()
        """Bytes written by (row, column) where they landed (clamped to the screen)."""
        self.moves = 0
        """Cursor-position sequences (CSI ... H)."""
        self.sgr = 0
        """Style sequences (CSI ... m)."""
        self.resets = 0
        """Style resets (``ESC[0m`` / ``ESC[m``)."""
        self.total = 0

    # -- reading ----------------------------------------------------------------------------

    def text(self, row: int) -> str:
        return "".join(self.rows[row]) if 0 <= row < self.height else ""

    def dump(self) -> str:
        return "\n".join(self.text(y) for y in range(self.height))

    def reset_counts(self) -> None:
        self.bytes_at.clear()
        self.moves = self.sgr = self.resets = self.total = 0

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the stream (any split: escapes and UTF-8 may straddle)."""
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        pos = 0
        n = len(text)
        while pos < n:
            m = _TOKEN.match(text, pos)
            assert m is not None  # the last alternative matches any escape
            token = m.group(0)
            if (token == "\x1b" and n - pos < 64) or (
                token.startswith("\x1b") and m.end() == n and not _complete(token)
            ):
                self._pending = text[pos:]  # wait for the rest of the sequence
                return
            pos = m.end()
            if m.group(3) is not None:
                self._csi(m.group(1), m.group(3), len(token))
            elif token[0] == "\x1b":
                self._escape(token)
            else:
                self._text(token)

    def _count(self, nbytes: int) -> None:
        self.total += nbytes
        y = min(max(self.y, 0), self.height - 1)
        x = min(max(self.x, 0), self.width - 1)
        self.bytes_at[(y, x)] += nbytes

    def _csi(self, params: str, final: str, nbytes: int) -> None:
        args = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []

        def arg(i: int, default: int) -> int:
            return args[i] if len(args) > i and args[i] else default

        private = params.startswith("?")
        if final in "Hf" and not private:
            self.y, self.x = arg(0, 1) - 1, arg(1, 1) - 1
            self.moves += 1
        elif final == "A":
            self.y = max(0, self.y - arg(0, 1))
        elif final == "B":
            self.y = min(self.height - 1, self.y + arg(0, 1))
        elif final == "C":
            self.x = min(self.width - 1, self.x + arg(0, 1))
        elif final == "D":
            self.x = max(0, self.x - arg(0, 1))
        elif final == "G":
            self.x = arg(0, 1) - 1
        elif final == "d":
            self.y = arg(0, 1) - 1
        elif final == "K" and not private:
            self._erase_line(arg(0, 0))
        elif final == "J" and not private:
            self._erase_screen(arg(0, 0))
        elif final == "m":
            self.sgr += 1
            if params in ("", "0"):
                self.resets += 1
        self._count(nbytes)

    def _escape(self, token: str) -> None:
        if token == "\x1b7":
            self._saved = (self.y, self.x)
        elif token == "\x1b8":
            self.y, self.x = self._saved
        self._count(len(token.encode("utf-8", "replace")))

    def _text(self, token: str) -> None:
        for ch in token:
            nbytes = len(ch.encode("utf-8", "replace"))
            if ch == "\r":
                self.x = 0
            elif ch == "\n":
                self.y = min(self.height - 1, self.y + 1)
            elif ch == "\b":
                self.x = max(0, self.x - 1)
            elif ch < " " or ch == "\x7f":
                pass
            else:
                self._count(nbytes)
                if 0 <= self.y < self.height and 0 <= self.x < self.width:
                    self.rows[self.y][self.x] = ch
                    self.x += max(1, cell_len(ch))
                continue
            self._count(nbytes)

    def _erase_line(self, mode: int) -> None:
        if not 0 <= self.y < self.height:
            return
        row = self.rows[self.y]
        start, end = {0: (self.x, self.width), 1: (0, self.x + 1)}.get(mode, (0, self.width))
        for x in range(max(0, start), min(self.width, end)):
            row[x] = " "

    def _erase_screen(self, mode: int) -> None:
        if mode in (2, 3):
            self.rows = [[" "] * self.width for _ in range(self.height)]
            return
        saved_x = self.x
        if mode == 0:
            self._erase_line(0)
            ys = range(self.y + 1, self.height)
        else:
            self._erase_line(1)
            ys = range(0, self.y)
        for y in ys:
            self.rows[y] = [" "] * self.width
        self.x = saved_x


def _complete(token: str) -> bool:
    """An escape token at the very end of a chunk is whole (not cut by the chunk's end)."""
    if token.startswith(("\x1b]", "\x1bP", "\x1b_", "\x1b^")):
        return token.endswith(("\x07", "\x1b\\"))
    return len(token) >= 2
