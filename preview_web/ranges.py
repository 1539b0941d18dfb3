"""HTTP Range requests (RFC 9110 §14) for media: parse, check, and say what to send.

``parse("bytes=0-99, 200-", size)`` gives the byte spans to send, in the order asked, or
raises `Unsatisfiable` (answer 416 with ``Content-Range: bytes */size``). A header that is not a
``bytes`` range at all is ignored (answer 200 with the whole file), as the RFC asks. More than
``MAX_RANGES`` ranges is refused as unsatisfiable without reading the rest of the header, so a
10,000-range header costs no more than a 65-range one (RFC 9110 lets a server refuse "many
small or overlapping ranges").
"""

from __future__ import annotations

from typing import NamedTuple

MAX_RANGES = 64


class Span(NamedTuple):
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """416 Range Not Satisfiable."""


def parse(header: str | None, size: int) -> list[Span] | None:
    """The spans ``header`` asks for in a file of ``size`` bytes; None: serve the whole file."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = spec.split(",", MAX_RANGES)
    if len(parts) > MAX_RANGES:
        raise Unsatisfiable(f"more than {MAX_RANGES} ranges")
    spans: list[Span] = []
    for part in parts:
        first, dash, last = part.strip().partition("-")
        if not dash:
            return None  # malformed: ignore the header
        try:
            if first == "":
                suffix = int(last)
                if suffix < 0 or last.strip() != last or not last.isdigit():
                    return None
                if suffix == 0:
                    continue  # "-0" selects nothing
                spans.append(Span(max(0, size - suffix), size - 1))
                continue
            if not first.isdigit() or (last and not last.isdigit()):
                return None
            start = int(first)
            end = int(last) if last else size - 1
        except ValueError:
            return None
        if start >= size and (not last or end >= start):
            continue  # unsatisfiable on its own; others may still be satisfiable
        if end < start:
            return None  # an invalid range: the whole header is ignored
        spans.append(Span(start, min(end, size - 1)))
    if not spans:
        raise Unsatisfiable("no range overlaps the file")
    return spans
