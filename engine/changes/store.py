"""The changeset tables of ``.reelcut/state.sqlite``, through aiosqlite: the only module that
holds changeset SQL.

The database is created and migrated by ``engine.state.db`` (numbered migration files); this
module opens it asynchronously with the same pragmas (WAL, foreign keys, busy timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from engine.state import db

Status = Literal["pending", "ready", "applied", "reverted", "failed"]
CallPlace = tuple[int, int, int]  # (run id, step, index of the call in the model's turn)
InFlight = Literal["apply", "revert"]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Changeset:
    id: int
    status: Status
    in_flight: InFlight | None
    author: str
    reason: str
    applied_order: int | None
    error: str | None
    created_at: str
    updated_at: str
    applied_at: str | None
    reverted_at: str | None


@dataclass(frozen=True)
class FileChange:
    """The change of one path in a changeset.

    Whole texts on both sides (None where the file does not exist), or, for a file over
    `engine.changes.delta.LARGE` bytes that exists on both sides, ``delta``: its splices as
    JSON, and no texts (`stored_as_delta`). ``diff`` is the unified diff either way."""

    changeset_id: int
    seq: int
    path: str
    base_hash: str | None
    after_hash: str | None
    before_text: str | None
    after_text: str | None
    diff: str
    before_bytes: int
    after_bytes: int
    delta: str | None = None

    @property
    def stored_as_delta(self) -> bool:
        return self.delta is not None


_CS_COLUMNS = (
    "id, status, in_flight, author, reason, applied_order, error, created_at, updated_at, "
    "applied_at, reverted_at"
)
_FC_COLUMNS = (
    "changeset_id, seq, path, base_hash, after_hash, before_text, after_text, diff, "
    "before_bytes, after_bytes, delta"
)


class ChangeStore:
    """Async access to changesets, file changes and tool events."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, state_dir: Path) -> ChangeStore:
        path = state_dir / db.STATE_FILE
        # Create and migrate with the one migration runner, then open asynchronously.
        await asyncio.to_thread(lambda: db.connect(path).close())
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute(f"PRAGMA busy_timeout = {db.BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """The statements inside commit together or not at all (a tool call's audit row and
        its proposals: a call is never on record without what it proposed, nor the reverse)."""
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            await asyncio.shield(self.conn.execute("ROLLBACK"))
            raise
        await self.conn.execute("COMMIT")

    # -- changesets ------------------------------------------------------------------------

    async def create(self, author: str, reason: str = "") -> int:
        t = now()
        cur = await self.conn.execute(
            "INSERT INTO changesets (status, author, reason, created_at, updated_at) "
            "VALUES ('pending', ?, ?, ?, ?)",
            (author, reason, t, t),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def get(self, changeset_id: int) -> Changeset | None:
        async with self.conn.execute(
            f"SELECT {_CS_COLUMNS} FROM changesets WHERE id = ?", (changeset_id,)
        ) as cur:
            row = await cur.fetchone()
        return Changeset(*row) if row else None

    async def recent(self, limit: int = 100) -> list[Changeset]:
        async with self.conn.execute(
            f"SELECT {_CS_COLUMNS} FROM changesets ORDER BY id DESC LIMIT ?", (limit,)
        ) as cur:
            return [Changeset(*row) for row in await cur.fetchall()]

    async def in_flight(self) -> list[Changeset]:
        async with self.conn.execute(
            f"SELECT {_CS_COLUMNS} FROM changesets WHERE in_flight IS NOT NULL ORDER BY id"
        ) as cur:
            return [Changeset(*row) for row in await cur.fetchall()]

    async def set_state(
        self,
        changeset_id: int,
        *,
        status: Status | None = None,
        in_flight: InFlight | Literal["keep"] | None = "keep",
        error: str | Literal["keep"] | None = "keep",
        applied: bool = False,
        reverted: bool = False,
    ) -> None:
        sets, args = ["updated_at = ?"], [now()]
        if status is not None:
            sets.append("status = ?")
            args.append(status)
        if in_flight != "keep":
            sets.append("in_flight = ?")
            args.append(in_flight)  # type: ignore[arg-type]
        if error != "keep":
            sets.append("error = ?")
            args.append(error)  # type: ignore[arg-type]
        if applied:
            sets.append("applied_at = ?")
            args.append(now())
            sets.append(
                "applied_order = (SELECT COALESCE(MAX(applied_order), 0) + 1 FROM changesets)"
            )
        if reverted:
            sets.append("reverted_at = ?")
            args.append(now())
        await self.conn.execute(
            f"UPDATE changesets SET {', '.join(sets)} WHERE id = ?", (*args, changeset_id)
        )

    async def later_applied_touching(self, changeset: Changeset, paths: list[str]) -> list[int]:
        """Applied changesets applied after ``changeset`` that change one of ``paths``."""
        if changeset.applied_order is None or not paths:
            return []
        marks = ", ".join("?" for _ in paths)
        async with self.conn.execute(
            "SELECT DISTINCT c.id FROM changesets c JOIN file_changes f ON f.changeset_id = c.id "
            f"WHERE c.status = 'applied' AND c.applied_order > ? AND f.path IN ({marks}) "
            "ORDER BY c.applied_order DESC",
            (changeset.applied_order, *paths),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    # -- file changes ----------------------------------------------------------------------

    async def files(self, changeset_id: int) -> list[FileChange]:
        async with self.conn.execute(
            f"SELECT {_FC_COLUMNS} FROM file_changes WHERE changeset_id = ? ORDER BY seq",
            (changeset_id,),
        ) as cur:
            return [FileChange(*row) for row in await cur.fetchall()]

    async def put_file(self, fc: FileChange) -> None:
        """Insert the change of one path, or replace it (a later tool call in the changeset:
        the same base, so only the way it is stored and the after side change)."""
        await self.conn.execute(
            f"INSERT INTO file_changes ({_FC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (changeset_id, path) DO UPDATE SET after_hash = excluded.after_hash, "
            "before_text = excluded.before_text, after_text = excluded.after_text, "
            "diff = excluded.diff, after_bytes = excluded.after_bytes, delta = excluded.delta",
            (
                fc.changeset_id,
                fc.seq,
                fc.path,
                fc.base_hash,
                fc.after_hash,
                fc.before_text,
                fc.after_text,
                fc.diff,
                fc.before_bytes,
                fc.after_bytes,
                fc.delta,
            ),
        )

    async def rebase_file(
        self,
        changeset_id: int,
        path: str,
        *,
        before_text: str | None,
        base_hash: str | None,
        after_text: str | None,
        after_hash: str | None,
        diff: str,
    ) -> None:
        """Replace both sides of one file change (a forced apply or revert over newer bytes),
        as whole texts."""
        await self.conn.execute(
            "UPDATE file_changes SET before_text = ?, base_hash = ?, after_text = ?, "
            "after_hash = ?, diff = ?, before_bytes = ?, after_bytes = ?, delta = NULL "
            "WHERE changeset_id = ? AND path = ?",
            (
                before_text,
                base_hash,
                after_text,
                after_hash,
                diff,
                len(before_text.encode("utf-8")) if before_text is not None else 0,
                len(after_text.encode("utf-8")) if after_text is not None else 0,
                changeset_id,
                path,
            ),
        )

    async def next_seq(self, changeset_id: int) -> int:
        async with self.conn.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM file_changes WHERE changeset_id = ?",
            (changeset_id,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    # -- tool events -----------------------------------------------------------------------

    async def record_tool(
        self,
        changeset_id: int | None,
        tool: str,
        args: dict[str, Any],
        audit: dict[str, Any],
        *,
        ok: bool,
        error: str | None = None,
        call: CallPlace | None = None,
        result: dict[str, Any] | None = None,
    ) -> int:
        """Record one tool call; ``call`` says which run, step and place in the model's turn it
        was (None for calls from the command line), ``result`` what its caller was told."""
        run_id, step, index = call if call is not None else (None, None, None)
        cur = await self.conn.execute(
            "INSERT INTO tool_events (changeset_id, tool, args_json, audit_json, ok, error, "
            "created_at, run_id, step, call_index, result_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                changeset_id,
                tool,
                json.dumps(args, sort_keys=True),
                json.dumps(audit, sort_keys=True),
                int(ok),
                error,
                now(),
                run_id,
                step,
                index,
                None if result is None else json.dumps(result, sort_keys=True),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def set_tool_result(self, event_id: int, result: dict[str, Any]) -> None:
        await self.conn.execute(
            "UPDATE tool_events SET result_json = ? WHERE id = ?",
            (json.dumps(result, sort_keys=True), event_id),
        )

    async def tool_events(self, changeset_id: int) -> list[dict[str, Any]]:
        return await self._tool_events("changeset_id = ?", (changeset_id,))

    async def run_tool_events(self, run_id: int) -> list[dict[str, Any]]:
        """Every call of an agent run, in order, whatever became of it."""
        return await self._tool_events("run_id = ?", (run_id,))

    async def run_call(self, run_id: int, step: int, index: int) -> dict[str, Any] | None:
        """The recorded call ``index`` of the run's model turn ``step``, if it was made."""
        found = await self._tool_events(
            "run_id = ? AND step = ? AND call_index = ?", (run_id, step, index)
        )
        return found[-1] if found else None

    async def _tool_events(self, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        async with self.conn.execute(
            "SELECT id, tool, args_json, audit_json, ok, error, created_at, run_id, step, "
            f"call_index, result_json, changeset_id FROM tool_events WHERE {where} ORDER BY id",
            args,
        ) as cur:
            rows = await cur.fetchall()
        return [
            {
                "id": r[0],
                "tool": r[1],
                "args": json.loads(r[2]),
                "audit": json.loads(r[3]),
                "ok": bool(r[4]),
                "error": r[5],
                "created_at": r[6],
                "run": r[7],
                "step": r[8],
                "call_index": r[9],
                "result": None if r[10] is None else json.loads(r[10]),
                "changeset": r[11],
            }
            for r in rows
        ]


def interrupted(conn: sqlite3.Connection) -> bool:
    """Whether a changeset is in flight (an apply or revert under way, or killed), read on a
    plain sqlite3 connection (the session's)."""
    row = conn.execute("SELECT 1 FROM changesets WHERE in_flight IS NOT NULL LIMIT 1")
    return row.fetchone() is not None
