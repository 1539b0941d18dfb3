"""Pure text helpers of the script panes: the common ends of two texts (to splice one into
the other in place), offsets and (row, column) locations, and find with smart case."""

from __future__ import annotations


def common_ends(a: str, b: str) -> tuple[int, int]:
    """(length of the common prefix, length of the common suffix not overlapping it), by
    halving with slice compares (fast in C for long texts)."""
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    prefix = lo
    lo, hi = 0, n - prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return prefix, lo


def location(text: str, offset: int) -> tuple[int, int]:
    """(row, column) of a character offset."""
    row = text.count("\n", 0, offset)
    return row, offset - (text.rfind("\n", 0, offset) + 1)


def offset_of(text: str, loc: tuple[int, int]) -> int:
    row, col = loc
    start = 0
    for _ in range(row):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text)
        start = nl + 1
    end = text.find("\n", start)
    return min(start + col, len(text) if end < 0 else end)


def find(text: str, query: str, start: int, *, backwards: bool = False) -> tuple[int, int] | None:
    """The next match of ``query`` from ``start`` (wrapping around); smart case: a query with a
    capital letter matches case exactly, else case is ignored."""
    if not query:
        return None
    hay, needle = (text, query) if query != query.lower() else (text.lower(), query.lower())
    if backwards:
        i = hay.rfind(needle, 0, max(0, start))
        if i < 0:
            i = hay.rfind(needle)
    else:
        i = hay.find(needle, start)
        if i < 0:
            i = hay.find(needle)
    return None if i < 0 else (i, i + len(query))


def count_matches(text: str, query: str) -> int:
    if not query:
        return 0
    return (text if query != query.lower() else text.lower()).count(
        query if query != query.lower() else query.lower()
    )
