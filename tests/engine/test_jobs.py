"""The job queue against real SQLite and real processes: exactly-once claims across processes,
leases after kill -9, heartbeats, attempts and `dead`, restart with nothing lost, cancellation
(in process and from another process), idempotency keys."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.events import Event, EventStream
from engine.jobs import JobContext, JobFailed, Runner, store
from engine.state.adb import AsyncDB

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@asynccontextmanager
async def world(root: Path) -> AsyncIterator[tuple[AsyncDB, EventStream]]:
    adb = await AsyncDB.open(root / ".reelcut")
    events = EventStream(adb)
    await events.start()
    try:
        yield adb, events
    finally:
        await events.close()
        await adb.close()


def run(fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(asyncio.wait_for(fn(), 60))


def worker(root: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.jobs_worker", str(root), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


async def all_jobs(adb: AsyncDB) -> list[store.Job]:
    return await adb.read(lambda c: store.recent(c, 100_000))


def test_a_thousand_jobs_over_three_processes_each_run_exactly_once(tmp_path: Path) -> None:
    async def enqueue() -> None:
        async with world(tmp_path) as (adb, _):

            def go(conn: Any) -> None:
                for i in range(1000):
                    store.enqueue(conn, "noop", {"i": i})

            await adb.write(go)

    run(enqueue)
    log = tmp_path / "ran.log"
    procs = [worker(tmp_path, "noop", "4", str(log)) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    ran = Counter(int(line) for line in log.read_text().split())
    assert len(ran) == 1000 and set(ran.values()) == {1}

    async def check() -> None:
        async with world(tmp_path) as (adb, _):
            jobs = await all_jobs(adb)
            assert Counter(j.status for j in jobs) == {"succeeded": 1000}
            assert {j.attempts for j in jobs} == {1}
            assert {j.worker for j in jobs} == {None}  # a finished job holds no lease
            kinds = await adb.read(
                lambda c: c.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall()
            )
            assert dict(kinds) == {"queued": 1000, "running": 1000, "succeeded": 1000}

    run(check)


def test_a_worker_killed_mid_job_is_reclaimed_after_its_lease_and_the_attempt_counts(
    tmp_path: Path,
) -> None:
    async def enqueue() -> int:
        async with world(tmp_path) as (adb, _):
            job, _ = await adb.write(lambda c: store.enqueue(c, "slow", {}))
            return job.id

    job_id = run(enqueue)
    proc = worker(tmp_path, "hang", "1.0")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == f"started {job_id}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    async def recover() -> store.Job:
        async with world(tmp_path) as (adb, events):
            running = await adb.read(lambda c: store.get(c, job_id))
            assert running is not None and running.status == "running"
            assert running.attempts == 1

            async def fine(ctx: JobContext) -> str:
                return "second attempt"

            runner = Runner(adb, events, tmp_path, {"slow": fine}, reap_every=0.1)
            t = time.monotonic()
            await runner.start()
            await runner.wait_idle(timeout=20)
            await runner.stop()
            assert time.monotonic() - t < 5
            job = await adb.read(lambda c: store.get(c, job_id))
            assert job is not None
            return job

    job = run(recover)
    assert job.status == "succeeded" and job.attempts == 2 and job.result == "second attempt"


def test_a_healthy_long_job_with_heartbeats_is_never_reclaimed(tmp_path: Path) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, events):
            starts = []

            async def long(ctx: JobContext) -> None:
                starts.append(ctx.job.id)
                for i in range(10):
                    ctx.report(i / 10, f"step {i}")
                    await asyncio.sleep(0.15)  # 1.5 s in all: three times the lease

            a = Runner(
                adb,
                events,
                tmp_path,
                {"long": long},
                lease=0.5,
                heartbeat=0.1,
                tick=0.05,
                reap_every=0.05,
            )
            # A second worker that does nothing but reap (and would claim re-queued jobs).
            b = Runner(
                adb,
                events,
                tmp_path,
                {"long": long},
                lease=0.5,
                heartbeat=0.1,
                tick=0.05,
                reap_every=0.05,
                limits={"long": 0},
            )
            await a.start()
            await b.start()
            job = await a.enqueue("long")
            await a.wait_idle(timeout=20)
            await a.stop()
            await b.stop()
            done = await adb.read(lambda c: store.get(c, job.id))
            assert done is not None and done.status == "succeeded" and done.attempts == 1
            assert starts == [job.id]
            kinds = await adb.read(
                lambda c: [r[0] for r in c.execute("SELECT kind FROM events").fetchall()]
            )
            assert "reclaimable" not in kinds and kinds.count("progress") >= 5

    run(go)


def test_a_job_that_keeps_failing_is_dead_after_max_attempts_with_its_last_error(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, events):
            tries = []

            async def broken(ctx: JobContext) -> None:
                tries.append(ctx.job.attempts)
                raise RuntimeError(f"attempt {ctx.job.attempts} broke")

            # The reaper's period is far away: only the alarm set for the back-off's end can
            # bring the retries within the wait.
            runner = Runner(
                adb, events, tmp_path, {"x": broken}, backoff=(0.05, 0.05), reap_every=60
            )
            await runner.start()
            job = await runner.enqueue("x", max_attempts=3)
            await runner.wait_idle(timeout=20)
            await runner.stop()
            dead = await adb.read(lambda c: store.get(c, job.id))
            assert dead is not None and dead.status == "dead" and dead.attempts == 3
            assert dead.error == "RuntimeError: attempt 3 broke"
            assert tries == [1, 2, 3]
            # `reelcut jobs DIR retry ID`: queued again with a fresh count; an unfinished or
            # succeeded job is left alone.
            again, queued = await adb.write(lambda c: store.retry(c, job.id))
            assert queued and again is not None
            assert (again.status, again.attempts, again.error) == ("queued", 0, None)
            same, queued = await adb.write(lambda c: store.retry(c, job.id))
            assert not queued and same == again
            cancelled = await adb.write(lambda c: store.request_cancel(c, job.id))
            assert cancelled is not None and cancelled.status == "cancelled"

            async def bad_input(ctx: JobContext) -> None:
                raise JobFailed("not a video")

            runner = Runner(adb, events, tmp_path, {"y": bad_input})
            await runner.start()
            job = await runner.enqueue("y")
            await runner.wait_idle(timeout=20)
            await runner.stop()
            failed = await adb.read(lambda c: store.get(c, job.id))
            assert failed is not None and failed.status == "failed" and failed.attempts == 1
            assert failed.error == "not a video"

    run(go)


def test_the_whole_process_killed_with_queued_and_running_jobs_loses_nothing(
    tmp_path: Path,
) -> None:
    proc = worker(tmp_path, "enqueue-and-work", "40")
    assert proc.stdout is not None and proc.stdout.readline().strip() == "enqueued"
    deadline = time.monotonic() + 30
    done_log = tmp_path / "done.log"
    while time.monotonic() < deadline:
        if done_log.exists() and len(done_log.read_text().split()) >= 8:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before_restart = len(done_log.read_text().split())
    assert 8 <= before_restart < 40

    async def restart() -> None:
        async with world(tmp_path) as (adb, events):
            jobs = await all_jobs(adb)
            assert len(jobs) == 40
            statuses = Counter(j.status for j in jobs)
            assert statuses["queued"] > 0 and statuses["running"] >= 1  # mid-flight

            async def slow(ctx: JobContext) -> None:
                with (tmp_path / "done.log").open("a") as f:
                    f.write(f"{ctx.job.id}\n")

            runner = Runner(adb, events, tmp_path, {"slow": slow}, {"slow": 4}, reap_every=0.1)
            await runner.start()
            await runner.wait_idle(timeout=30)
            await runner.stop()
            jobs = await all_jobs(adb)
            # Conservation: the same 40 jobs, every one finished once and for all.
            assert len(jobs) == 40 and {j.status for j in jobs} == {"succeeded"}

    run(restart)
    ran = Counter(int(x) for x in done_log.read_text().split())
    assert set(ran) == set(range(1, 41))
    # At least once: only the jobs running at the kill may have run twice.
    assert sum(ran.values()) - 40 <= 2


def test_cancel_stops_a_running_job_in_process_and_from_another_process(tmp_path: Path) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, events):
            cleaned: list[int] = []
            started = asyncio.Event()

            async def hang(ctx: JobContext) -> None:
                try:
                    started.set()
                    await asyncio.Event().wait()
                finally:
                    cleaned.append(ctx.job.id)

            runner = Runner(adb, events, tmp_path, {"h": hang}, {"h": 2}, heartbeat=0.2, tick=0.05)
            await runner.start()
            queued_only = await runner.enqueue("h")
            first = queued_only  # claimed at once
            await started.wait()
            t = time.monotonic()
            await runner.cancel(first.id)
            await runner.wait_idle(timeout=10)
            assert time.monotonic() - t < 1
            got = await adb.read(lambda c: store.get(c, first.id))
            assert got is not None and got.status == "cancelled" and cleaned == [first.id]

            # From another process: it only writes cancel_requested; the heartbeat notices.
            started.clear()
            second = await runner.enqueue("h")
            await started.wait()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.engine.jobs_worker",
                str(tmp_path),
                "cancel",
                str(second.id),
                cwd=REPO,
            )
            assert await proc.wait() == 0
            await runner.wait_idle(timeout=10)
            got = await adb.read(lambda c: store.get(c, second.id))
            assert got is not None and got.status == "cancelled" and cleaned[-1] == second.id

            # A queued job is cancelled without running.
            await runner.stop()
            third = await runner.enqueue("h")
            got = await runner.cancel(third.id)
            assert got is not None and got.status == "cancelled"
            assert cleaned == [first.id, second.id]

    run(go)


def test_an_idempotency_key_gives_one_job_and_a_failed_one_is_requeued(tmp_path: Path) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, _):
            a, new_a = await adb.write(lambda c: store.enqueue(c, "k", {"v": 1}, key="same"))
            b, new_b = await adb.write(lambda c: store.enqueue(c, "k", {"v": 2}, key="same"))
            assert new_a and not new_b and a.id == b.id and b.payload == {"v": 1}
            await adb.write(lambda c: store.request_cancel(c, a.id))
            c_, new_c = await adb.write(lambda c: store.enqueue(c, "k", {"v": 3}, key="same"))
            assert new_c and c_.id == a.id and c_.status == "queued" and c_.payload == {"v": 3}

    run(go)


def test_stop_puts_running_jobs_back_without_counting_the_attempt(tmp_path: Path) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, events):
            started = asyncio.Event()

            async def hang(ctx: JobContext) -> None:
                started.set()
                await asyncio.Event().wait()

            runner = Runner(adb, events, tmp_path, {"h": hang})
            await runner.start()
            job = await runner.enqueue("h")
            await started.wait()
            await runner.stop()
            back = await adb.read(lambda c: store.get(c, job.id))
            assert back is not None and back.status == "queued" and back.attempts == 0

    run(go)


def test_job_events_tell_the_whole_story_in_order(tmp_path: Path) -> None:
    async def go() -> list[Event]:
        async with world(tmp_path) as (adb, events):

            async def steps(ctx: JobContext) -> dict[str, int]:
                for i in range(1, 4):
                    ctx.report(i / 4, f"step {i}")
                    await asyncio.sleep(0.1)
                return {"answer": 42}

            runner = Runner(adb, events, tmp_path, {"s": steps}, tick=0.02)
            seen: list[Event] = []

            async def watch() -> None:
                async for e in events.subscribe(after=0, topics=["job"]):
                    seen.append(e)
                    if e.kind == "succeeded":
                        return

            w = asyncio.create_task(watch())
            await runner.start()
            await runner.enqueue("s")
            await asyncio.wait_for(w, 10)
            await runner.stop()
            return seen

    seen = run(go)
    kinds = [e.kind for e in seen]
    assert kinds[0] == "queued" and kinds[1] == "running" and kinds[-1] == "succeeded"
    progress = [e.data["progress"] for e in seen if e.kind == "progress"]
    assert progress == sorted(progress) and len(progress) == 3
    assert seen[-1].data["progress"] == 1.0
    assert [e.id for e in seen] == sorted(e.id for e in seen)


@pytest.mark.parametrize("n", [1])
def test_worker_module_runs(tmp_path: Path, n: int) -> None:
    """The helper process used above exits cleanly on its own (guards the tests' harness)."""
    proc = worker(tmp_path, "publish", str(n))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert os.path.exists(tmp_path / ".reelcut" / "state.sqlite")


def test_enqueue_many_queues_all_in_one_transaction_and_runs_them(tmp_path: Path) -> None:
    async def go() -> None:
        async with world(tmp_path) as (adb, events):
            ran: list[int] = []

            async def note(ctx: JobContext) -> None:
                ran.append(ctx.job.payload["i"])

            runner = Runner(adb, events, tmp_path, {"n": note}, {"n": 3})
            jobs = await runner.enqueue_many("n", [{"i": i} for i in range(50)])
            assert [j.status for j in jobs] == ["queued"] * 50
            await runner.start()
            await runner.wait_idle(timeout=20)
            await runner.stop()
            assert sorted(ran) == list(range(50))

    run(go)
