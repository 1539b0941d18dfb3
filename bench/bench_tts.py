"""A TTS pass through the queue against the same espeak-ng commands run directly.

Run: ``.venv/bin/python bench/bench_tts.py [--lines 50] [--rounds 3]``

reelcut: ``--lines`` scenario lines (two speakers, sentences of 8-20 words) spoken by a pass
as `reelcut tts` runs it: ``tts.start`` (plan, queue, placeholders as one edit), then a runner
with the tts kind speaking each line with espeak-ng (as many at once as the anchor), storing the
WAV content-addressed and landing it (takes finishing close together land as one write, off
the workers' path: `engine.tts.landing`); the pass ends when every take is on the timeline.
Anchor: the same espeak-ng command lines (voice, pitch, rate, text on stdin, WAV to stdout),
with the same parallelism, in the same run, writing each WAV to a file, run two ways: by
``parallel`` threads each running one espeak-ng at a time (`subprocess.run`), the WAVs
written by the main thread as they come (the verdict's anchor: the cheapest direct run found,
and how the queue's voices run them, so the ratio is the queue's own work), and by asyncio
(`create_subprocess_exec` under a semaphore; it forks on the event loop and starts a watcher
thread per process, so it is slower than the threads on a loaded machine, and a queue
measured against it alone could look faster than running the commands directly). Rounds
alternate which goes first; the verdict is the median ratio to the thread anchor. Also
reported: the ratio to the asyncio anchor, the time from the pass's start to the first take
landing on the timeline, how many project writes the landings took, and the CPU seconds:
all of it (this process and espeak-ng), and split into espeak-ng's (the same work in both)
and this process's own (the queue's threads against the anchor's threads), the part that
competes with espeak-ng for the cores. Target: queue overhead <= 5%.

Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.door import hold
from engine.events import EventStream
from engine.jobs import Runner
from engine.model import new_project
from engine.projectdir import ProjectDir
from engine.scenario import SCENARIO_PATH
from engine.state.adb import AsyncDB
from engine.timebase import Rate
from engine.tts import jobs as tts
from engine.tts import landing
from engine.tts.providers import voices_at_once
from engine.tts.takes import parse_scenario

SENTENCE = (
    "the timeline is a file you and the agent edit together while the queue speaks every "
    "line of the scene in its own voice and the clips land where they belong on the track"
)
WORDS = SENTENCE.split()


def scenario(n: int, salt: str) -> dict[str, Any]:
    lines = []
    for i in range(n):
        k = 8 + (i * 7) % 13
        words = [WORDS[(i * 3 + j) % len(WORDS)] for j in range(k)]
        text = " ".join(words).capitalize() + f", {salt} {i}."
        lines.append({"id": f"l_{i + 1}", "speaker": "a" if i % 2 == 0 else "b", "text": text})
    return {
        "schema_version": 1,
        "speakers": [{"id": "a", "voice": "Kore"}, {"id": "b", "voice": "Puck"}],
        "lines": lines,
    }


stats = {"batches": 0}


async def through_queue(root: Path) -> tuple[float, float]:
    db = await AsyncDB.open(root / ".reelcut")
    events = EventStream(db)
    await events.start()
    runner = Runner(db, events, root, {}, {})
    first: list[float] = []
    t0 = time.perf_counter()

    def on(change: Any) -> None:
        if "landed" in change.summary and not first:
            first.append(time.perf_counter() - t0)

    try:
        async with hold(root, "bench", db=db, events=events, runner=runner) as ws:
            runner.handlers.update(tts.handlers(ws))
            runner.limits[tts.KIND] = tts.limit()
            unlisten = ws.session.subscribe(on)
            doc = await ws.call("tts.start", {})
            ids = {j["job"] for j in doc["jobs"]}
            await runner.start()
            await runner.wait_idle()  # as `reelcut jobs DIR run` waits
            await landing.settled(ws)  # done means every take is on the timeline
            total = time.perf_counter() - t0
            unlisten()
            stats["batches"] += landing.lander(ws).batches
            project = ws.project
            ready = sum(1 for a in project.assets if a.generation and a.generation.stage == "ready")
            if ready != len(ids):
                raise SystemExit(f"bench_tts: {ready} of {len(ids)} takes landed")
            await runner.stop()
            failed = await db.read(
                lambda c: [j for j in tts.tts_jobs(c) if j.status != "succeeded"]
            )
            if failed:
                raise SystemExit(f"bench_tts: {len(failed)} line(s) failed: {failed[0].error}")
    finally:
        await events.close()
        await db.close()
    return total, first[0] if first else total


async def directly(text: str, out: Path, parallel: int) -> float:
    """The asyncio anchor: ``parallel`` espeak-ng processes at a time under a semaphore."""
    sc = parse_scenario(text)
    exe = shutil.which("espeak-ng")
    assert exe is not None
    sem = asyncio.Semaphore(parallel)

    async def one(i: int) -> None:
        line = sc.lines[i]
        v = line.local
        async with sem:
            proc = await asyncio.create_subprocess_exec(
                exe,
                "-v",
                v.voice,
                "-p",
                str(v.pitch),
                "-s",
                str(v.rate),
                "--stdout",
                "--stdin",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            data, _ = await proc.communicate(line.text.encode())
        # Written once the slot is free, as the queue stores a take after its voice is free.
        (out / f"{i}.wav").write_bytes(data)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(len(sc.lines))))
    return time.perf_counter() - t0


def with_threads(text: str, out: Path, parallel: int) -> float:
    """The anchor of the verdict: ``parallel`` threads, each running one espeak-ng at a time,
    the main thread writing each WAV as it comes (its slot already speaking the next)."""
    sc = parse_scenario(text)
    exe = shutil.which("espeak-ng")
    assert exe is not None

    def one(i: int) -> bytes:
        v = sc.lines[i].local
        argv = [exe, "-v", v.voice, "-p", str(v.pitch), "-s", str(v.rate), "--stdout", "--stdin"]
        done = subprocess.run(argv, input=sc.lines[i].text.encode(), capture_output=True)
        return done.stdout

    t0 = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        running = {pool.submit(one, i): i for i in range(len(sc.lines))}
        for done in as_completed(running):
            (out / f"t{running[done]}.wav").write_bytes(done.result())
    return time.perf_counter() - t0


own_cpu: dict[str, list[float]] = {"queue": [], "anchor": []}


def cpu(work: Any, who: str = "") -> tuple[Any, float]:
    """What ``work`` (a coroutine, or a function to call) returns and the CPU seconds it
    took: this process's threads and its children's (espeak-ng) together; this process's
    alone is kept in ``own_cpu[who]``."""
    import resource

    def now() -> tuple[float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    (m0, k0) = now()
    out = asyncio.run(work) if asyncio.iscoroutine(work) else work()
    (m1, k1) = now()
    if who:
        own_cpu[who].append(m1 - m0)
    return out, (m1 - m0) + (k1 - k0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    parallel = voices_at_once()  # espeak-ng processes at once, in both
    ratios, by_asyncio, firsts, cpus = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as tmp:
        for r in range(args.rounds):
            text = json.dumps(scenario(args.lines, f"round {r}"), indent=2)
            root = Path(tmp) / f"p{r}"
            ProjectDir.create(root, new_project("bench", rate=Rate(30, 1)))
            (root / "scripts").mkdir(exist_ok=True)
            (root / SCENARIO_PATH).write_text(text)
            out = Path(tmp) / f"direct{r}"
            out.mkdir()
            if r % 2 == 0:
                direct, d_cpu = cpu(lambda t=text, o=out: with_threads(t, o, parallel), "anchor")
                via_asyncio, _ = cpu(directly(text, out, parallel))
                (queued, first), q_cpu = cpu(through_queue(root), "queue")
            else:
                (queued, first), q_cpu = cpu(through_queue(root), "queue")
                via_asyncio, _ = cpu(directly(text, out, parallel))
                direct, d_cpu = cpu(lambda t=text, o=out: with_threads(t, o, parallel), "anchor")
            ratios.append(queued / direct)
            by_asyncio.append(queued / via_asyncio)
            firsts.append(first)
            cpus.append(q_cpu / d_cpu)
            print(
                f"round {r}: {args.lines} lines, {parallel} at a time: espeak-ng directly "
                f"{direct * 1000:.0f} ms (threads; asyncio {via_asyncio * 1000:.0f} ms), "
                f"through the queue {queued * 1000:.0f} ms ({queued / direct:.3f}x; "
                f"{queued / via_asyncio:.3f}x asyncio's); first clip ready after "
                f"{first * 1000:.0f} ms; CPU {d_cpu:.2f} s vs {q_cpu:.2f} s "
                f"({q_cpu / d_cpu:.2f}x), of which this process's own "
                f"{own_cpu['anchor'][-1] * 1000:.0f} ms vs "
                f"{own_cpu['queue'][-1] * 1000:.0f} ms"
            )
    ratio = statistics.median(ratios)
    print(
        f"median: {ratio:.3f}x the thread anchor (overhead {100 * (ratio - 1):+.1f}%, target "
        f"<= +5%; {statistics.median(by_asyncio):.3f}x the asyncio anchor); first clip ready "
        f"after {statistics.median(firsts) * 1000:.0f} ms (median); "
        f"{args.lines * args.rounds} takes landed in {stats['batches']} project writes; "
        f"CPU (this process and espeak-ng) {statistics.median(cpus):.2f}x the thread anchor's, "
        f"a figure a loaded machine does not blur as it blurs the time; this process's own CPU "
        f"{statistics.median(own_cpu['queue']) * 1000:.0f} ms through the queue vs "
        f"{statistics.median(own_cpu['anchor']) * 1000:.0f} ms in the anchor (median); load "
        f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
