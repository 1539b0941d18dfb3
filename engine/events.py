"""The one event stream: every change is an event with an increasing id, kept in SQLite and
fanned out to subscribers in this process.

An event has an ``id`` (SQLite ``AUTOINCREMENT``: increasing, never reused), a ``topic``
(``project``, ``playback``, ``job``, ``run``, ``changeset``), a ``kind`` and JSON ``data``.
Events are written to the ``events`` table, in the same transaction as the state change they
describe where there is one (a job's status and its event commit together), so the table is
the one order every client sees.

Delivery: one tail task reads new rows (``id > last``) whenever this process publishes or,
for writes from other processes (a CLI command, a worker elsewhere), when the database's
write-ahead log is written (`engine.state.walwatch`, at most once per ``poll`` seconds) and
SQLite's ``data_version`` says another connection committed, checked every ``poll`` seconds
while anyone is subscribed where the log cannot be watched, else every ``WATCHED_POLL``
seconds as a safety net. It puts each event on every matching subscriber's bounded queue.

``subscribe(after=N)`` yields every event with ``id > N`` exactly once, in order, then live
ones: the subscriber is registered before the stored backlog is read, and anything that
arrives both ways is skipped by id. Asking from before the retained window (the table keeps
the newest ``window`` events) yields one ``reset`` event first, carrying the current state from
the host's ``snapshot`` callback and the id to resume from; never a silent gap. The tail
prunes older rows every ``prune_every`` seconds (and when it starts). A subscriber
whose queue fills (it stopped reading) is dropped: its iterator ends with `SubscriberDropped`
and the others never wait for it. A dropped client reconnects with the last id it saw.

Kinds of the ``project`` topic: a revision of project.json by the session (``edit``, ``undo``,
``redo``, ``editor``, ``reload``: data is the session's ``Change``), ``reset`` (above), and
``file``: a file of the project changed on disk, data ``{"path": <relative POSIX path>,
"sha256": <hex of the bytes now on disk, null when deleted>, "from": "editor" | "changeset"}``.
A ``file`` event is not a project revision (the session publishes its own when it picks up a
changed project.json); it tells pages and panes which file to read again. Changesets publish
them from a trigger (migration 0005) when their status becomes ``applied`` or ``reverted``, in
the same transaction; the editor calls `publish_file_changed` after it saves a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

from engine.errors import ReelcutError
from engine.state.adb import AsyncDB
from engine.state.walwatch import WalWatch

Topic = Literal["project", "playback", "job", "run", "changeset"]
TOPICS: frozenset[str] = frozenset({"project", "playback", "job", "run", "changeset"})

WINDOW = 10_000
QUEUE_SIZE = 1_000
POLL_SECONDS = 0.02
WATCHED_POLL = 1.0
"""The data_version poll while the write-ahead log is watched: only for what a watch misses."""
_log = logging.getLogger(__name__)
# How long the tail waits after a commit before reading, so a burst lands in one read. 0: one
# turn of the event loop (commits made in the same turn, such as a job finishing and the next
# claimed, are read together; a lone event is fanned out at once).
COALESCE_SECONDS = 0.0
# Under load (the previous read was less than BUSY_WITHIN ago) the tail waits BURST_SECONDS
# instead, so a busy queue is read once per couple of milliseconds rather than once per commit
# (a read, a page of events and a wake each); an isolated event still goes out at once.
BUSY_WITHIN = 0.005
BURST_SECONDS = 0.002
PRUNE_SECONDS = 300.0
_PAGE = 500
_LIVE_PAGE = 100  # the tail reads on the event loop (a quick read): small pages


class Event:
    """One event. Events read from the table keep their data as the stored JSON text and
    decode it on first use (a listener that only looks at the topic and kind never pays for
    it), and `encoded` builds the event's JSON once around that text, however many clients it
    is sent to."""

    __slots__ = ("_data", "_encoded", "_raw", "at", "id", "kind", "topic")

    def __init__(
        self,
        id: int,
        topic: str,
        kind: str,
        data: dict[str, Any] | None,
        at: float,
        *,
        raw: str | None = None,
    ) -> None:
        if data is None and raw is None:
            raise ValueError("an event needs its data")
        self.id = id
        self.topic = topic
        self.kind = kind
        self.at = at
        self._data = data
        self._raw = raw
        self._encoded: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            assert self._raw is not None
            self._data = json.loads(self._raw)
        return self._data

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "kind": self.kind,
            "data": self.data,
            "at": self.at,
        }

    def encoded(self) -> str:
        """``to_json()`` as compact JSON, built once."""
        if self._encoded is None:
            raw = self._raw
            if raw is None:
                raw = json.dumps(self._data, separators=(",", ":"))
            head = json.dumps(
                {"id": self.id, "topic": self.topic, "kind": self.kind}, separators=(",", ":")
            )
            self._encoded = f'{head[:-1]},"data":{raw},"at":{json.dumps(self.at)}}}'
        return self._encoded

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.id, self.topic, self.kind, self.data, self.at) == (
            other.id,
            other.topic,
            other.kind,
            other.data,
            other.at,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Event(id={self.id}, topic={self.topic!r}, kind={self.kind!r}, data={self.data!r})"


class SubscriberDropped(ReelcutError):
    """The subscriber fell ``QUEUE_SIZE`` events behind and was dropped; resume from the last
    id it saw."""


Snapshot = Callable[[], Awaitable[dict[str, Any]]]


def insert_event(conn: sqlite3.Connection, topic: str, kind: str, data: dict[str, Any]) -> int:
    """Append one event inside the caller's transaction; return its id."""
    if topic not in TOPICS:
        raise ValueError(f"unknown event topic {topic!r}")
    cur = conn.execute(
        "INSERT INTO events (topic, kind, data, at) VALUES (?, ?, ?, ?)",
        (topic, kind, json.dumps(data, separators=(",", ":")), time.time()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


FILE_KIND = "file"
FileSource = Literal["editor", "changeset"]
_HEX64 = re.compile(r"[0-9a-f]{64}")


def file_event(path: str, sha256: str | None, source: FileSource) -> dict[str, Any]:
    """The data of a ``project``/``file`` event; refuses what a page could not match against
    a file of the project (an absolute path, ``..``, backslashes, a hash that is not sha256
    hex)."""
    if source not in ("editor", "changeset"):
        raise ValueError(f"unknown file event source {source!r}")
    rel = PurePosixPath(path)
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or rel.is_absolute()
        or any(part in ("..", ".") for part in path.split("/"))
        or rel.as_posix() != path
    ):
        raise ValueError(f"a file event needs a relative POSIX path inside the project: {path!r}")
    if sha256 is not None and not _HEX64.fullmatch(sha256):
        raise ValueError(f"a file event needs a lowercase hex sha256 or None: {sha256!r}")
    return {"path": path, "sha256": sha256, "from": source}


async def publish_file_changed(
    stream: EventStream, path: str, sha256: str | None, source: FileSource = "editor"
) -> int:
    """Say that ``path`` (relative POSIX, e.g. ``remotion/a_3/manifest.json``) now holds bytes
    with this ``sha256`` (None: the file was deleted); return the event id. Call it after the
    file is on disk: whoever hears it reads the file again at once."""
    return await stream.publish("project", FILE_KIND, file_event(path, sha256, source))


def _rows_after(conn: sqlite3.Connection, after: int, limit: int) -> list[Event]:
    rows = conn.execute(
        "SELECT id, topic, kind, data, at FROM events WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    ).fetchall()
    return [Event(r[0], r[1], r[2], None, r[4], raw=r[3]) for r in rows]


def _bounds(conn: sqlite3.Connection) -> tuple[int, int]:
    """(oldest retained id or 0, newest id ever issued or 0)."""
    oldest = conn.execute("SELECT min(id) FROM events").fetchone()[0] or 0
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return oldest, (row[0] if row else 0)


@dataclass(eq=False)
class _Subscriber:
    topics: frozenset[str] | None
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class EventStream:
    """Publish and subscribe; one per process and state database."""

    def __init__(
        self,
        adb: AsyncDB,
        *,
        window: int = WINDOW,
        poll: float = POLL_SECONDS,
        snapshot: Snapshot | None = None,
        coalesce: float = COALESCE_SECONDS,
        burst: float = BURST_SECONDS,
        prune_every: float = PRUNE_SECONDS,
    ) -> None:
        self.db = adb
        self.window = window
        self.poll = poll
        self.coalesce = coalesce
        self.burst = burst
        self._read_at = float("-inf")  # monotonic time of the tail's last read
        self.prune_every = prune_every
        self._next_prune = 0.0  # monotonic; the tail prunes the table when this passes
        self.snapshot = snapshot
        self._subs: list[_Subscriber] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._last = 0  # newest id fanned out
        self._version: int | None = None
        self._kick = asyncio.Event()
        self._tail: asyncio.Task[None] | None = None
        self._published = 0
        self._watch: WalWatch | None = None

    async def start(self) -> None:
        _, newest = await self.db.read(_bounds)
        self._last = newest
        self._version = await self.db.read(_data_version, quick=True)
        wal = self.db.path.with_name(self.db.path.name + "-wal")
        self._watch = WalWatch.open(wal, self._kick.set, min_interval=self.poll)
        self._tail = asyncio.create_task(self._run_tail(), name="reelcut-event-tail")

    @property
    def watching(self) -> bool:
        """Whether other processes' commits wake the tail (else it polls every ``poll``)."""
        return self._watch is not None

    async def close(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
            self._tail = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        for sub in self._subs:
            sub.dropped = True
            sub.wake.set()
        self._subs.clear()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, topic: Topic, kind: str, data: dict[str, Any] | None = None) -> int:
        payload = data or {}
        event_id = await self.db.write(lambda c: insert_event(c, topic, kind, payload), quick=True)
        self.committed()
        return event_id

    def committed(self) -> None:
        """Tell the tail that this process committed events (any transaction that called
        `insert_event`); it fans them out at once instead of at the next poll."""
        self._published += 1
        self._kick.set()

    async def prune(self) -> int:
        """Drop events older than the window; return how many."""
        window = self.window

        def go(conn: sqlite3.Connection) -> int:
            _, newest = _bounds(conn)
            return conn.execute("DELETE FROM events WHERE id <= ?", (newest - window,)).rowcount

        return await self.db.write(go)

    async def newest_id(self) -> int:
        return (await self.db.read(_bounds))[1]

    # -- subscribing -----------------------------------------------------------------------

    def listen(self, fn: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``fn`` (on the event loop, must not block) for every event fanned out."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn)

    async def subscribe(
        self, after: int | None = None, topics: Collection[str] | None = None
    ) -> AsyncIterator[Event]:
        """Every event after ``after`` (None: from now on), then live events, in id order."""
        async for event in self.watch(after, topics):
            assert event is not None  # no ``idle``: never a quiet marker
            yield event

    async def watch(
        self,
        after: int | None = None,
        topics: Collection[str] | None = None,
        idle: float | None = None,
    ) -> AsyncIterator[Event | None]:
        """`subscribe`, and with ``idle`` also ``None`` after every ``idle`` seconds without
        an event (an SSE keep-alive, a check that the client is still there), without a task
        or a timer per event."""
        sub = _Subscriber(frozenset(topics) if topics is not None else None)
        self._subs.append(sub)
        self._kick.set()  # start polling other processes' writes promptly
        try:
            oldest, newest = await self.db.read(_bounds)
            if after is None:
                last = newest
            elif (
                after > newest
                or (after < oldest - 1 and oldest > 0)
                or (oldest == 0 and after < newest)
            ):
                # Events after ``after`` are gone (pruned) or never existed here: say so.
                state = await self.snapshot() if self.snapshot is not None else {}
                reset = Event(
                    newest, "project", "reset", {"resume_from": newest, **state}, time.time()
                )
                last = newest
                yield reset
            else:
                last = after
            # The stored backlog, page by page.
            while True:
                page = await self.db.read(functools.partial(_rows_after, after=last, limit=_PAGE))
                for event in page:
                    last = event.id
                    if sub.topics is None or event.topic in sub.topics:
                        yield event
                if len(page) < _PAGE:
                    break
            # Live events; anything the backlog already gave is skipped by id.
            while True:
                while sub.queue.empty():
                    if sub.dropped:
                        raise SubscriberDropped(
                            f"event subscriber dropped after falling {QUEUE_SIZE} events "
                            f"behind; resume from id {last}"
                        )
                    sub.wake.clear()
                    if idle is None:
                        await sub.wake.wait()
                    elif not await wait_event(sub.wake, idle):
                        yield None
                event = sub.queue.get_nowait()
                if event.id <= last:
                    continue
                last = event.id
                yield event
        finally:
            with contextlib.suppress(ValueError):
                self._subs.remove(sub)

    # -- the tail --------------------------------------------------------------------------

    async def _run_tail(self) -> None:
        while True:
            if time.monotonic() >= self._next_prune:
                # Keep the table to the window: job progress alone writes thousands of rows.
                self._next_prune = time.monotonic() + self.prune_every
                with contextlib.suppress(sqlite3.OperationalError):  # busy: next time
                    await self.prune()
            # Wait for our own commits, or poll for other processes' while anyone listens.
            timeout = 1.0
            if self._subs or self._listeners:
                timeout = WATCHED_POLL if self._watch is not None else self.poll
            await wait_event(self._kick, timeout)
            kicked = self._kick.is_set()
            if kicked:
                # Let a burst of commits (a job finishing and the next claimed, an import
                # queueing dozens) land first, then read them in one trip.
                busy = time.monotonic() - self._read_at < BUSY_WITHIN
                await asyncio.sleep(self.burst if busy else self.coalesce)
            self._kick.clear()
            if not kicked:
                version = await self.db.read(_data_version, quick=True)
                if version == self._version:
                    continue
                self._version = version
            await self._fan_out()
            self._read_at = time.monotonic()

    async def _fan_out(self) -> None:
        while True:
            page = await self.db.read(
                functools.partial(_rows_after, after=self._last, limit=_LIVE_PAGE), quick=True
            )
            for event in page:
                self._last = event.id
                for fn in list(self._listeners):
                    try:
                        fn(event)
                    except Exception:  # one broken listener must not stop the stream
                        _log.exception("event listener %r failed on event %d", fn, event.id)
                for sub in list(self._subs):
                    if sub.topics is not None and event.topic not in sub.topics:
                        continue
                    if sub.queue.full():
                        # A burst can fill a healthy reader's queue: let readers run once, and
                        # drop the subscriber only if it still has not made room.
                        sub.wake.set()
                        await asyncio.sleep(0)
                    try:
                        sub.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        sub.dropped = True
                        with contextlib.suppress(ValueError):
                            self._subs.remove(sub)
                    sub.wake.set()
            if len(page) < _LIVE_PAGE:
                return


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; True if it was set.

    Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation that arrives as the
    inner wait completes, leaving a cancelled task running forever."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
