"""What the editor writes to the terminal: bytes per second idle, playing, shuttling and while
jobs report progress, and the bytes of a one-frame step, by region of the screen.

The real editor on the demo project (a fresh copy per run, so its derivative jobs run at the
start) in a pseudo-terminal (`pty_editor.EditorPty`) at 200x50 and 80x24, with
``TERM=xterm-256color`` and, for truecolor, ``COLORTERM=truecolor`` (Textual reads it). Each
chunk the editor writes is timestamped and followed on a small VT screen that counts every
byte at the cell it lands on; the regions come from the editor itself (its screen's children
and the panes of ``#top``).

Phases, in order: jobs (from the first ``jobs:`` on the status line until it goes), idle (3 s
once nothing has been written for 3 s), step (Right, ten times, each until quiet:
median bytes), playback (Space from the start, 4 s measured from 0.3 s after the key),
shuttle (L L for 2x forward, then K and J backwards, 2 s each).

Targets (exit 1 when missed): idle 0 B/s; playback <= 40 KiB/s at 200x50 in either colour
mode; a one-frame step <= 2 KiB. The anchor is the full repaint: the bytes of the first paint
at each size, printed beside the figures (a playing editor that repaints everything writes
about 30 of those a second).

    .venv/bin/python bench/bench_terminal_output.py [--sizes 200x50,80x24] [--modes 256,truecolor]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pty_editor import EditorPty, fresh_copy, make_demo, region_of

KIB = 1024
PLAYBACK_TARGET = 40 * KIB  # bytes per second, at 200x50
STEP_TARGET = 2 * KIB  # bytes
IDLE_TARGET = 0
VIEWER = "viewer"  # the picture region's id, when the editor has one


class Phase:
    """The bytes of one phase, in all and by region (``by_region``: region name -> bytes)."""

    def __init__(self, name: str, seconds: float, total: int, by_region: Counter[str]) -> None:
        self.name = name
        self.seconds = seconds
        self.total = total
        self.by_region = by_region

    @property
    def rate(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def without(self, region: str) -> float:
        """Bytes per second leaving one region out (the picture viewer, whose own budget is
        part 3 of issue 24)."""
        rest = self.total - self.by_region.get(region, 0)
        return rest / self.seconds if self.seconds > 0 else 0.0


def _snapshot(ed: EditorPty) -> tuple[int, Counter[str]]:
    find = region_of(ed.regions)
    with ed.lock:
        cells = Counter(ed.screen.bytes_at)
        total = ed.screen.total
    by_region: Counter[str] = Counter()
    for (y, x), n in cells.items():
        by_region[find(y, x)] += n
    return total, by_region


def _reset(ed: EditorPty) -> float:
    with ed.lock:
        ed.screen.reset_counts()
    return time.monotonic()


def measure(ed: EditorPty, name: str, seconds: float) -> Phase:
    t0 = _reset(ed)
    time.sleep(seconds)
    total, by_region = _snapshot(ed)
    return Phase(name, time.monotonic() - t0, total, by_region)


@dataclass
class Result:
    """One run: a size and colour mode."""

    size: str
    mode: str
    first_paint: int
    phases: list[Phase]
    step: Phase
    steps: list[int]
    exit: int | None


def run(template: Path, folder: Path, width: int, height: int, truecolor: bool) -> Result:
    mode = "truecolor" if truecolor else "256"
    project = fresh_copy(template, folder, f"run-{width}x{height}-{mode}")
    ed = EditorPty(project, width, height, truecolor)
    phases: list[Phase] = []
    try:
        ed.wait_text("Test pattern", timeout=90)
        first_paint = ed.bytes_since(0.0)
        ed.wait_regions()
        status = ed.status_row()

        # Jobs: from the first "jobs:" on the status line until it is gone.
        try:
            ed.wait_for(lambda s: "jobs:" in s.text(status), "jobs on the status line", 20)
            t0 = _reset(ed)
            ed.wait_for(lambda s: "jobs:" not in s.text(status), "the jobs to finish", 180)
            total, by_region = _snapshot(ed)
            phases.append(Phase("jobs", time.monotonic() - t0, total, by_region))
        except TimeoutError as exc:
            print(f"  (no jobs phase: {str(exc).splitlines()[0]})")

        # Quiet for 3 s first: a derivative job that ends after the status line's "jobs:"
        # went (a filmstrip drawn, the status line's last word) is not idle output.
        ed.wait_quiet(3.0, timeout=60)
        phases.append(measure(ed, "idle", 3.0))

        ed.press("home")
        ed.wait_quiet(0.5)
        steps: list[int] = []
        step_regions: Counter[str] = Counter()
        for _ in range(10):
            _reset(ed)
            ed.press("right")
            ed.wait_quiet(0.3)
            total, by_region = _snapshot(ed)
            steps.append(total)
            step_regions += by_region
        # As a phase of one "second" per step: its rate is the mean bytes of a step.
        step = Phase("step", len(steps), sum(steps), step_regions)

        ed.press("home")
        ed.wait_quiet(0.5)
        ed.press("space")
        time.sleep(0.3)
        phases.append(measure(ed, "playback", 4.0))
        ed.press("space")
        ed.wait_quiet(0.5)

        ed.press("home")
        ed.wait_quiet(0.5)
        ed.press("l", "l")
        time.sleep(0.3)
        forward = measure(ed, "shuttle", 2.0)
        ed.press("k")
        ed.wait_quiet(0.5)
        ed.press("j")
        time.sleep(0.3)
        backward = measure(ed, "shuttle", 2.0)
        ed.press("k")
        phases.append(
            Phase(
                "shuttle",
                forward.seconds + backward.seconds,
                forward.total + backward.total,
                forward.by_region + backward.by_region,
            )
        )
    finally:
        code = ed.close()
    return Result(f"{width}x{height}", mode, first_paint, phases, step, steps, code)


def _regions(phase: Phase) -> str:
    total = sum(phase.by_region.values())
    if not total:
        return "-"
    return ", ".join(f"{name} {n * 100 / total:.0f}%" for name, n in phase.by_region.most_common(4))


def report(r: Result) -> list[str]:
    """Print one run; the targets it missed."""
    label = f"{r.size} {r.mode}"
    missed: list[str] = []
    print(f"\n{label}: first paint {r.first_paint:,} B (the anchor), exit {r.exit}")
    for phase in r.phases:
        viewer = (
            f" (without the viewer {phase.without(VIEWER) / KIB:.1f})"
            if VIEWER in phase.by_region
            else ""
        )
        print(
            f"  {phase.name:9} {phase.rate / KIB:8.1f} KiB/s{viewer}  "
            f"({phase.total:,} B in {phase.seconds:.1f} s)  {_regions(phase)}"
        )
        if phase.name == "idle" and phase.total > IDLE_TARGET:
            missed.append(f"{label} idle {phase.total} B")
        if phase.name == "playback" and r.size == "200x50" and phase.rate > PLAYBACK_TARGET:
            missed.append(f"{label} playback {phase.rate / KIB:.1f} KiB/s")
    step = r.step
    median = statistics.median(r.steps)
    viewer = (
        f" (mean without the viewer {step.without(VIEWER):,.0f})"
        if VIEWER in step.by_region
        else ""
    )
    print(
        f"  step      {median:8,.0f} B median{viewer} (min {min(r.steps):,}, max "
        f"{max(r.steps):,})  {_regions(step)}"
    )
    if median > STEP_TARGET:
        missed.append(f"{label} step {median:,.0f} B")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="200x50,80x24")
    parser.add_argument("--modes", default="256,truecolor")
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",")]
    modes = [m == "truecolor" for m in args.modes.split(",")]
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reelcut-bench-tty-") as tmp:
        folder = Path(tmp)
        template = make_demo(folder)
        for width, height in sizes:
            for truecolor in modes:
                missed += report(run(template, folder, width, height, truecolor))
    print()
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
