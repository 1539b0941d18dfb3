"""The lines of a text as the text tools number them, without a list of every line.

The tools number lines the way ``str.splitlines`` splits them (``\\n``, ``\\r\\n``, a lone
``\\r`` and the other Unicode line boundaries). Splitting a 100 MB script into a list of its
two million lines cost more memory than the file and the join after an edit as much again, for
a call that reads or changes a few lines. `Lines` finds line ``n`` by counting line breaks in
chunks (C speed), so a call costs the file once plus the lines it touches. A text with a line
boundary other than ``\\n`` and ``\\r\\n`` (rare: old Mac files, form feeds) keeps the list,
so the numbering stays exactly ``splitlines``'.
"""

from __future__ import annotations

# Line boundaries of str.splitlines besides "\n" (and the "\r" of "\r\n"), each looked for
# with `in` (a C search, ten times a regex's speed over a large text).
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_CHUNK = 1 << 20


class Lines:
    """``text``'s lines, each with its line break: ``len``, ``lines[i]`` (0-based) and
    ``offset(i)``, where line ``i`` starts (``len(text)`` for ``i == len(lines)``)."""

    def __init__(self, text: str) -> None:
        self.text = text
        odd = ("\r" in text and text.count("\r") != text.count("\r\n")) or any(
            c in text for c in _OTHER_BREAKS
        )
        self._list = text.splitlines(keepends=True) if odd else None
        if self._list is not None:
            self._count = len(self._list)
        else:
            self._count = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
        # The last line found and where it starts: reads go forward line by line.
        self._at = (0, 0)

    def __len__(self) -> int:
        return self._count

    def offset(self, i: int) -> int:
        """Where line ``i`` starts in the text."""
        if not 0 <= i <= self._count:
            raise IndexError(i)
        if i == self._count:
            return len(self.text)
        if self._list is not None:
            return sum(len(line) for line in self._list[:i])
        line, pos = self._at if self._at[0] <= i else (0, 0)
        pos = _skip(self.text, pos, i - line)
        self._at = (i, pos)
        return pos

    def __getitem__(self, i: int) -> str:
        if self._list is not None:
            return self._list[i]
        if not 0 <= i < self._count:
            raise IndexError(i)
        start = self.offset(i)
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start : end + 1]


def _skip(text: str, pos: int, n: int) -> int:
    """Just past the ``n``-th ``\\n`` at or after ``pos``."""
    while n > 0:
        end = min(pos + _CHUNK, len(text))
        if end == pos:
            raise IndexError("past the last line")
        count = text.count("\n", pos, end)
        if count < n:
            n -= count
            pos = end
            continue
        while end - pos > 4096:
            mid = (pos + end) // 2
            count = text.count("\n", pos, mid)
            if count >= n:
                end = mid
            else:
                n -= count
                pos = mid
        for _ in range(n):
            pos = text.index("\n", pos) + 1
        return pos
    return pos
