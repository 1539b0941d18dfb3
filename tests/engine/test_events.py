"""The event stream: resume from any id with no gap and no duplicate, a reset beyond the
retained window, a subscriber that never reads, events from another process."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine import events as events_mod
from engine.events import Event, EventStream, SubscriberDropped
from engine.state.adb import AsyncDB

REPO = Path(__file__).resolve().parents[2]


async def opened(root: Path, **kw: Any) -> tuple[AsyncDB, EventStream]:
    adb = await AsyncDB.open(root / ".reelcut")
    stream = EventStream(adb, **kw)
    await stream.start()
    return adb, stream


async def shut(adb: AsyncDB, stream: EventStream) -> None:
    await stream.close()
    await adb.close()


async def take(it: AsyncIterator[Event], n: int) -> list[Event]:
    out = []
    async for e in it:
        out.append(e)
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("seed", range(5))
def test_resume_at_random_disconnect_points_has_no_gap_and_no_duplicate(
    tmp_path: Path, seed: int
) -> None:
    """A publisher writes 400 events at random moments; a client reads a random number,
    disconnects, reconnects from the last id it saw, and so on. What it saw, in order, is
    exactly the 400 ids."""
    rng = random.Random(seed)

    async def go() -> None:
        adb, stream = await opened(tmp_path)
        total = 400

        async def publisher() -> None:
            for i in range(total):
                await stream.publish("playback", "frame", {"i": i})
                if rng.random() < 0.2:
                    await asyncio.sleep(rng.random() * 0.005)

        pub = asyncio.create_task(publisher())
        seen: list[int] = []
        last = 0
        while len(seen) < total:
            want = min(total - len(seen), rng.randint(1, 60))
            got = await asyncio.wait_for(take(stream.subscribe(after=last), want), 10)
            seen.extend(e.data["i"] for e in got)
            last = got[-1].id
            if rng.random() < 0.3:
                await asyncio.sleep(rng.random() * 0.01)  # away for a moment
        await pub
        assert seen == list(range(total))
        await shut(adb, stream)

    asyncio.run(go())


def test_resume_from_before_the_window_starts_with_a_reset_carrying_the_state(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async def snapshot() -> dict[str, Any]:
            return {"revision": 7}

        adb, stream = await opened(tmp_path, window=10, snapshot=snapshot)
        for i in range(30):
            await stream.publish("project", "revision", {"i": i})
        assert await stream.prune() == 20
        newest = await stream.newest_id()
        it = stream.subscribe(after=3)
        reset = await anext(it)
        assert reset.kind == "reset" and reset.data == {"resume_from": newest, "revision": 7}
        await stream.publish("project", "revision", {"i": 30})
        nxt = await asyncio.wait_for(anext(it), 5)
        assert nxt.id == newest + 1 and nxt.data == {"i": 30}
        await it.aclose()
        # Within the window: no reset, the exact tail.
        got = await take(stream.subscribe(after=newest - 5), 6)
        assert [e.id for e in got] == list(range(newest - 4, newest + 2))
        # A client from another database (ahead of us) also gets a reset, not silence.
        ahead = await anext(stream.subscribe(after=newest + 1000))
        assert ahead.kind == "reset"
        await shut(adb, stream)

    asyncio.run(go())


def test_a_subscriber_that_never_reads_is_dropped_without_stalling_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_mod, "QUEUE_SIZE", 16)

    async def go() -> None:
        adb, stream = await opened(tmp_path)
        await stream.publish("job", "queued", {"job": 0})
        frozen = stream.subscribe(after=0)
        first = await anext(frozen)  # registered, then never read again
        assert first.data == {"job": 0}
        reader_seen: list[int] = []

        async def reader() -> None:
            async for e in stream.subscribe():
                reader_seen.append(e.data["job"])
                if len(reader_seen) == 100:
                    return

        r = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        for i in range(1, 101):
            await stream.publish("job", "progress", {"job": i})
        await asyncio.wait_for(r, 5)  # the frozen one did not hold it back
        assert reader_seen == list(range(1, 101))
        # The frozen subscriber gets what fitted in its queue, then learns it was dropped.
        got = []
        with pytest.raises(SubscriberDropped, match="resume from id"):
            async for e in frozen:
                got.append(e.data["job"])
        # (Its queue may also hold event 0, fanned out after it registered and skipped as seen.)
        assert got == list(range(1, len(got) + 1)) and len(got) >= 15
        await shut(adb, stream)

    asyncio.run(go())


@pytest.mark.parametrize("wake", ["watch", "poll"])
def test_events_written_by_another_process_reach_subscribers_here(
    tmp_path: Path, wake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's commits wake the tail through the watched write-ahead log (the
    safety-net poll pushed out to a minute, so only the watch can deliver within the test's
    waits), or, where the log cannot be watched, through the ``data_version`` poll."""
    if wake == "watch":
        monkeypatch.setattr(events_mod, "WATCHED_POLL", 60.0)
    else:
        monkeypatch.setattr(events_mod.WalWatch, "open", lambda *a, **k: None)

    async def go() -> None:
        adb, stream = await opened(tmp_path)
        assert stream.watching == (wake == "watch")
        it = stream.subscribe(topics=["playback"])
        first = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.engine.jobs_worker",
            str(tmp_path),
            "publish",
            "50",
            cwd=REPO,
            stderr=subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err
        got = [await asyncio.wait_for(first, 5)] + await asyncio.wait_for(take(it, 49), 5)
        assert [e.data["frame"] for e in got] == list(range(50))
        await shut(adb, stream)

    asyncio.run(go())


