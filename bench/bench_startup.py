"""Startup of the editor on a 10,000-clip project against a hello-world Textual app.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 7] [--clips 10000]``

Each side is a fresh ``python`` process, timed from spawn to exit by the parent; the app exits
as soon as its first screen has been laid out and painted (headless, so no terminal is
involved in either). reelcut's side is the path of ``reelcut open DIR``: imports, the session
(writer lock, project.json read and validated as untrusted, the state database), the editor
screen and the timeline's first paint; background jobs off (they start after the first paint
anyway). Anchor: a Textual app with one ``Static``. Target: reelcut's median at most 1.5x the
anchor's plus 300 ms. Exit status 1 if missed. One untimed start of each comes first, so the
OS caches and the bytecode caches are warm for both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_store import build_project
from engine.projectdir import ProjectDir

REELCUT = """
import sys
from engine.session import Session
from tui.app import ReelcutApp, run_editor

class FirstPaint(ReelcutApp):
    def on_ready(self) -> None:
        self.call_after_refresh(self.exit, 0)

with Session(sys.argv[1], purpose="bench") as session:
    run_editor(FirstPaint(session, background_jobs=False), headless=True, size=(200, 50))
"""

HELLO = """
from textual.app import App
from textual.widgets import Static

class Hello(App[int]):
    def compose(self):
        yield Static("hello")

    def on_ready(self) -> None:
        self.call_after_refresh(self.exit, 0)

Hello().run(headless=True, size=(200, 50))
"""


# Both sides start as a user's second start would: with the bytecode of every module cached.
# (A shell that sets PYTHONDONTWRITEBYTECODE would leave reelcut's own edited modules compiling
# from source on every start, about 100 ms, while the anchor's came from pip with theirs.)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(code: str, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        cwd=Path(__file__).resolve().parents[1],
        env=ENV,
    )
    return (time.perf_counter() - t) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clips", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        root = Path(tmp) / "proj"
        ProjectDir.create(root, build_project(args.clips))
        timed(HELLO)  # warm the OS caches and the bytecode caches for both
        timed(REELCUT, str(root))
        ours, anchor = [], []
        for _ in range(args.runs):
            anchor.append(timed(HELLO))
            ours.append(timed(REELCUT, str(root)))
    o, a = statistics.median(ours), statistics.median(anchor)
    limit = 1.5 * a + 300
    verdict = "PASS" if o <= limit else "FAIL"
    print(f"startup to first paint, {args.clips} clips, median of {args.runs}:")
    print(f"  hello-world Textual app {a:7.0f} ms")
    print(
        f"  reelcut open            {o:7.0f} ms   (target <= 1.5x + 300 ms = {limit:.0f} ms)"
        f"  {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
