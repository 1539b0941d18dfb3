"""A change to a large file kept as what changed (line splices), not as whole copies.

A file change holds the text before and after. For a large file that cost the file's size
several times over for a one-line edit: inserting a line into a 100 MB script grew
state.sqlite by 392 MB (before and after in the changeset, both again in the call's audit)
and printed 206 MB of JSON. So a change to a file over `LARGE` bytes (on either side, when it
exists on both) is kept as **splices**: ``(line, old, new)``, the whole lines ``old`` that
start at line index ``line`` (0-based) of the text before become ``new``. The version the
splices apply to is the file itself, named by its sha256; splices in reverse give the before
back from the after. Every result is checked against the hash it must have, so a splice that
does not fit is an error, never a wrong file.

Lines are counted at ``\\n`` only, which in UTF-8 is the same byte in text and on disk, so the
splices apply to the file's bytes without decoding them (`apply`), and a file's line ``n``
(`_skip_lines`) is found with C-speed counts, not a list of every line. `splices` finds what
changed the same way: the common prefix and suffix by slice compares in chunks, then
`engine.linediff` only inside a changed region larger than `SPLIT_FROM` (and up to
`SPLIT_UNTIL`: past it the region is one splice, so the time and memory stay linear). A
one-line edit costs the bytes of that line (plus a few of context in the display diff,
`unified`), whatever the file's size.

Edits far apart in one file would make one changed region as long as the file between them;
`compose` instead joins the splices of two successive changes (the changeset's so far, then
one tool call's) into the splices of both, at the cost of the changes, not of the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from engine.linediff import line_changes
from engine.textdiff import unified_diff

LARGE = 1 << 20
"""Files over this many bytes (UTF-8) are changed as splices."""
SPLIT_FROM = 64 * 1024
"""A changed region of more characters than this (both sides together) is split into the
splices `engine.linediff` finds inside it; a smaller one is one splice."""
SPLIT_UNTIL = 4 << 20
"""...and one of more characters than this is one splice again: matching millions of lines
costs seconds and gigabytes (two edits 60 MB apart: 4.7 s, 1.9 GB), while a tool call changes
one place, and `compose` keeps several calls' places apart."""
PREVIEW_CHARS = 16 * 1024
"""Characters of a large file's diff that a tool's answer shows (the changeset has it all)."""
CONTEXT = 3
"""Lines of context around each change in the display diff, as git."""

_CHUNK = 64 * 1024
_HASH_CHUNK = 1 << 20

Splice = tuple[int, str, str]
Text = TypeVar("Text", str, bytes)


class DeltaMismatch(ValueError):
    """The splices do not fit the text they are applied to."""


def digest(text: str) -> tuple[str, int]:
    """(sha256 of ``text`` in UTF-8, its size in bytes), without a whole encoded copy."""
    h = hashlib.sha256()
    size = 0
    for i in range(0, len(text), _HASH_CHUNK):
        chunk = text[i : i + _HASH_CHUNK].encode("utf-8")
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


# -- finding the change --------------------------------------------------------------------------


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix: chunk compares, then a binary search."""
    n = min(len(a), len(b))
    lo = 0
    while lo < n:
        hi = min(lo + _CHUNK, n)
        if a[lo:hi] != b[lo:hi]:
            while hi - lo > 1:  # a[:lo] == b[:lo] and a[lo:hi] != b[lo:hi]
                mid = (lo + hi) // 2
                if a[lo:mid] == b[lo:mid]:
                    lo = mid
                else:
                    hi = mid
            return lo
        lo = hi
    return n


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length (at most ``limit``) of the longest common suffix."""
    la, lb = len(a), len(b)
    lo = 0
    while lo < limit:
        hi = min(lo + _CHUNK, limit)
        if a[la - hi : la - lo] != b[lb - hi : lb - lo]:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if a[la - mid : la - lo] == b[lb - mid : lb - lo]:
                    lo = mid
                else:
                    hi = mid
            return lo
        lo = hi
    return limit


