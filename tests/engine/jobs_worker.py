"""A worker process for the job-queue tests: ``python -m tests.engine.jobs_worker ROOT MODE``.

Modes:
- ``noop N_LIMIT LOG``: run no-op jobs of kind ``noop`` (``N_LIMIT`` at once), appending each
  job id to ``LOG`` (one ``write`` per line, ``O_APPEND``), until the queue has none left.
- ``hang LEASE``: claim ``slow`` jobs with a ``LEASE``-second lease and block in them forever
  (the test kills the process with SIGKILL); prints ``started <id>`` when one is running.
- ``enqueue-and-work N``: enqueue ``N`` ``slow`` jobs, then run them (0.05 s each, one log
  line per finished run in ``ROOT/done.log``) until killed.
- ``publish N``: publish ``N`` ``playback`` events, then exit.
- ``cancel ID``: request cancellation of job ``ID`` from this process, then exit.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from engine.events import EventStream
from engine.jobs import JobContext, Runner, store
from engine.state.adb import AsyncDB


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


async def main(root: Path, mode: str, args: list[str]) -> None:
    adb = await AsyncDB.open(root / ".reelcut")
    events = EventStream(adb)
    await events.start()
    try:
        if mode == "noop":
            limit, log = int(args[0]), Path(args[1])

            async def noop(ctx: JobContext) -> None:
                _append(log, str(ctx.job.id))

            runner = Runner(adb, events, root, {"noop": noop}, {"noop": limit})
            await runner.start()
            await runner.wait_idle()
            await runner.stop()
        elif mode == "hang":

            async def hang(ctx: JobContext) -> None:
                print(f"started {ctx.job.id}", flush=True)
                await asyncio.Event().wait()

            runner = Runner(adb, events, root, {"slow": hang}, lease=float(args[0]), reap_every=60)
            await runner.start()
            await asyncio.Event().wait()
        elif mode == "enqueue-and-work":
            n = int(args[0])

            async def slow(ctx: JobContext) -> None:
                await asyncio.sleep(0.05)
                _append(root / "done.log", str(ctx.job.id))

            runner = Runner(adb, events, root, {"slow": slow}, {"slow": 2}, lease=1.0)
            for i in range(n):
                await runner.enqueue("slow", {"i": i})
            print("enqueued", flush=True)
            await runner.start()
            await asyncio.Event().wait()
        elif mode == "publish":
            for i in range(int(args[0])):
                await events.publish("playback", "frame", {"frame": i})
        elif mode == "cancel":
            job_id = int(args[0])
            await adb.write(lambda c: store.request_cancel(c, job_id))
        else:
            raise SystemExit(f"unknown mode {mode}")
    finally:
        await events.close()
        await adb.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
