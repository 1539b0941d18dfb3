"""An edit from another process through the project's door, to the editor's timeline.

Run: ``.venv/bin/python bench/bench_door.py [--edits 100]``

The editor runs headless (Textual's test driver) on a copy of the demo project with its door
open. Each edit (in/out marks moved, so every one is a real change and a history step) is sent
through the control socket from a client thread, and timed from the send until the timeline
widget holds the new project: the socket round trip, the session's journaled save (fsync
included), the change coming back as a message and the timeline taking it. Anchor: the same
edit made by the editor itself (`EditorScreen._apply`, the path its keys take), timed the same way
to the same point. Target: p95 through the door <= 100 ms, and its median <= 2x the anchor's
plus 10 ms. Exit status 1 if missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.control import Client
from engine.demo import make_demo
from engine.ops import SetMarks
from engine.session import Session
from tui.app import ReelcutApp


async def measure(root: Path, edits: int) -> tuple[list[float], list[float]]:
    door: list[float] = []
    own: list[float] = []
    with Session(root) as session:
        app = ReelcutApp(session, background_jobs=True)
        async with app.run_test(size=(200, 50)) as pilot:
            while app.control is None:
                await pilot.pause(0.05)
            client = await asyncio.to_thread(Client.connect, root)
            assert client is not None

            def shown(n: int) -> bool:
                project = app.timeline._project
                return project is not None and project.editor.mark_in == n

            async def until(n: int) -> None:
                while not shown(n):
                    await asyncio.sleep(0.001)

            try:
                for i in range(edits):
                    n = 2 * i + 1
                    op = {"op": "set_marks", "mark_in": n, "mark_out": 500 + n}
                    start = time.perf_counter()
                    call = asyncio.to_thread(client.call, "edit", {"op": op, "author": "bench"})
                    await asyncio.gather(call, until(n))
                    door.append(time.perf_counter() - start)
                    n += 1
                    start = time.perf_counter()
                    await app.editor._apply(SetMarks(mark_in=n, mark_out=500 + n), "marks")
                    await until(n)
                    own.append(time.perf_counter() - start)
            finally:
                client.close()
    return door, own


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        make_demo(root)
        door, own = asyncio.run(measure(root, args.edits))
    door.sort()
    own.sort()

    def p(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    door_med, own_med = statistics.median(door) * 1000, statistics.median(own) * 1000
    print(f"edits: {args.edits} each way")
    door_p95, door_max = p(door, 0.95), p(door, 1)
    print(
        f"through the door: median {door_med:.1f} ms, p95 {door_p95:.1f} ms, max {door_max:.1f} ms"
    )
    print(f"the editor's own: median {own_med:.1f} ms, p95 {p(own, 0.95):.1f} ms")
    print(f"ratio of medians: {door_med / own_med:.2f}x")
    ok = p(door, 0.95) <= 100 and door_med <= 2 * own_med + 10
    print("target (p95 <= 100 ms, median <= 2x anchor + 10 ms):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