def _lines(text: str) -> list[str]:
    """``text`` split after each ``\\n``, every line keeping it (the last one maybe not)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def splices(before: str, after: str) -> list[Splice]:
    """The splices that turn ``before`` into ``after`` (none when they are equal)."""
    if before == after:
        return []
    start = _common_prefix(before, after)
    start = before.rfind("\n", 0, start) + 1  # back to the start of its line (the same in both)
    tail = _common_suffix(before, after, min(len(before), len(after)) - start)
    end_b, end_a = len(before) - tail, len(after) - tail
    at_line_start = (end_b == start or before[end_b - 1] == "\n") and (
        end_a == start or after[end_a - 1] == "\n"
    )
    if tail and not at_line_start:
        # The suffix must begin with a whole line on both sides: it is the same text on both,
        # so just past its first newline is a line start in each.
        newline = before.find("\n", end_b)
        tail = len(before) - newline - 1 if newline != -1 else 0
        end_b, end_a = len(before) - tail, len(after) - tail
    line = before.count("\n", 0, start)
    old, new = before[start:end_b], after[start:end_a]
    if not SPLIT_FROM < len(old) + len(new) <= SPLIT_UNTIL:
        return [(line, old, new)]
    a, b = _lines(old), _lines(new)
    return [
        (line + a0, "".join(a[a0:a1]), "".join(b[b0:b1])) for a0, a1, b0, b1 in line_changes(a, b)
    ]


def _count(text: str) -> int:
    """Lines in a splice's side (whole lines, the last at the end of a file maybe partial)."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def compose(first: list[Splice], second: list[Splice]) -> list[Splice]:
    """The splices from A to C, given ``first`` (A to B) and ``second`` (B to C), worked out on
    the splices alone (no text of A, B or C is needed): what the two touch, in B, becomes one
    splice. Raises `DeltaMismatch` if ``second`` does not fit what ``first`` made."""
    # Each splice as an interval of B's lines: (start in B, lines in B, splice, from first?).
    spans: list[tuple[int, int, Splice, bool]] = []
    shift = 0
    for f in first:
        spans.append((f[0] + shift, _count(f[2]), f, True))
        shift += _count(f[2]) - _count(f[1])
    spans += [(s[0], _count(s[1]), s, False) for s in second]
    spans.sort(key=lambda span: (span[0], not span[3]))
    groups: list[list[tuple[int, int, Splice, bool]]] = []
    end = -1
    for span in spans:
        if groups and span[0] <= end:  # overlapping or touching: one change
            groups[-1].append(span)
            end = max(end, span[0] + span[1])
        else:
            groups.append([span])
            end = span[0] + span[1]
    out: list[Splice] = []
    shift = 0  # B minus A, before the group
    for group in groups:
        start = group[0][0]
        stop = max(b + n for b, n, _, _ in group)
        mid: list[str | None] = [None] * (stop - start)  # B's lines in the group
        for b, n, (_, old, new), is_first in group:
            lines = _lines(new if is_first else old)
            if len(lines) != n:
                raise DeltaMismatch("a splice's lines are not whole")
            for i, text in enumerate(lines):
                have = mid[b - start + i]
                if have is not None and have != text:
                    raise DeltaMismatch(f"the changes disagree at line {b + i + 1}")
                mid[b - start + i] = text
        if any(text is None for text in mid):
            raise DeltaMismatch("the changes leave a gap")
        firsts = [(b, n, f) for b, n, f, is_first in group if is_first]
        seconds = [s for _, _, s, is_first in group if not is_first]
        before: list[str] = []  # A's lines in the group: first's old, or B's where it kept A
        b = start
        for fb, fn, (_, old, _) in firsts:
            before += [t for t in mid[b - start : fb - start] if t is not None]
            before.append(old)
            b = fb + fn
        before += [t for t in mid[b - start :] if t is not None]
        after: list[str] = []  # C's lines in the group: B's with second's splices
        b = start
        for line, old, new in seconds:
            after += [t for t in mid[b - start : line - start] if t is not None]
            after.append(new)
            b = line + _count(old)
        after += [t for t in mid[b - start :] if t is not None]
        old_text, new_text = "".join(before), "".join(after)
        if old_text != new_text:
            out.append((start - shift, old_text, new_text))
        shift += sum(_count(f[2]) - _count(f[1]) for _, _, f in firsts)
    return out


def encode(found: list[Splice]) -> str:
    return json.dumps([list(s) for s in found], ensure_ascii=False)


def decode(text: str) -> list[Splice]:
    return [(int(line), str(old), str(new)) for line, old, new in json.loads(text)]


def size(found: list[Splice]) -> int:
    """Characters the splices hold (what a change to a large file costs to keep)."""
    return sum(len(old) + len(new) for _, old, new in found)


# -- applying it -----------------------------------------------------------------------------------


def _skip_lines(text: Text, pos: int, n: int) -> int:
    """The offset just past the ``n``-th line break at or after ``pos`` (``pos`` for 0), found
    by counting in chunks (C speed) and halving the chunk that holds it."""
    newline: Any = b"\n" if isinstance(text, bytes) else "\n"
    while n > 0:
        end = min(pos + _CHUNK, len(text))
        if end == pos:
            raise DeltaMismatch("the file has fewer lines than the change expects")
        count = text.count(newline, pos, end)
        if count < n:
            n -= count
            pos = end
            continue
        while end - pos > 256:
            mid = (pos + end) // 2
            count = text.count(newline, pos, mid)
            if count >= n:
                end = mid
            else:
                n -= count
                pos = mid
        for _ in range(n):
            pos = text.index(newline, pos) + 1
        return pos
    return pos


