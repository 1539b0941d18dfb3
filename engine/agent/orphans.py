"""Runs whose worker is gone, and ending or resuming them on purpose.

An agent run's job is claimed only by the runner that started it or one that adopts it
(`engine.jobs.runner.Runner.adopt`), so a run whose process quit or died stays as it was: an
*orphan* (`orphaned`), listed as such and never resumed unasked. `take_over` makes its job
claimable again for a runner that resumes it here (or names the live worker that holds it);
`cancel_run` ends a run whoever holds it, one whose process was killed included; `settle` brings
a run in line with a job that ended without it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engine.agent import store
from engine.events import EventStream
from engine.jobs import store as jobs_store
from engine.jobs.runner import holder_alive
from engine.state.adb import AsyncDB


def holder(conn: Any, run: store.Run) -> str | None:
    """The worker that is running ``run`` now (alive, with its lease), else None."""
    job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
    if job is None or job.status != "running" or not holder_alive(job):
        return None
    return job.worker


def orphaned(conn: Any, run: store.Run) -> bool:
    """A run that has not ended and that no live worker runs or is about to: its process
    quit or died. Only a run whose job waits in the queue for its starter is not one."""
    if run.status in store.TERMINAL:
        return False
    job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
    if job is None:
        return True
    if job.status == "queued":
        return run.status != "pending"  # a fresh run waits for its starter's runner
    return job.status != "running" or not holder_alive(job)


def settled_status(conn: Any, run: store.Run) -> str:
    """The status a run has once it is in line with its job: when the job ended without it
    (cancelled while its worker was gone, or its worker died) the run ends the same way.
    Reads only (a listing shows it without writing)."""
    job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
    if run.status in store.TERMINAL or job is None:
        return run.status
    if job.status == "cancelled":
        return "cancelled"
    if job.status == "succeeded":
        return "interrupted"
    return run.status


def settle(conn: Any, run_id: int) -> store.Run:
    """Bring a run's status in line with its job (`settled_status`), in the database."""
    run = store.get_run(conn, run_id)
    status = settled_status(conn, run)
    if status == run.status:
        return run
    store.set_status(conn, run_id, status)
    return store.get_run(conn, run_id)


def take_over(conn: Any, run_id: int) -> tuple[store.Run, int | None, str | None]:
    """Make an orphaned run's job claimable again, to resume it here: returns the run, the job
    to adopt (None when the run has ended or another live worker holds it) and that worker."""
    run = settle(conn, run_id)
    if run.status in store.TERMINAL:
        return run, None, None
    held_by = holder(conn, run)
    if held_by is not None:
        return run, None, held_by
    job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
    if job is not None and job.status == "running":
        jobs_store.abandon(conn, job.id)  # its worker is gone: back to the queue
        job = jobs_store.get(conn, job.id)
    if job is None or job.status in jobs_store.FINISHED:
        job, _ = jobs_store.enqueue(conn, store.JOB_KIND, {"run": run_id}, max_attempts=1)
        store.set_job(conn, run_id, job.id)
    return store.get_run(conn, run_id), job.id, None


async def cancel_run(db: AsyncDB, events: EventStream, run_id: int) -> store.Run:
    """Cancel a run whoever holds it. A live worker (here or in another process) is asked to
    stop and ends the run itself; a run whose worker is gone ends here and now."""

    def go(conn: Any) -> store.Run:
        run = settle(conn, run_id)
        if run.status in store.TERMINAL:
            return run
        job = jobs_store.get(conn, run.job_id) if run.job_id is not None else None
        live = holder(conn, run) is not None
        if job is not None and job.status in ("queued", "running"):
            if not live and job.status == "running":
                jobs_store.abandon(conn, job.id)
            jobs_store.request_cancel(conn, job.id)
        if not live:
            store.set_status(conn, run_id, "cancelled")
        return store.get_run(conn, run_id)

    run = await db.write(go)
    events.committed()
    return run


async def wait_for_end(db: AsyncDB, run_id: int, timeout: float) -> store.Run:
    deadline = time.monotonic() + timeout
    while True:
        run = await db.write(lambda c: settle(c, run_id))
        if run.status in store.TERMINAL or time.monotonic() > deadline:
            return run
        await asyncio.sleep(0.1)
