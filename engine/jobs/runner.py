"""Workers: asyncio tasks that claim jobs, run their handlers, heartbeat and finish them.

A `Runner` serves the kinds it has handlers for, each with its own concurrency limit. It wakes
when a job is queued (in this process at once; from another process through the event stream's
poll of the database), when a back-off ends, and every ``reap_every`` seconds to re-queue jobs
whose worker died. Handlers are coroutines; blocking work in them belongs in subprocesses or
threads, never on the event loop.

While handlers run, one heartbeat task renews their leases and records their latest progress
(one transaction for all of them per round). It
stops the handler (cancelling its task) when the job's cancellation is requested, from this
process at once or from another at the next heartbeat, or when the lease was lost. A handler
that raises `JobFailed` fails the job for good (bad input); any other exception is retried with
back-off until ``max_attempts``, then the job is ``dead`` with the error. `stop` cancels the
handlers still running and puts their jobs straight back in the queue, without counting the
attempt; a process that dies instead leaves them to `store.reap` once their lease expires. A job
that ends dead, failed or cancelled (reaped included) has its leftovers removed then
(`Runner.bury`: a killed derivative build's temp file), not at some later rebuild.

Kinds named in ``adopted_only`` (agent runs: every attempt calls a paid model) are never
claimed just because they are queued: a runner claims such a job only after `adopt` names it,
so a run started by one process is never picked up, unseen, by another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ReelcutError
from engine.events import Event, EventStream, wait_event
from engine.jobs import store
from engine.jobs.store import Job
from engine.media.derivative_build import discard_temps
from engine.state.adb import AsyncDB


class JobFailed(ReelcutError):
    """The job can never succeed as given (corrupt input, unsupported media): no retry."""


@dataclass
class JobContext:
    """What a handler gets: its job, the project folder and a progress reporter."""

    job: Job
    root: Path
    _progress: tuple[float, str] | None = None
    _reported: tuple[float, str] | None = None

    def report(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1); the heartbeat writes the latest value to the queue."""
        self._progress = (min(1.0, max(0.0, fraction)), message[:200])


Handler = Callable[[JobContext], Awaitable[Any]]


@dataclass
class _Running:
    job: Job
    task: asyncio.Task[None] | None = None
    ctx: JobContext | None = None
    why_stopped: str | None = None  # "cancel" | "lost" | "shutdown"
    finishing: bool = False  # the handler is done; the outcome is being recorded

    def stop(self, why: str) -> None:
        """Cancel the handler once, for the first reason given; never while finishing (a
        second cancellation would abort the write of the outcome)."""
        if self.why_stopped is None and not self.finishing and self.task is not None:
            self.why_stopped = why
            self.task.cancel()


@dataclass(frozen=True)
class _Outcome:
    job_id: int
    outcome: Any
    result: Any
    error: str | None
    message: str | None
    progress: tuple[float, str] | None