def _placed(found: list[Splice], reverse: bool) -> Iterator[tuple[int, str, str]]:
    """Each splice as (line where it starts in the text it applies to, what is there, what
    it becomes): in reverse, the line in the after text and the two sides swapped."""
    shift = 0
    for line, old, new in found:
        yield (line + shift, new, old) if reverse else (line, old, new)
        shift += new.count("\n") - old.count("\n")


def apply(data: bytes, found: list[Splice], *, reverse: bool = False) -> bytes:
    """``data`` (a file's bytes) with the splices applied, or in ``reverse`` undone; raises
    `DeltaMismatch` where a splice does not find the lines it replaces."""
    view = memoryview(data)
    out: list[bytes | memoryview] = []
    cursor = cursor_line = 0
    for line, there, becomes in _placed(found, reverse):
        if line < cursor_line:
            raise DeltaMismatch(f"the change at line {line + 1} overlaps the one before it")
        at = _skip_lines(data, cursor, line - cursor_line)
        expected = there.encode("utf-8")
        if not data.startswith(expected, at):
            raise DeltaMismatch(f"line {line + 1} is not what the change replaces")
        out.append(view[cursor:at])
        out.append(becomes.encode("utf-8"))
        cursor = at + len(expected)
        cursor_line = line + there.count("\n")
    out.append(view[cursor:])
    return b"".join(out)


# -- showing it ------------------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@", re.MULTILINE)


def unified(text: str, found: list[Splice], path: str, *, text_is: str = "before") -> str:
    """The git-style diff of the splices (as `engine.textdiff.unified_diff` would write it),
    made from windows of a few lines around each change, not the whole file. ``text`` is the
    version before the splices, or with ``text_is="after"`` the version after them (a proposal
    in memory: the version before is then not needed)."""
    given_after = text_is == "after"
    placed = list(_placed(found, reverse=given_after))  # (line in text, there, becomes)
    if not placed:
        return ""
    groups = [[placed[0]]]
    for s in placed[1:]:
        last = groups[-1][-1]
        if s[0] - (last[0] + last[1].count("\n")) <= 2 * CONTEXT:
            groups[-1].append(s)
        else:
            groups.append([s])
    header = ""
    hunks: list[str] = []
    cursor = cursor_line = shift = 0
    for group in groups:
        first_line = max(0, group[0][0] - CONTEXT)
        start = _skip_lines(text, cursor, first_line - cursor_line)
        here: list[str] = []  # the window of ``text``
        other: list[str] = []  # the same window in the other version
        at, at_line = start, first_line
        for line, there, becomes in group:
            gap_end = _skip_lines(text, at, line - at_line)
            here += [text[at:gap_end], there]
            other += [text[at:gap_end], becomes]
            at, at_line = gap_end + len(there), line + there.count("\n")
        end = _skip_to_or_eof(text, at, CONTEXT)
        here.append(text[at:end])
        other.append(text[at:end])
        old, new = (
            ("".join(other), "".join(here)) if given_after else ("".join(here), "".join(other))
        )
        diff = unified_diff(old, new, path)
        head_end = diff.index("\n@@ ") + 1
        header = header or diff[:head_end]
        firsts = (
            (first_line + shift, first_line) if given_after else (first_line, first_line + shift)
        )
        hunks.append(_shifted(diff[head_end:], *firsts))
        shift += sum(becomes.count("\n") - there.count("\n") for _, there, becomes in group)
        cursor, cursor_line = start, first_line
    return header + "".join(hunks)


def _shifted(hunks: str, old_first: int, new_first: int) -> str:
    """A window's hunks with their line numbers moved to where the window is in the file."""

    def move(m: re.Match[str]) -> str:
        return f"@@ -{int(m[1]) + old_first}{m[2]} +{int(m[3]) + new_first}{m[4]} @@"

    return _HUNK.sub(move, hunks)


def _skip_to_or_eof(text: str, pos: int, n: int) -> int:
    """Past ``n`` more line breaks from ``pos``, or the end of ``text`` if it has fewer."""
    for _ in range(n):
        found = text.find("\n", pos)
        if found == -1:
            return len(text)
        pos = found + 1
    return pos


def preview(diff: str, limit: int = PREVIEW_CHARS) -> str:
    """``diff`` cut at a line boundary to at most about ``limit`` characters, saying so."""
    if len(diff) <= limit:
        return diff
    cut = diff.rfind("\n", 0, limit) + 1 or limit
    return diff[:cut] + f"[diff cut here: {len(diff) - cut} more characters]\n"
