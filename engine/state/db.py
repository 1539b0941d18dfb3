"""Opening ``.reelcut/state.sqlite`` and migrating it.

Schema changes are numbered SQL files in ``migrations/`` (``0001_history.sql``, ...), applied in
order inside one transaction each and recorded in ``PRAGMA user_version``; a database from any
earlier version is brought up to date on open. A database newer than this code is refused
rather than guessed at. Connections use WAL, foreign keys and a busy timeout.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import stat
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from engine.errors import ReelcutError, StorageError
from engine.fsio import causes
from engine.fsio.causes import SQLITE_DAMAGED, describe, kind_of, sqlite_code, sqlite_refusal

STATE_FILE = causes.STATE_FILE
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


class StateConnection(sqlite3.Connection):
    """A connection to the state database; ``read_only`` when `connect` could only read it."""

    read_only = False


def connect(path: Path, *, read_only_ok: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the state database at ``path``.

    With ``read_only_ok``, when the file system refuses writes (a read-only mount, a folder
    without write permission), an existing database of this version is opened read-only
    instead (``read_only`` is then True on the connection), so the reading commands
    (``history``, ``jobs list``, ``events``) still work on a read-only project; a write
    through it fails, and the command's line names the cause. Callers that open the file
    again by other means (aiosqlite) leave it off, so they stop here with that line. Every
    failure is one line that names its real cause: `StorageError` for the file system (never
    with advice to move the database aside: that loses the history and fixes neither a
    permission nor a full disk), `ReelcutError` for a damaged file (the one case where a fresh
    database is the way out) or a database newer than this reelcut.
    """
    state_dir = path.parent
    try:
        state_dir.mkdir(exist_ok=True)
    except FileExistsError:
        raise StorageError(
            f"{state_dir}: is not a folder, where reelcut keeps its state database; move it "
            "out of the way and try again"
        ) from None
    except OSError as exc:
        raise StorageError(f"{state_dir}: cannot make the state folder: {describe(exc)}") from None
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StorageError(f"{path}: cannot open the state database: {describe(exc)}") from None
    else:
        if not stat.S_ISREG(mode):
            raise StorageError(
                f"{path}: is {kind_of(mode)}, where reelcut keeps its state database (a "
                "file); move it out of the way and try again"
            )
    try:
        return _open(path)
    except sqlite3.Error as exc:
        failure = exc
    cause = sqlite_refusal(failure, state_dir)
    if read_only_ok and cause in (errno.EROFS, errno.EACCES) and _is_file(path):
        conn = _open_read_only(path, cause)
        if conn is not None:
            return conn
    if cause is not None:
        raise StorageError(f"{path}: cannot open the state database: {describe(cause)}")
    if sqlite_code(failure) in SQLITE_DAMAGED:
        raise ReelcutError(
            f"{path}: the state database is damaged ({failure}); move it aside to start a "
            "fresh one (undo history will be lost)"
        )
    raise ReelcutError(f"{path}: cannot open the state database ({failure})")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder that cannot be searched
        return False


def _open(path: Path) -> StateConnection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, factory=StateConnection
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_read_only(path: Path, cause: int) -> StateConnection | None:
    """The database at ``path`` opened for reading only, or None when SQLite cannot.

    ``mode=ro`` reads a WAL database whose ``-wal`` and ``-shm`` files are there (a writer
    was killed, or is open). A database closed cleanly has neither, and a read-only
    connection cannot create them: it is read as ``immutable`` (no locks, no WAL), which is
    exact because there is no WAL to miss. A WAL left without its ``-shm`` cannot be read
    either way without losing its commits: None.
    """
    wal = Path(f"{path}-wal")
    queries = ["mode=ro"]
    if not (wal.exists() and wal.stat().st_size > 0):
        queries.append("immutable=1")
    for query in queries:
        uri = f"file:{quote(os.fsencode(path))}?{query}"
        try:
            conn = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                factory=StateConnection,
            )
        except sqlite3.Error:
            continue
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            conn.close()
            continue
        if version != latest_version():
            conn.close()
            if version > latest_version():
                raise _newer(version)
            raise StorageError(
                f"{path}: the state database is from an older reelcut and must be upgraded, "
                f"which needs writing: {describe(cause)}"
            )
        conn.read_only = True
        return conn
    return None


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    steps = migrations()
    if current > len(steps):
        raise _newer(current)
    for version, _name, sql in steps[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk): a second
            # ROLLBACK would fail and hide the cause.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(steps)


def _newer(version: int) -> ReelcutError:
    return ReelcutError(
        f"the state database is at schema version {version}, newer than "
        f"this reelcut understands ({latest_version()}); upgrade reelcut"
    )


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