@dataclass
class Runner:
    db: AsyncDB
    events: EventStream
    root: Path
    handlers: dict[str, Handler]
    limits: dict[str, int] = field(default_factory=dict)
    lease: float = store.LEASE_SECONDS
    heartbeat: float = 1.0
    tick: float = 0.5
    """How often reported progress is recorded: ffmpeg reports twice a second, so a faster
    tick only adds writes and wake-ups while the jobs run."""
    reap_every: float = 5.0
    backoff: Sequence[float] = store.BACKOFF_SECONDS
    worker: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )
    adopted_only: frozenset[str] = frozenset()
    bury: Callable[[Path, Job], object] = field(
        default=lambda root, job: discard_job_temps(root, job)
    )
    """What a job that ended dead, failed or cancelled leaves behind is removed by
    ``bury(root, job)`` (default: `discard_job_temps`)."""

    def __post_init__(self) -> None:
        self._adopted: set[int] = set()
        self._running: dict[int, _Running] = {}
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._unlisten: Callable[[], None] | None = None
        self._idle = asyncio.Event()
        self._finished: list[_Outcome] = []  # outcomes not yet written
        self._alarm: asyncio.TimerHandle | None = None  # see `_alarm_in`
        self._busy = asyncio.Event()  # set when a job is spawned: the heartbeat task wakes

    # -- control ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._unlisten = self.events.listen(self._on_event)
        self._main = asyncio.create_task(self._loop(), name=f"reelcut-jobs-{self.worker}")
        self._beat_task = asyncio.create_task(self._beats(), name=f"reelcut-beats-{self.worker}")

    async def stop(self) -> None:
        """Stop claiming, cancel running handlers and release their jobs to the queue."""
        self._stopping = True
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        for task in (self._main, self._beat_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._main = self._beat_task = None
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None
        running = list(self._running.values())
        for r in running:
            r.stop("shutdown")
        for r in running:
            if r.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await r.task
        await self._schedule(claim=False)

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        max_attempts: int = 3,
    ) -> Job:
        job, _ = await self.db.write(
            lambda c: store.enqueue(c, kind, payload or {}, key=key, max_attempts=max_attempts),
            quick=True,
        )
        self.events.committed()
        self._wake.set()
        return job

    async def enqueue_many(
        self, kind: str, payloads: list[dict[str, Any]], *, max_attempts: int = 3
    ) -> list[Job]:
        """Queue several jobs in one transaction (an import queueing its derivatives, a batch
        of TTS lines): one commit and one trip to the database thread for all of them."""

        def go(conn: Any) -> list[Job]:
            return [store.enqueue(conn, kind, p, max_attempts=max_attempts)[0] for p in payloads]

        jobs = await self.db.write(go, quick=len(payloads) <= 50)
        self.events.committed()
        self._wake.set()
        return jobs

    def adopt(self, job_id: int) -> None:
        """Let this runner claim job ``job_id`` of an ``adopted_only`` kind (once)."""
        self._adopted.add(job_id)
        self._wake.set()

    async def cancel(self, job_id: int) -> Job | None:
        job = await self.db.write(lambda c: store.request_cancel(c, job_id), quick=True)
        self.events.committed()
        r = self._running.get(job_id)
        if r is not None and job is not None and job.cancel_requested:
            r.stop("cancel")
        return job

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until nothing this runner serves is queued or running (back-offs included)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            kinds = list(self.handlers)

            def busy(conn: Any, kinds: list[str] = kinds) -> bool:
                # Two lookups on the partial indexes (queued, running), not a count.
                marks = ",".join("?" * len(kinds))
                row = conn.execute(
                    f"SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' "
                    f"AND kind IN ({marks})) OR EXISTS (SELECT 1 FROM jobs "
                    f"WHERE status = 'running' AND kind IN ({marks}))",
                    kinds + kinds,
                ).fetchone()
                return bool(row[0])

            if not self._running and not await self.db.read(busy, quick=True):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("jobs still running")
            self._idle.clear()
            await wait_event(self._idle, 0.2)

    @property
    def running(self) -> list[Job]:
        return [r.job for r in self._running.values()]

    # -- the loop --------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.topic != "job":
            return
        if event.kind in ("queued", "reclaimable", "retrying", "released"):
            self._wake.set()
        elif event.kind == "cancelling":
            r = self._running.get(int(event.data.get("job", -1)))
            if r is not None:
                r.stop("cancel")

    async def _loop(self) -> None:
        next_reap = 0.0
        while True:
            self._wake.clear()
            reap = time.monotonic() >= next_reap
            if reap:
                next_reap = time.monotonic() + self.reap_every
            claimed, due = await self._schedule(claim=True, reap=reap)
            for job in claimed:
                self._spawn(job)
            if not self._running:
                self._idle.set()  # wake `wait_idle` only when nothing runs here
            if claimed:
                continue  # more may be waiting
            timeout = max(0.0, next_reap - time.monotonic())
            if due is not None:
                timeout = min(timeout, max(0.01, due - time.time()))
            if not self._wake.is_set():
                self._alarm_in(timeout)
                await self._wake.wait()

    def _alarm_in(self, delay: float) -> None:
        """Make sure the loop wakes within ``delay`` seconds: one timer that sets the wake-up
        flag, moved only when it must ring earlier. A timer that rings after a wake for
        another reason costs one idle turn of the loop; a timer made and cancelled on every
        wait cost more, once per job."""
        loop = asyncio.get_running_loop()
        at = loop.time() + delay
        alarm = self._alarm
        if alarm is not None and not alarm.cancelled() and loop.time() <= alarm.when() <= at:
            return  # it rings in time (and has not rung yet)
        if alarm is not None:
            alarm.cancel()
        self._alarm = loop.call_at(at, self._wake.set)

    async def _schedule(self, *, claim: bool, reap: bool = False) -> tuple[list[Job], float | None]:
        """One transaction: record the outcomes of finished handlers, re-queue expired leases
        (``reap``), and claim jobs for the free slots; return the claimed jobs and, when none
        could be claimed, when the next backed-off job is due."""
        finished, self._finished = self._finished, []
        wanted: dict[str, int] = {}
        if claim:
            done = {f.job_id for f in finished}
            busy = [r.job.kind for i, r in self._running.items() if i not in done]
            for kind in self.handlers:
                n = self.limits.get(kind, 1) - busy.count(kind)
                if n > 0:
                    wanted[kind] = n
        if not finished and not wanted and not reap:
            return [], None
        worker, lease, backoff = self.worker, self.lease, self.backoff
        adopted = set(self._adopted)

        buried: list[Job] = []

        def go(conn: Any) -> tuple[list[Job], float | None, bool]:
            buried.clear()
            wrote = bool(finished)
            for f in finished:
                if f.progress is not None:
                    store.heartbeat(conn, f.job_id, worker, f.progress, lease)
                ended = store.finish(
                    conn,
                    f.job_id,
                    worker,
                    f.outcome,
                    result=f.result,
                    error=f.error,
                    backoff=backoff,
                    message=f.message,
                    returning=f.outcome != "succeeded",  # the common case is not read back
                )
                if ended is not None and ended.status in BURIED:
                    buried.append(ended)
            if reap and (reaped := store.reap(conn)):
                wrote = True
                buried.extend(j for j in reaped if j.status in BURIED)
            jobs: list[Job] = []
            for kind, n in wanted.items():
                ids = sorted(adopted) if kind in self.adopted_only else None
                jobs.extend(store.claim(conn, [kind], worker, n, lease, ids=ids))
            due = None
            if wanted and not jobs:
                due = store.next_due(conn, list(wanted))
            return jobs, due, wrote or bool(jobs)

        try:
            jobs, due, wrote = await self.db.write(go, quick=True)
        finally:
            for f in finished:
                self._running.pop(f.job_id, None)
            if finished and not claim:
                self._idle.set()  # (`_loop` says so itself, after spawning what it claimed)
        if wrote:
            self.events.committed()
        if buried:
            await self._bury(buried)
        self._adopted.difference_update(j.id for j in jobs)
        return jobs, due

    async def _bury(self, jobs: list[Job]) -> None:
        """Remove what the jobs that just ended for good (dead, failed, cancelled) left on disk
        (`bury`), off the event loop; a cleanup that fails leaves the files, never the loop."""
        with contextlib.suppress(Exception):
            await asyncio.to_thread(_bury_all, self.bury, self.root, jobs)

    def _spawn(self, job: Job) -> None:
        ctx = JobContext(job, self.root)
        r = _Running(job, ctx=ctx)
        self._running[job.id] = r
        r.task = asyncio.create_task(self._run(ctx, r), name=f"reelcut-job-{job.id}")
        self._busy.set()

    async def _run(self, ctx: JobContext, r: _Running) -> None:
        job = ctx.job
        outcome: Any = "released"
        result: Any = None
        error: str | None = None
        try:
            try:
                result = await self.handlers[job.kind](ctx)
                outcome = "succeeded"
            except asyncio.CancelledError:
                why = r.why_stopped
                if why is None:
                    raise
                if why == "lost":  # another worker has the job now; record nothing
                    self._running.pop(job.id, None)
                    self._idle.set()
                    return
                outcome = "cancelled" if why == "cancel" else "released"
                error = "cancelled" if why == "cancel" else None
            except JobFailed as exc:
                outcome, error = "failed", str(exc)
            except Exception as exc:
                outcome = "retry"
                error = (
                    str(exc) if isinstance(exc, ReelcutError) else f"{type(exc).__name__}: {exc}"
                )
            r.finishing = True
            message = None
            if outcome == "succeeded":
                last = ctx._progress
                message = last[1] if last is not None and last[0] >= 1.0 and last[1] else "done"
            progress = ctx._progress if outcome != "succeeded" else None
            # The scheduler writes it with its next transaction (and drops the job from
            # ``_running`` then, so ``wait_idle`` never sees a gap).
            self._finished.append(_Outcome(job.id, outcome, result, error, message, progress))
        except BaseException:
            self._running.pop(job.id, None)
            self._idle.set()
            raise
        finally:
            self._wake.set()

    async def _beats(self) -> None:
        """The heartbeat of every running job, in one transaction per round: every ``tick`` the
        progress reported since the last round is recorded, and every ``heartbeat`` seconds all
        leases are renewed. A job whose cancellation was requested (from another process) or
        whose lease was lost is stopped."""
        last_renewal = time.monotonic()
        while True:
            if not self._running:
                # Nothing to beat for: sleep until a job is spawned, not tick by tick.
                self._busy.clear()
                await self._busy.wait()
                last_renewal = time.monotonic()  # a fresh claim carries a fresh lease
            await asyncio.sleep(self.tick)
            renew = time.monotonic() - last_renewal >= self.heartbeat
            beats: list[tuple[_Running, JobContext, tuple[float, str] | None]] = []
            for r in list(self._running.values()):
                if r.finishing or r.ctx is None:
                    continue
                ctx = r.ctx
                progress = ctx._progress if ctx._progress != ctx._reported else None
                if progress is not None or renew:
                    beats.append((r, ctx, progress))
            if renew:
                last_renewal = time.monotonic()
            if not beats:
                continue
            states = await self.db.write(
                functools.partial(_renew, beats=beats, worker=self.worker, lease=self.lease),
                quick=True,
            )
            if any(progress is not None for _, _, progress in beats):
                self.events.committed()
            for (r, ctx, progress), state in zip(beats, states, strict=True):
                if progress is not None:
                    ctx._reported = progress
                if state != "ok":
                    r.stop(state)


