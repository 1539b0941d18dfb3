"""One SQLite connection driven from asyncio: each transaction is one function run on the
connection's own thread.

``aiosqlite`` (used by the changeset store) hops to its thread once per statement, so a
transaction of four statements is four hops and other coroutines can interleave statements
inside it. The job queue and the event stream run many small transactions (claim, heartbeat,
progress, finish, each with its event), so here a transaction is a plain function
``fn(conn) -> T`` that runs whole on the connection's single worker thread: one hop per
transaction, and nothing else can run on the connection in between. The event loop never
blocks on SQLite, including on ``busy_timeout`` waits for another process's write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from engine.state import db

T = TypeVar("T")


class AsyncDB:
    """``.reelcut/state.sqlite`` (migrated on open) behind one worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="reelcut-db")
        self._conn: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, state_dir: Path) -> AsyncDB:
        self = cls(state_dir / db.STATE_FILE)
        try:
            self._conn = await self._run(db.connect, self.path)
        except BaseException:
            self._pool.shutdown(wait=False)
            raise
        return self

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection (no transaction: each statement sees committed data)."""
        return await self._run(fn, self._live())

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` inside ``BEGIN IMMEDIATE ... COMMIT`` (rolled back if it raises)."""
        return await self._run(transaction, self._live(), fn)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._run(conn.close)
        self._pool.shutdown(wait=True)

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the state database is closed")
        return self._conn

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn(conn)`` in one immediate transaction (the write lock is taken up front, so two
    processes never deadlock upgrading read locks)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
