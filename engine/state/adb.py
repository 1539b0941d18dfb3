"""One SQLite database driven from asyncio: each transaction is one function ``fn(conn) -> T``.

``aiosqlite`` (used by the changeset store) hops to its thread once per statement, so a
transaction of four statements is four hops and other coroutines can interleave statements
inside it. The job queue and the event stream run many small transactions (claim, heartbeat,
progress, finish, each with its event), so here a transaction is a plain function that runs
whole, on one connection, with nothing else on that connection in between.

Two connections:

- the **worker** connection lives on its own thread. `read` and `write` run there by default,
  so the event loop never waits on SQLite: not on a long query, not on ``busy_timeout`` while
  another process holds the write lock, not on a WAL checkpoint's fsyncs;
- the **quick** connection is used on the event loop itself, for the small, indexed
  transactions of the job queue and the event stream (``quick=True``). Handing each of them to
  a thread costs more than the transaction (two thread switches, and the GIL passed back and
  forth at every statement while the loop is busy: measured 3-4x the transaction's own time),
  so they run in place, but only when that cannot block: the quick connection has a busy
  timeout of 0 (``BEGIN IMMEDIATE`` fails at once when another connection or process holds
  the write lock, and the transaction is then handed to the worker thread, which waits for the
  lock as usual) and never checkpoints (``wal_autocheckpoint = 0``; after every
  ``CHECKPOINT_EVERY`` quick commits a passive checkpoint is run on the worker thread). What
  is left on the loop is SQLite's own work on a few pages and the WAL append (a write to the
  page cache: ``synchronous = NORMAL`` does not fsync a WAL commit), tens of microseconds.

A quick transaction that meets ``SQLITE_BUSY`` after ``BEGIN`` (WAL recovery by another
process, for instance) is rolled back and run again on the worker thread, so ``fn`` must not
have effects outside the connection, as for any transaction that may roll back. Because a
handed-over transaction runs later, two quick writes issued by *different* coroutines may
commit in either order; one coroutine's writes, each awaited, commit in its order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from engine.state import db

T = TypeVar("T")

CHECKPOINT_EVERY = 500  # quick commits between passive checkpoints on the worker thread


class _Busy(Exception):
    """The quick connection could not take the lock at once; use the worker thread."""


class AsyncDB:
    """``.reelcut/state.sqlite`` (migrated on open) behind a worker thread, plus a quick
    connection for small transactions that run on the event loop when they cannot block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="reelcut-db")
        self._conn: sqlite3.Connection | None = None
        self._quick: sqlite3.Connection | None = None
        self._quick_commits = 0
        self._checkpointing = False
        self.handed_over = 0  # quick transactions that went to the worker thread (for tests)

    @classmethod
    async def open(cls, state_dir: Path) -> AsyncDB:
        self = cls(state_dir / db.STATE_FILE)
        try:
            self._conn = await self._run(
                functools.partial(db.connect, self.path, read_only_ok=True)
            )
            if not getattr(self._conn, "read_only", False):
                # A database that could only be opened for reading (a read-only project) is
                # read on the worker thread alone: nothing quick is left to do on it.
                self._quick = await self._run(_quick_connection, self.path)
        except BaseException:
            if self._conn is not None:
                await self._run(self._conn.close)
                self._conn = None
            self._pool.shutdown(wait=False)
            raise
        return self

    async def read(self, fn: Callable[[sqlite3.Connection], T], *, quick: bool = False) -> T:
        """Run ``fn`` on a connection (no transaction: each statement sees committed data).
        ``quick``: a small indexed read, run on the event loop (WAL readers take no lock)."""
        if quick and self._quick is not None:
            try:
                return fn(self._quick)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                self.handed_over += 1
        return await self._run(fn, self._live())

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, quick: bool = False) -> T:
        """Run ``fn`` inside ``BEGIN IMMEDIATE ... COMMIT`` (rolled back if it raises).
        ``quick``: a small transaction of a few indexed statements; it runs on the event loop
        when the write lock is free at once, else on the worker thread."""
        if quick and self._quick is not None:
            try:
                result = _at_once(self._quick, fn)
            except _Busy:
                self.handed_over += 1
            else:
                self._quick_commits += 1
                if self._quick_commits % CHECKPOINT_EVERY == 0:
                    self._checkpoint_soon()
                return result
        return await self._run(transaction, self._live(), fn)

    async def close(self) -> None:
        if self._quick is not None:
            quick, self._quick = self._quick, None
            quick.close()
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

    def _checkpoint_soon(self) -> None:
        """A passive checkpoint on the worker thread (the quick connection never runs one:
        its fsyncs would block the loop), at most one at a time."""
        if self._checkpointing or self._conn is None:
            return
        self._checkpointing = True
        conn = self._conn

        def done(_: object) -> None:
            self._checkpointing = False

        future = self._pool.submit(_checkpoint, conn)
        future.add_done_callback(done)


def _quick_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 0")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def _checkpoint(conn: sqlite3.Connection) -> None:
    # On failure the next one, or any connection's autocheckpoint, catches up.
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _at_once(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``transaction`` that raises `_Busy` (with nothing written) instead of waiting."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _Busy from None
        raise
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if _is_busy(exc):
            raise _Busy from None
        raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``fn(conn)`` in one immediate transaction (the write lock is taken up front, so two
    processes never deadlock upgrading read locks)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        # After some errors (SQLITE_FULL among them) SQLite has rolled back already, and a
        # second ROLLBACK would raise "no transaction is active" in place of the cause.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
