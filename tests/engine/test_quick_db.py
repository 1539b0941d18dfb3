"""`AsyncDB`'s quick transactions: run on the event loop while the write lock is free, handed to
the worker thread when it is not (never waiting on the loop), checkpointed off the loop; and the
job events written by the triggers of migration 0007 carry what `Job.brief` says."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.events import Event
from engine.jobs import store
from engine.state import adb as adb_module
from engine.state import db
from engine.state.adb import AsyncDB


def _insert(conn: sqlite3.Connection) -> int:
    job, _ = store.enqueue(conn, "noop", {"n": 1})
    return job.id


def test_a_quick_write_with_the_lock_free_runs_on_the_loop(tmp_path: Path) -> None:
    async def go() -> None:
        adb = await AsyncDB.open(tmp_path / ".reelcut")
        try:
            loop_thread = threading.get_ident()
            seen: list[int] = []

            def fn(conn: sqlite3.Connection) -> int:
                seen.append(threading.get_ident())
                return _insert(conn)

            await adb.write(fn, quick=True)
            await adb.write(fn)  # the default: the worker thread
            assert seen[0] == loop_thread
            assert seen[1] != loop_thread
            assert adb.handed_over == 0
            ids = await adb.read(lambda c: [r[0] for r in c.execute("SELECT id FROM jobs")])
            assert ids == [1, 2]
        finally:
            await adb.close()

    asyncio.run(go())


def test_a_quick_write_while_another_process_holds_the_lock_waits_off_the_loop(
    tmp_path: Path,
) -> None:
    """Another connection (as another process would) holds the write lock for 0.5 s: the quick
    write goes to the worker thread, the loop keeps ticking meanwhile, and the write lands once
    the lock is released, exactly once."""

    async def go() -> None:
        adb = await AsyncDB.open(tmp_path / ".reelcut")
        other = db.connect(tmp_path / ".reelcut" / db.STATE_FILE)
        try:
            other.execute("BEGIN IMMEDIATE")
            ticks: list[float] = []

            async def ticker() -> None:
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.01)

            tick_task = asyncio.create_task(ticker())
            release = asyncio.get_running_loop().call_later(0.5, other.execute, "COMMIT")
            t = time.monotonic()
            job_id = await adb.write(_insert, quick=True)
            waited = time.monotonic() - t
            tick_task.cancel()
            release.cancel()
            assert adb.handed_over == 1
            assert waited >= 0.4  # it really waited for the lock ...
            gaps = [b - a for a, b in itertools.pairwise(ticks)]
            assert len(ticks) >= 20 and max(gaps) < 0.2  # ... and not on the loop
            rows = await adb.read(lambda c: c.execute("SELECT id FROM jobs").fetchall())
            assert rows == [(job_id,)]
        finally:
            other.close()
            await adb.close()

    asyncio.run(go())


def test_a_quick_write_that_fails_rolls_back_and_raises(tmp_path: Path) -> None:
    async def go() -> None:
        adb = await AsyncDB.open(tmp_path / ".reelcut")
        try:

            def half(conn: sqlite3.Connection) -> None:
                _insert(conn)
                raise ValueError("no")

            with pytest.raises(ValueError):
                await adb.write(half, quick=True)
            assert await adb.read(lambda c: c.execute("SELECT count(*) FROM jobs").fetchone()) == (
                0,
            )
            await adb.write(_insert, quick=True)  # the connection is usable
            assert await adb.read(lambda c: c.execute("SELECT count(*) FROM jobs").fetchone()) == (
                1,
            )
        finally:
            await adb.close()

    asyncio.run(go())


def test_quick_commits_are_checkpointed_on_the_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick connection never checkpoints itself (wal_autocheckpoint = 0): every
    CHECKPOINT_EVERY quick commits a passive checkpoint runs on the worker thread, and after it
    the WAL's frames are all in the database."""
    monkeypatch.setattr(adb_module, "CHECKPOINT_EVERY", 20)
    threads: list[int] = []
    real = adb_module._checkpoint

    def spy(conn: sqlite3.Connection) -> None:
        threads.append(threading.get_ident())
        real(conn)

    monkeypatch.setattr(adb_module, "_checkpoint", spy)

    async def go() -> None:
        adb = await AsyncDB.open(tmp_path / ".reelcut")
        try:
            assert adb._quick is not None
            assert adb._quick.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
            for i in range(45):
                await adb.write(_insert, quick=True)
                if i % 20 == 19:
                    await adb.read(lambda c: None)  # the worker thread ran what was queued
            assert len(threads) == 2
            assert threading.get_ident() not in threads
            busy, log, done = await adb.read(
                lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            )
            assert busy == 0 and log == done
        finally:
            await adb.close()

    asyncio.run(go())


def test_job_events_from_the_triggers_carry_the_jobs_brief(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / db.STATE_FILE)
    try:
        conn.execute("BEGIN IMMEDIATE")
        queued, _ = store.enqueue(conn, "proxy", {"asset": "a_1"})
        [running] = store.claim(conn, ["proxy"], "w1")
        assert store.heartbeat(conn, running.id, "w1") == "ok"  # a renewal: no event
        assert store.heartbeat(conn, running.id, "w1", (0.123456, "half")) == "ok"
        progressed = store.get(conn, running.id)
        done = store.finish(conn, running.id, "w1", "succeeded", result={"ok": 1}, message="x")
        conn.execute("COMMIT")
        assert progressed is not None and done is not None
        rows = conn.execute("SELECT topic, kind, data FROM events ORDER BY id").fetchall()
        assert [(t, k) for t, k, _ in rows] == [
            ("job", "queued"),
            ("job", "running"),
            ("job", "progress"),
            ("job", "succeeded"),
        ]
        for (_, _, data), job in zip(rows, (queued, running, progressed, done), strict=True):
            assert json.loads(data) == job.brief()
    finally:
        conn.close()


def test_an_event_read_back_decodes_and_encodes_like_one_built_in_python() -> None:
    data = {"job": 3, "message": 'a "quoted"\nline', "progress": 0.5, "error": None}
    raw = json.dumps(data, separators=(",", ":"))
    stored = Event(7, "job", "progress", None, 1.25, raw=raw)
    built = Event(7, "job", "progress", data, 1.25)
    assert stored == built
    assert stored.data == data
    for event in (stored, built):
        assert json.loads(event.encoded()) == built.to_json()
        assert "\n" not in event.encoded()  # one SSE data line
