"""Opening ``.reelcut/state.sqlite`` and migrating it.

Schema changes are numbered SQL files in ``migrations/`` (``0001_history.sql``, ...), applied in
order inside one transaction each and recorded in ``PRAGMA user_version``; a database from any
earlier version is brought up to date on open. A database newer than this code is refused
rather than guessed at. Connections use WAL, foreign keys and a busy timeout.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from engine.errors import ReelcutError

STATE_FILE = "state.sqlite"
BUSY_TIMEOUT_MS = 5000


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for every migration file, in order; versions are 1, 2, 3..."""
    found = []
    for entry in resources.files("engine.state.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {version:04d}_{name} is out of sequence")
    return found


def latest_version() -> int:
    return len(migrations())


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the state database at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReelcutError(
            f"{path}: cannot open the state database ({exc}); move it aside "
            "to start a fresh one (undo history will be lost)"
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    steps = migrations()
    if current > len(steps):
        raise ReelcutError(
            f"the state database is at schema version {current}, newer than "
            f"this reelcut understands ({len(steps)}); upgrade reelcut"
        )
    for version, _name, sql in steps[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(steps)


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements. Comments (``--`` to the end of a line) are
    dropped first; our files hold no ``--`` or ``;`` inside string literals. A trigger's
    ``BEGIN ... END;`` body stays one statement (``sqlite3.complete_statement`` decides)."""
    body = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    out, buf = [], ""
    for piece in body.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    if buf.strip(" \n;"):
        raise RuntimeError(f"migration ends in an incomplete statement: {buf.strip()[:60]}")
    return out
