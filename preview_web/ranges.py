"""HTTP Range requests (RFC 9110 §14) for media: parse, check, and say what to send.

``parse("bytes=0-99, 200-", size)`` gives the byte spans to send, in the order asked, or
raises `Unsatisfiable` (answer 416 with ``Content-Range: bytes */size``). A header that is not a
``bytes`` range at all, or is malformed, is ignored (answer 200 with the whole file), as the RFC
asks. Empty list elements (``bytes=0-1,,2-3``, ``bytes=,0-1``) are skipped, as RFC 9110 §5.6.1
asks of a recipient; a header with no range in it at all (``bytes=,``) is malformed.

More than ``MAX_RANGES`` ranges, or more than ``MAX_ELEMENTS`` list elements counting empty
ones, is refused as unsatisfiable without reading the rest of the header, so a 10,000-range
header costs no more than a 65-range one (RFC 9110 lets a server refuse "many small or
overlapping ranges").
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_RANGES = 64
# Empty elements are "a reasonable number" (RFC 9110 §5.6.1) up to as many as the ranges.
MAX_ELEMENTS = 2 * MAX_RANGES
# first-pos "-" [ last-pos ], or "-" suffix-length: ASCII digits only (str.isdigit takes "²").
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
_OWS = " \t"


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
    if unit.strip(_OWS).lower() != "bytes":
        return None
    elements = spec.split(",", MAX_ELEMENTS)
    if len(elements) > MAX_ELEMENTS:
        raise Unsatisfiable(f"more than {MAX_ELEMENTS} list elements")
    specs = [e.strip(_OWS) for e in elements if e.strip(_OWS)]
    if not specs:
        return None  # "bytes=" or "bytes=,": no range-spec, so not a range header
    if len(specs) > MAX_RANGES:
        raise Unsatisfiable(f"more than {MAX_RANGES} ranges")
    spans: list[Span] = []
    for element in specs:
        match = _RANGE_SPEC.fullmatch(element)
        if match is None or match.group() == "-":
            return None  # malformed: ignore the header
        first, last = match.groups()
        if not first:
            suffix = int(last)
            if suffix == 0 or size == 0:
                continue  # selects nothing (an empty file has no last bytes to give)
            spans.append(Span(max(0, size - suffix), size - 1))
            continue
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            return None  # an invalid range: the whole header is ignored
        if start >= size:
            continue  # unsatisfiable on its own; others may still be satisfiable
        spans.append(Span(start, min(end, size - 1)))
    if not spans:
        raise Unsatisfiable("no range overlaps the file")
    return spans