def test_topic_filter_and_unknown_topics(tmp_path: Path) -> None:
    async def go() -> None:
        adb, stream = await opened(tmp_path)
        for topic in ("job", "project", "job", "changeset"):
            await stream.publish(topic, "x")  # type: ignore[arg-type]
        got = await take(stream.subscribe(after=0, topics=["job"]), 2)
        assert [e.id for e in got] == [1, 3]
        with pytest.raises(ValueError, match="unknown event topic"):
            await stream.publish("nonsense", "x")  # type: ignore[arg-type]
        await shut(adb, stream)

    asyncio.run(go())


def test_project_revisions_and_changeset_status_reach_the_stream(demo_dir: Path) -> None:
    """The session (sync, its own connection) and the changeset store (aiosqlite) write their
    events in the same transaction as their change; a stream subscriber sees both."""
    from engine.changes.ledger import Ledger, sha256
    from engine.ops import AddMarker
    from engine.session import Session

    async def go() -> None:
        adb, stream = await opened(demo_dir)
        it = stream.subscribe(topics=["project", "changeset"])
        first = asyncio.ensure_future(anext(it))
        await asyncio.sleep(0.05)
        with Session(demo_dir) as s:
            s.apply(AddMarker(at=5, name="cue"))
            s.undo()
        ledger = await Ledger.open(demo_dir)
        cs = await ledger.store.create("agent", "test")
        await ledger.propose(cs, "scripts/new.md", "hello\n")
        await ledger.mark_ready(cs)
        await ledger.apply(cs)
        await ledger.close()
        got = [await asyncio.wait_for(first, 5)] + await asyncio.wait_for(take(it, 6), 5)
        # The status and the file it changed commit together (their order is SQLite's).
        got[-2:] = sorted(got[-2:], key=lambda e: e.topic)
        assert [(e.topic, e.kind) for e in got] == [
            ("project", "edit"),
            ("project", "undo"),
            ("changeset", "pending"),
            ("changeset", "ready"),
            ("changeset", "applying"),
            ("changeset", "applied"),
            ("project", "file"),
        ]
        assert got[0].data["summary"].startswith("added marker cue")
        assert got[-1].data == {
            "path": "scripts/new.md",
            "sha256": sha256(b"hello\n"),
            "from": "changeset",
        }
        assert got[-2].data == {
            "changeset": cs,
            "status": "applied",
            "in_flight": None,
            "author": "agent",
            "error": None,
        }
        await shut(adb, stream)

    asyncio.run(go())


def test_the_stream_keeps_the_table_to_its_window(tmp_path: Path) -> None:
    async def go() -> int:
        adb, stream = await opened(tmp_path, window=50, prune_every=0.05)
        for i in range(300):
            await stream.publish("job", "progress", {"i": i})
        for _ in range(100):
            await asyncio.sleep(0.02)
            count = await adb.read(lambda c: c.execute("SELECT count(*) FROM events").fetchone()[0])
            if count <= 50:
                break
        newest = await stream.newest_id()
        await shut(adb, stream)
        assert newest == 300
        return int(count)

    assert asyncio.run(go()) <= 50
