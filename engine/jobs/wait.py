"""Waiting for jobs to end, bounded: the door's ``jobs.wait`` (the agent's ``jobs_wait``)."""

from __future__ import annotations

import time

from engine.errors import ReelcutError
from engine.events import EventStream
from engine.jobs import store
from engine.jobs.store import Job
from engine.state.adb import AsyncDB

ENDED = frozenset({"succeeded", "failed", "cancelled", "dead"})
MAX_WAIT = 600.0
"""Seconds one wait lasts at most, whatever is asked: a caller that needs longer asks again."""
MAX_JOBS = 100


async def wait_jobs(
    db: AsyncDB, events: EventStream, ids: list[int], timeout: float
) -> tuple[list[Job], bool]:
    """The jobs ``ids`` once all have ended, or as they are after ``timeout`` seconds (at most
    `MAX_WAIT`); and whether all ended. Wakes on the stream's job events, and once a second
    (a job another process runs is seen at the stream's next poll)."""
    if not ids or len(ids) > MAX_JOBS:
        raise ReelcutError(f"wait for 1 to {MAX_JOBS} jobs at a time (got {len(ids)})")
    deadline = time.monotonic() + max(0.0, min(float(timeout), MAX_WAIT))

    def read(conn: object) -> list[Job | None]:
        return [store.get(conn, i) for i in ids]  # type: ignore[arg-type]

    feed = events.watch(topics=["job"], idle=1.0)
    try:
        while True:
            found = await db.read(read)
            missing = [i for i, j in zip(ids, found, strict=True) if j is None]
            if missing:
                raise ReelcutError(f"no job {missing[0]}; `reelcut jobs DIR list --all` shows them")
            jobs = [j for j in found if j is not None]
            if all(j.status in ENDED for j in jobs):
                return jobs, True
            if time.monotonic() >= deadline:
                return jobs, False
            await anext(feed)
    finally:
        await feed.aclose()  # type: ignore[attr-defined]
