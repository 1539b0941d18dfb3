"""Which lines changed: the change blocks turning one list of lines into another, in bounded
time on any input (the matching behind engine.textdiff's diffs and engine.textmerge's merge).

How the lines are matched, cheapest first, so the time stays bounded whatever the input:

1. strip the common prefix and suffix of a region (galloping slice compares, C speed);
2. small regions: Myers' greedy O(ND) diff, exact, with a cap on its work;
3. larger regions: anchor on lines that occur exactly once on each side, keep the longest
   increasing run of them (patience diff), and repeat inside every gap between anchors;
4. regions with common lines but no unique ones (``}`` x 50,000): Myers with a work cap, then a
   greedy resync that, at each mismatch, takes the smallest skip after which the next few lines
   agree;
5. when a per-call work budget is spent, the rest of a region is one replace block.

Every step yields a correct diff; only the minimality of the pathological cases is given up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from itertools import compress, repeat
from operator import eq

__all__ = ["Block", "line_changes"]

# A change: a[a0:a1] is replaced by b[b0:b1] (either side may be empty).
Block = tuple[int, int, int, int]

# Regions with at most this many lines (both sides together) go straight to Myers.
_SMALL = 64
# Work cap of one Myers attempt (diagonals visited plus snake steps).
_MYERS_WORK = 20_000
# Lines that must agree after a resync skip, and the largest skip tried.
_RESYNC_WINDOW = 8
_RESYNC_MAX_D = 48
# Work budget of one diff: a base plus some per input line. One unit is about one Python-level
# loop step (~0.1-0.3 µs), so the worst case stays around 100 ms on top of the linear work.
_BUDGET_BASE = 200_000
_BUDGET_PER_LINE = 2

# For a skip of d lines: how many to take from the old side, most balanced first (a one-line
# replacement is likelier than a deletion plus an insertion).
_SKIP_ORDERS = [
    sorted(range(d + 1), key=lambda x: (abs(2 * x - d), -x)) for d in range(_RESYNC_MAX_D + 1)
]


@dataclass
class _Budget:
    """Work left for one diff; once spent, every remaining region becomes one replace block."""

    left: int


def _common_run(a: list[str], i: int, b: list[str], j: int, limit: int) -> int:
    """The largest k <= limit with a[i:i+k] == b[j:j+k]: gallop, then binary search."""
    k = 0
    step = 1
    while k < limit:
        s = min(step, limit - k)
        if a[i + k : i + k + s] == b[j + k : j + k + s]:
            k += s
            step <<= 1
        else:
            step = s >> 1
            break
    while step and k < limit:
        s = min(step, limit - k)
        if a[i + k : i + k + s] == b[j + k : j + k + s]:
            k += s
        step >>= 1
    return k


def _common_tail(a: list[str], i: int, b: list[str], j: int, limit: int) -> int:
    """The largest k <= limit with a[i-k:i] == b[j-k:j]."""
    k = 0
    step = 1
    while k < limit:
        s = min(step, limit - k)
        if a[i - k - s : i - k] == b[j - k - s : j - k]:
            k += s
            step <<= 1
        else:
            step = s >> 1
            break
    while step and k < limit:
        s = min(step, limit - k)
        if a[i - k - s : i - k] == b[j - k - s : j - k]:
            k += s
        step >>= 1
    return k


def _myers(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int, budget: _Budget
) -> list[Block] | None:
    """A shortest edit script of a[alo:ahi] -> b[blo:bhi] (greedy forward Myers), or None once
    more than ``_MYERS_WORK`` steps (or the budget) are spent; the steps are charged."""
    work = min(_MYERS_WORK, budget.left)
    budget.left -= work
    n = ahi - alo
    m = bhi - blo
    maxd = n + m
    off = maxd + 1
    v = [0] * (2 * maxd + 3)
    trace: list[list[int]] = []  # trace[d][k + d] = furthest x on diagonal k after step d
    for d in range(maxd + 1):
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and v[off + k - 1] < v[off + k + 1]):
                x = v[off + k + 1]
            else:
                x = v[off + k - 1] + 1
            y = x - k
            x0 = x
            while x < n and y < m and a[alo + x] == b[blo + y]:
                x += 1
                y += 1
            work -= 1 + x - x0
            v[off + k] = x
            if x >= n and y >= m:
                # Outside the grid nothing matches, so the first point past (n, m) is (n, m).
                budget.left += max(work, 0)
                trace.append(v[off - d : off + d + 1])
                return _myers_blocks(trace, n, m, alo, blo)
        trace.append(v[off - d : off + d + 1])
        if work < 0:
            return None
    raise AssertionError("unreachable: the edit distance is at most n + m")


def _myers_blocks(trace: list[list[int]], n: int, m: int, alo: int, blo: int) -> list[Block]:
    """Walk a Myers trace back from (n, m) and return its change blocks, in order."""
    # Snakes (diagonal runs of equal lines) as (x, y, length), last first.
    snakes: list[tuple[int, int, int]] = []
    x, y = n, m
    for d in range(len(trace) - 1, 0, -1):
        prev = trace[d - 1]
        k = x - y
        if k == -d or (k != d and prev[k - 1 + d - 1] < prev[k + 1 + d - 1]):
            pk = k + 1
            px = prev[pk + d - 1]
            mx = px
        else:
            pk = k - 1
            px = prev[pk + d - 1]
            mx = px + 1
        if x > mx:
            snakes.append((mx, mx - k, x - mx))
        x, y = px, px - pk
    if x > 0:
        snakes.append((0, 0, x))
    blocks: list[Block] = []
    ca = cb = 0
    for sx, sy, length in reversed(snakes):
        if sx > ca or sy > cb:
            blocks.append((alo + ca, alo + sx, blo + cb, blo + sy))
        ca, cb = sx + length, sy + length
    if ca < n or cb < m:
        blocks.append((alo + ca, alo + n, blo + cb, blo + m))
    return blocks


def _unique_anchors(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int
) -> tuple[list[int], list[int]] | None:
    """Positions ai, bj with a[ai[k]] == b[bj[k]] occurring once on each side, the longest run
    increasing in both (patience diff); None if the two sides have no line in common at all.

    The per-line work is done by C-level map/compress chains: this runs once over whole files.
    """
    sa = a[alo:ahi]
    sb = b[blo:bhi]
    count_b = Counter(sb)
    where_b = dict(zip(sb, range(blo, bhi), strict=True))
    once_in_b = list(map(eq, map(count_b.get, sa), repeat(1)))
    ai = list(compress(range(alo, ahi), once_in_b))
    bj = list(map(where_b.__getitem__, compress(sa, once_in_b)))
    if len(set(bj)) != len(bj):
        # Some of those lines occur more than once in a: all their copies map to one b line.
        copies = Counter(bj)
        ai = [i for i, j in zip(ai, bj, strict=True) if copies[j] == 1]
        bj = [j for j in bj if copies[j] == 1]
    if not bj:
        return None if count_b.keys().isdisjoint(sa) else ([], [])
    if bj == sorted(bj):
        return ai, bj
    # Patience sorting: tops[p] is the index (into bj) of the smallest tail of a run of p + 1.
    tops: list[int] = []
    tails: list[int] = []
    back = [-1] * len(bj)
    for idx, j in enumerate(bj):
        if not tails or j > tails[-1]:
            pos = len(tails)
            tails.append(j)
            tops.append(idx)
        else:
            pos = bisect_left(tails, j)
            tails[pos] = j
            tops[pos] = idx
        if pos:
            back[idx] = tops[pos - 1]
    run: list[int] = []
    idx = tops[-1]
    while idx >= 0:
        run.append(idx)
        idx = back[idx]
    run.reverse()
    return [ai[k] for k in run], [bj[k] for k in run]


def _add_gap(
    a: list[str], i0: int, i1: int, b: list[str], j0: int, j1: int, gaps: list[Block]
) -> None:
    # Lines repeated in a file (blank ones, "}") often sit equal between two anchors.
    if i1 - i0 != j1 - j0 or a[i0:i1] != b[j0:j1]:
        gaps.append((i0, i1, j0, j1))


def _anchor_gaps(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int, ai: list[int], bj: list[int]
) -> list[Block]:
    """The regions between consecutive anchors (and the region ends) that are not equal."""
    gaps: list[Block] = []
    pi = alo - 1
    pj = blo - 1
    for i, j in zip(ai, bj, strict=True):
        if i - pi != 1 or j - pj != 1:
            _add_gap(a, pi + 1, i, b, pj + 1, j, gaps)
        pi = i
        pj = j
    _add_gap(a, pi + 1, ahi, b, pj + 1, bhi, gaps)
    return gaps


def _resync(
    a: list[str],
    alo: int,
    ahi: int,
    b: list[str],
    blo: int,
    bhi: int,
    budget: _Budget,
    out: list[Block],
) -> None:
    """A greedy diff for regions Myers finds too costly: follow equal lines; at a mismatch take
    the smallest skip (x old lines, y new lines) after which enough lines agree (more for a
    bigger skip, up to ``_RESYNC_WINDOW``), else the skip with the longest agreement seen."""
    i, j = alo, blo
    while budget.left > 0:
        run = _common_run(a, i, b, j, min(ahi - i, bhi - j))
        i += run
        j += run
        if i == ahi or j == bhi:
            break
        best = (0, min(_RESYNC_MAX_D // 2, ahi - i), min(_RESYNC_MAX_D // 2, bhi - j))
        for d in range(1, min(_RESYNC_MAX_D, ahi - i + bhi - j) + 1):
            need = min(_RESYNC_WINDOW, 2 * d + 2)
            budget.left -= d + 1
            for x in _SKIP_ORDERS[d]:
                p = i + x
                q = j + d - x
                if p > ahi or q > bhi:
                    continue
                if p == ahi or q == bhi or a[p] != b[q]:
                    run = 0
                else:
                    run = _common_run(a, p, b, q, min(_RESYNC_WINDOW, ahi - p, bhi - q))
                if run > best[0]:
                    best = (run, x, d - x)
                if run >= need or (p + run == ahi and q + run == bhi):
                    best = (_RESYNC_WINDOW + 1, x, d - x)
                    break
            if best[0] > _RESYNC_WINDOW or budget.left <= 0:
                break
        _, x, y = best
        out.append((i, i + x, j, j + y))
        i += x
        j += y
    if i < ahi or j < bhi:
        out.append((i, ahi, j, bhi))


def line_changes(a: list[str], b: list[str]) -> list[Block]:
    """The change blocks ``(a_lo, a_hi, b_lo, b_hi)`` turning the lines ``a`` into ``b``, in
    order, touching blocks merged (the same diff as engine.textdiff's ``unified_diff``, for
    callers that work on lines)."""
    budget = _Budget(_BUDGET_BASE + _BUDGET_PER_LINE * (len(a) + len(b)))
    blocks: list[Block] = []
    # Regions still to diff; popped in file order, so blocks come out sorted.
    todo: list[Block] = [(0, len(a), 0, len(b))]
    while todo:
        alo, ahi, blo, bhi = todo.pop()
        run = _common_run(a, alo, b, blo, min(ahi - alo, bhi - blo))
        alo += run
        blo += run
        run = _common_tail(a, ahi, b, bhi, min(ahi - alo, bhi - blo))
        ahi -= run
        bhi -= run
        n = ahi - alo
        m = bhi - blo
        if n == 0 or m == 0 or (n == 1 and m == 1) or budget.left <= 0:
            if n or m:
                blocks.append((alo, ahi, blo, bhi))
            continue
        if n + m <= _SMALL:
            found = _myers(a, alo, ahi, b, blo, bhi, budget)
            if found is not None:
                blocks.extend(found)
            else:
                _resync(a, alo, ahi, b, blo, bhi, budget, blocks)
            continue
        budget.left -= n + m
        anchors = _unique_anchors(a, alo, ahi, b, blo, bhi)
        if anchors is None:
            blocks.append((alo, ahi, blo, bhi))
        elif anchors[0]:
            gaps = _anchor_gaps(a, alo, ahi, b, blo, bhi, *anchors)
            gaps.reverse()
            todo.extend(gaps)
        else:
            found = _myers(a, alo, ahi, b, blo, bhi, budget)
            if found is not None:
                blocks.extend(found)
            else:
                _resync(a, alo, ahi, b, blo, bhi, budget, blocks)
    return _merge_touching(blocks)


def _merge_touching(blocks: list[Block]) -> list[Block]:
    merged: list[Block] = []
    for block in blocks:
        if merged and merged[-1][1] == block[0] and merged[-1][3] == block[2]:
            a0, _, b0, _ = merged[-1]
            merged[-1] = (a0, block[1], b0, block[3])
        else:
            merged.append(block)
    return merged