BURIED: frozenset[str] = frozenset({"dead", "failed", "cancelled"})
"""The statuses of a job that ended without its output: its temp files go (`Runner.bury`)."""


def discard_job_temps(root: Path, job: Job) -> list[Path]:
    """A job's leftovers, by the one convention the queue has for its outputs: a job whose
    idempotency key is a file name builds that derivative (`engine.jobs.media`), and a worker
    killed mid-build left that file's temp behind (`derivative_build.discard_temps`). Temps
    written after the job ended (it was queued again since) stay."""
    key = job.idempotency_key
    if not key or "/" in key or key in (".", ".."):
        return []
    return discard_temps(root, key, before=job.finished_at or time.time())


def _bury_all(bury: Callable[[Path, Job], object], root: Path, jobs: list[Job]) -> None:
    for job in jobs:
        with contextlib.suppress(OSError):
            bury(root, job)


def holder_alive(job: Job) -> bool:
    """Whether the worker holding ``job`` may still be working on it: its lease has not run
    out and, when it is a process on this host, that process exists."""
    if job.worker is None or job.lease_until is None or job.lease_until < time.time():
        return False
    host, _, rest = job.worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True  # another machine's worker: its lease is all there is to go by
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists (another user's process)
    return True


def _renew(
    conn: Any,
    beats: list[tuple[_Running, JobContext, tuple[float, str] | None]],
    worker: str,
    lease: float,
) -> list[str]:
    """One heartbeat round's transaction: each job's lease renewed (and progress recorded)."""
    return [store.heartbeat(conn, c.job.id, worker, progress, lease) for _, c, progress in beats]
