"""engine.textdiff.unified_diff against ``git diff --no-index`` as the anchor, same run, same texts.

Run: ``.venv/bin/python bench/bench_diff.py [--runs N]``

Targets (exit status 1 if one fails):

- a 50,000-line script with 1% of its lines edited, inserted or deleted (scattered): our diff,
  in process, takes at most 2x git's, as a subprocess on the two files (wall time, median);
- pathological inputs each take at most 250 ms (median): a 1 MB one-line JSON with one character
  changed; 50,000 lines of ``}`` and 50,000 alternating ``a``/``b`` lines with 1% scattered
  edits; two 50,000-line files with no line in common but blank ones; a 50,000-line file
  reversed.

Every diff is also checked: ``apply_unified(before, diff) == after``, outside the timing.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.textdiff import apply_unified, diff_stats, unified_diff

RATIO_TARGET = 2.0
PATHOLOGICAL_MS = 250.0
LINES = 50_000

VERBS = [
    "cut",
    "trim",
    "ripple",
    "slip",
    "slide",
    "roll",
    "insert",
    "overwrite",
    "render",
    "export",
    "probe",
    "mux",
]
NOUNS = [
    "clip",
    "track",
    "frame",
    "marker",
    "title",
    "fade",
    "audio",
    "video",
    "proxy",
    "timeline",
    "bin",
    "range",
]


def script(rng: random.Random, n: int) -> list[str]:
    """Python-looking source: indented statements, comments, blank lines and the short lines
    (``return None``, ``else:``) that real files repeat."""
    out: list[str] = []
    for i in range(n):
        r = rng.random()
        indent = "    " * rng.randint(0, 3)
        if r < 0.12:
            out.append("")
        elif r < 0.16:
            out.append(indent + rng.choice(["return None", "else:", "pass", "continue", "break"]))
        elif r < 0.22:
            out.append(
                f"def {rng.choice(VERBS)}_{rng.choice(NOUNS)}_{i}(self, {rng.choice(NOUNS)}):"
            )
        elif r < 0.3:
            words = " ".join(rng.choice(NOUNS + VERBS) for _ in range(rng.randint(3, 9)))
            out.append(f"{indent}# {words}")
        else:
            args = ", ".join(rng.choice(NOUNS) for _ in range(rng.randint(1, 4)))
            target = f"{rng.choice(NOUNS)}_{rng.randint(0, 999)}"
            out.append(f"{indent}{target} = {rng.choice(VERBS)}({args})")
    return out


def scatter_edits(rng: random.Random, lines: list[str], fraction: float) -> list[str]:
    """``lines`` with ``fraction`` of them edited, deleted or preceded by a new line."""
    out = list(lines)
    for e in range(int(len(lines) * fraction)):
        k = rng.randrange(len(out))
        op = rng.random()
        if op < 0.5:
            out[k] = out[k] + f"  # edit {e}" if out[k] else f"edited_{e} = 1"
        elif op < 0.75:
            out.insert(k, f"    inserted_{e}(clip, track)")
        else:
            del out[k]
    return out


def joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def cases() -> list[tuple[str, str, str]]:
    rng = random.Random(1)
    base = script(rng, LINES)
    realistic = (
        "script 50k lines, 1% edited",
        joined(base),
        joined(scatter_edits(rng, base, 0.01)),
    )
    doc = {
        f"key_{i}": {"id": i, "name": f"clip {i}", "in": i * 30, "out": i * 30 + 29}
        for i in range(16_000)
    }
    one_line = json.dumps(doc, separators=(",", ":"))
    mid = len(one_line) // 2
    braces = ["}"] * LINES
    ab = ["a", "b"] * (LINES // 2)
    other = [line.upper() + " /* other */" if line else "" for line in script(rng, LINES)]
    return [
        realistic,
        (
            f"json one line {len(one_line) / 1e6:.1f} MB, 1 char",
            one_line,
            one_line[:mid] + "7" + one_line[mid + 1 :],
        ),
        ("50k '}' lines, 1% edited", joined(braces), joined(scatter_edits(rng, braces, 0.01))),
        ("50k 'a'/'b' lines, 1% edited", joined(ab), joined(scatter_edits(rng, ab, 0.01))),
        ("two different 50k-line files", joined(base), joined(other)),
        ("50k-line file reversed", joined(base), joined(base[::-1])),
    ]


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def git_diff(old: Path, new: Path) -> None:
    subprocess.run(
        ["git", "diff", "--no-index", "--no-color", old.name, new.name],
        cwd=old.parent,
        capture_output=True,
        check=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    rows: list[tuple[str, float, float, str, str, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, before, after) in enumerate(cases()):
            old, new = Path(tmp) / f"old{n}", Path(tmp) / f"new{n}"
            old.write_bytes(before.encode())
            new.write_bytes(after.encode())
            diff = unified_diff(before, after, "f")
            if apply_unified(before, diff) != after:
                print(f"{name}: the diff does not reproduce the new text", file=sys.stderr)
                return 1
            ours = median_ms(partial(unified_diff, before, after, "f"), args.runs)
            git = median_ms(partial(git_diff, old, new), args.runs)
            added, removed = diff_stats(diff)
            size = f"+{added} -{removed}"
            if n == 0:
                ok = ours <= RATIO_TARGET * git
                target = f"ratio <= {RATIO_TARGET:g}"
            else:
                ok = ours <= PATHOLOGICAL_MS
                target = f"<= {PATHOLOGICAL_MS:g} ms"
            rows.append((name, ours, git, size, target, ok))

    print(
        f"{'case':36} {'ours ms':>8} {'git ms':>8} {'ratio':>6}  {'diff':>14}  {'target':14} result"
    )
    for name, ours, git, size, target, ok in rows:
        print(
            f"{name:36} {ours:8.1f} {git:8.1f} {ours / git:6.2f}  {size:>14}  {target:14} "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
