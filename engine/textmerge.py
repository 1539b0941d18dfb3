"""A line-based three-way merge: the edits that turned ``base`` into ``mine`` and those that
turned it into ``theirs``, both applied, when they do not touch the same lines.

Used when a script pane has unsaved edits and the file changed on disk (an agent changeset,
another editor): the pane loaded ``base``; if the two sets of edits are apart, both are kept.
Edits that overlap or touch (adjacent lines, an insertion at the edge of the other's change)
are a conflict, as in git: `merge3` returns None and the person chooses.
"""

from __future__ import annotations

from engine.linediff import line_changes


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def merge3(base: str, mine: str, theirs: str) -> str | None:
    """Both sides' edits on ``base``, or None when they overlap or touch."""
    if mine == theirs or theirs == base:
        return mine
    if mine == base:
        return theirs
    old = _lines(base)
    a, b = _lines(mine), _lines(theirs)
    # (base_lo, base_hi, replacement lines) from each side, in base order
    ours = [(lo, hi, a[alo:ahi]) for lo, hi, alo, ahi in line_changes(old, a)]
    other = [(lo, hi, b[blo:bhi]) for lo, hi, blo, bhi in line_changes(old, b)]
    changes = sorted(ours + other, key=lambda c: (c[0], c[1]))
    out: list[str] = []
    cursor = 0
    last: tuple[int, int, list[str]] | None = None
    for lo, hi, lines in changes:
        if last is not None and lo <= last[1]:
            if (lo, hi, lines) == last:  # the same edit on both sides
                continue
            return None
        out.extend(old[cursor:lo])
        out.extend(lines)
        cursor = hi
        last = (lo, hi, lines)
    out.extend(old[cursor:])
    return "".join(out)
