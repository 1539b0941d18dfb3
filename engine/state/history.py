"""The undo/redo history table: grouped steps with the hashes that make undo safe."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    seq: int
    group_id: int
    label: str
    author: str
    op_json: str
    forward_json: str
    inverse_json: str
    before_hash: str
    after_hash: str
    undone: bool
    created_at: str


_COLUMNS = (
    "seq, group_id, label, author, op_json, forward_json, inverse_json, before_hash, "
    "after_hash, undone, created_at"
)


class History:
    """Reads and writes ``history_steps``; a group is the unit of undo."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def next_group_id(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(group_id), 0) + 1 FROM history_steps")
        return int(row.fetchone()[0])

    def record(
        self,
        *,
        group_id: int,
        label: str,
        author: str,
        op_json: str,
        forward_json: str,
        inverse_json: str,
        before_hash: str,
        after_hash: str,
    ) -> int:
        """Add a step, first dropping every undone step (a new edit ends the redo chain)."""
        with self._tx():
            self.conn.execute("DELETE FROM history_steps WHERE undone = 1")
            cur = self.conn.execute(
                "INSERT INTO history_steps (group_id, label, author, op_json, forward_json, "
                "inverse_json, before_hash, after_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    group_id,
                    label,
                    author,
                    op_json,
                    forward_json,
                    inverse_json,
                    before_hash,
                    after_hash,
                    time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                ),
            )
            return int(cur.lastrowid or 0)

    def last_done_group(self) -> list[Step]:
        """Steps of the most recent group that is not undone, in order."""
        row = self.conn.execute(
            "SELECT group_id FROM history_steps WHERE undone = 0 ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return self._group(row[0], undone=False) if row else []

    def first_undone_group(self) -> list[Step]:
        """Steps of the earliest undone group (the next redo), in order."""
        row = self.conn.execute(
            "SELECT group_id FROM history_steps WHERE undone = 1 ORDER BY seq ASC LIMIT 1"
        ).fetchone()
        return self._group(row[0], undone=True) if row else []

    def mark(self, group_id: int, *, undone: bool) -> None:
        with self._tx():
            self.conn.execute(
                "UPDATE history_steps SET undone = ? WHERE group_id = ?", (int(undone), group_id)
            )

    def retarget(self, project_hash: str) -> None:
        """Record that project.json now hashes to ``project_hash`` at the point between done and
        undone steps: the after-hash of the last done step and the before-hash of the first
        undone one. Called after every save that is not itself a step (an undo, a redo, an
        editor-state change), so undo and redo keep finding the file they expect and only a
        change made outside reelcut stops them."""
        with self._tx():
            self.conn.execute(
                "UPDATE history_steps SET after_hash = ? WHERE seq = "
                "(SELECT MAX(seq) FROM history_steps WHERE undone = 0)",
                (project_hash,),
            )
            self.conn.execute(
                "UPDATE history_steps SET before_hash = ? WHERE seq = "
                "(SELECT MIN(seq) FROM history_steps WHERE undone = 1)",
                (project_hash,),
            )

    def drop(self, seq: int) -> None:
        """Remove one step (a journaled edit whose file never landed)."""
        with self._tx():
            self.conn.execute("DELETE FROM history_steps WHERE seq = ?", (seq,))

    def steps(self, limit: int = 1000) -> list[Step]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM history_steps ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_step(r) for r in reversed(rows)]

    def _group(self, group_id: int, *, undone: bool) -> list[Step]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM history_steps WHERE group_id = ? AND undone = ? ORDER BY seq",
            (group_id, int(undone)),
        ).fetchall()
        return [_step(r) for r in rows]

    def _tx(self) -> _Tx:
        return _Tx(self.conn)


class _Tx:
    """A transaction, or a part of the caller's when one is open (the session journals a
    step and its bookkeeping in one)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.outer:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _step(row: tuple[Any, ...]) -> Step:
    (
        seq,
        group_id,
        label,
        author,
        op_json,
        forward_json,
        inverse_json,
        before_hash,
        after_hash,
        undone,
        created_at,
    ) = row
    return Step(
        int(seq),
        int(group_id),
        str(label),
        str(author),
        str(op_json),
        str(forward_json),
        str(inverse_json),
        str(before_hash),
        str(after_hash),
        bool(undone),
        str(created_at),
    )
