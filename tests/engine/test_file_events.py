"""File-changed events: a changeset applied or reverted publishes one ``project``/``file`` event
per file it changed, with the sha256 now on disk, in the same transaction as its status; the
editor publishes its own through `publish_file_changed`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.changes.ledger import Ledger, sha256
from engine.events import EventStream, file_event, publish_file_changed
from engine.state import db
from engine.state.adb import AsyncDB

MANIFEST = "remotion/a_1/manifest.json"


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "scripts").mkdir(parents=True)
    (root / "remotion" / "a_1").mkdir(parents=True)
    (root / "scripts" / "gone.md").write_text("to be deleted\n")
    (root / MANIFEST).write_text('{"source": "old"}\n')
    return root


def file_events(root: Path, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
    conn = sqlite3.connect(root / ".reelcut" / db.STATE_FILE)
    try:
        rows = conn.execute(
            "SELECT id, data FROM events WHERE topic = 'project' AND kind = 'file' AND id > ? "
            "ORDER BY id",
            (after,),
        ).fetchall()
    finally:
        conn.close()
    return [(r[0], json.loads(r[1])) for r in rows]


def on_disk(root: Path, rel: str) -> str | None:
    path = root / rel
    return sha256(path.read_bytes()) if path.exists() else None


EDITS: dict[str, str | None] = {
    MANIFEST: '{"source": "new"}\n',  # changed
    "scripts/new.md": "fresh\n",  # created
    "scripts/gone.md": None,  # deleted
}


async def propose(ledger: Ledger, edits: Mapping[str, str | None]) -> int:
    cs = await ledger.store.create("agent", "test")
    for rel, text in edits.items():
        await ledger.propose(cs, rel, text)
    await ledger.mark_ready(cs)
    return cs


def test_apply_and_revert_publish_the_hash_now_on_disk_of_every_file(proj: Path) -> None:
    old_manifest = on_disk(proj, MANIFEST)

    async def go() -> None:
        ledger = await Ledger.open(proj)
        try:
            cs = await propose(ledger, EDITS)
            assert file_events(proj) == []  # proposing changes no file
            assert (await ledger.apply(cs)).status == "applied"
            applied = file_events(proj)
            assert [d for _, d in applied] == [
                {"path": rel, "sha256": on_disk(proj, rel), "from": "changeset"} for rel in EDITS
            ]
            assert [d["sha256"] for _, d in applied] == [
                sha256(b'{"source": "new"}\n'),
                sha256(b"fresh\n"),
                None,
            ]
            assert (await ledger.revert(cs)).status == "reverted"
            reverted = file_events(proj, after=applied[-1][0])
            assert [d for _, d in reverted] == [
                {"path": rel, "sha256": on_disk(proj, rel), "from": "changeset"} for rel in EDITS
            ]
            assert [d["sha256"] for _, d in reverted] == [
                old_manifest,
                None,
                sha256(b"to be deleted\n"),
            ]
            # Applied again after the revert: the after hashes again.
            assert (await ledger.apply(cs)).status == "applied"
            again = file_events(proj, after=reverted[-1][0])
            assert [d for _, d in again] == [d for _, d in applied]
        finally:
            await ledger.close()

    asyncio.run(go())


def test_a_file_event_is_visible_exactly_when_the_status_is(proj: Path) -> None:
    """The trigger writes inside the status change's transaction: another connection sees
    neither before the commit, both after it; a rolled-back change leaves no event."""

    async def setup() -> int:
        ledger = await Ledger.open(proj)
        try:
            return await propose(ledger, {MANIFEST: '{"source": "new"}\n'})
        finally:
            await ledger.close()

    cs = asyncio.run(setup())
    path = proj / ".reelcut" / db.STATE_FILE
    writer = db.connect(path)
    reader = db.connect(path)

    def seen() -> tuple[str, int]:
        status, count = reader.execute(
            "SELECT (SELECT status FROM changesets WHERE id = ?), "
            "(SELECT count(*) FROM events WHERE topic = 'project' AND kind = 'file')",
            (cs,),
        ).fetchone()
        return status, count

    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE changesets SET status = 'applied' WHERE id = ?", (cs,))
        assert writer.execute("SELECT count(*) FROM events WHERE kind = 'file'").fetchone() == (1,)
        assert seen() == ("ready", 0)
        writer.execute("ROLLBACK")
        assert seen() == ("ready", 0)

        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE changesets SET status = 'applied' WHERE id = ?", (cs,))
        assert seen() == ("ready", 0)
        writer.execute("COMMIT")
        assert seen() == ("applied", 1)
        # Touching the row without changing its status says nothing more.
        writer.execute("UPDATE changesets SET status = 'applied', error = NULL WHERE id = ?", (cs,))
        assert seen() == ("applied", 1)
    finally:
        writer.close()
        reader.close()


def test_a_reader_never_sees_the_status_without_its_file_events(proj: Path) -> None:
    """While the real ledger applies and reverts, a reader samples status and file events in
    one snapshot, as fast as it can: every sample is consistent."""
    edits = {f"scripts/f{i}.md": f"text {i}\n" for i in range(8)}
    for rel in edits:
        (proj / rel).write_text("before\n")
    path = proj / ".reelcut" / db.STATE_FILE
    db.connect(path).close()
    stop = threading.Event()
    samples: set[tuple[str | None, int]] = set()
    last: list[tuple[str | None, int]] = []

    def sample() -> None:
        conn = db.connect(path)
        try:
            while not stop.is_set():
                samples.add(
                    conn.execute(
                        "SELECT (SELECT status FROM changesets WHERE id = 1), "
                        "(SELECT count(*) FROM events WHERE topic = 'project' AND kind = 'file')"
                    ).fetchone()
                )
            final = conn.execute(
                "SELECT (SELECT status FROM changesets WHERE id = 1), "
                "(SELECT count(*) FROM events WHERE topic = 'project' AND kind = 'file')"
            ).fetchone()
            samples.add(final)
            last.append(final)
        finally:
            conn.close()

    async def go() -> None:
        ledger = await Ledger.open(proj)
        try:
            cs = await propose(ledger, edits)
            assert cs == 1
            for _ in range(5):
                await ledger.apply(cs)
                await ledger.revert(cs)
        finally:
            await ledger.close()

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        asyncio.run(go())
    finally:
        stop.set()
        thread.join()
    n = len(edits)
    allowed: dict[str | None, set[int]] = {
        None: {0},
        "pending": {0},
        "ready": {0},
        "applied": {n * k for k in (1, 3, 5, 7, 9)},
        "reverted": {n * k for k in (2, 4, 6, 8, 10)},
    }
    bad = [s for s in samples if s[1] not in allowed[s[0]]]
    assert bad == []
    assert last == [("reverted", 10 * n)]
    # The reader did catch the ledger between steps, not only before and after.
    assert len(samples) > 3, samples


def test_a_failed_revert_moves_no_file_and_says_nothing(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> None:
        ledger = await Ledger.open(proj)
        try:
            cs = await propose(ledger, EDITS)
            await ledger.apply(cs)
            before = file_events(proj)

            def fail(*_: object) -> None:
                raise OSError(28, "No space left on device")

            monkeypatch.setattr(ledger, "_write_all", fail)
            with pytest.raises(Exception, match="could not revert"):
                await ledger.revert(cs)
            got = await ledger.store.get(cs)
            assert got is not None and got.status == "applied"
            assert file_events(proj) == before
        finally:
            await ledger.close()

    asyncio.run(go())


def test_an_interrupted_apply_finished_at_restart_publishes_its_files(proj: Path) -> None:
    async def crash() -> int:
        ledger = await Ledger.open(proj)
        try:
            cs = await propose(ledger, {MANIFEST: '{"source": "new"}\n'})
            # As a killed apply leaves it: marked in flight, the file already written.
            await ledger.store.set_state(cs, in_flight="apply")
            (proj / MANIFEST).write_text('{"source": "new"}\n')
            return cs
        finally:
            await ledger.close()

    async def restart(cs: int) -> str:
        ledger = await Ledger.open(proj)  # reconciles
        try:
            got = await ledger.store.get(cs)
            assert got is not None
            return got.status
        finally:
            await ledger.close()

    cs = asyncio.run(crash())
    assert file_events(proj) == []
    assert asyncio.run(restart(cs)) == "applied"
    assert [d for _, d in file_events(proj)] == [
        {"path": MANIFEST, "sha256": sha256(b'{"source": "new"}\n'), "from": "changeset"}
    ]


def test_a_database_from_every_earlier_version_gets_the_trigger(tmp_path: Path) -> None:
    """Migrated from each earlier schema version with a changeset already ready, applying it
    publishes its file event."""
    steps = db.migrations()
    assert [name for _, name, _ in steps][4] == "file_events"
    for version in range(2, len(steps)):  # changesets exist from version 2 on
        path = tmp_path / f"v{version}.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        for _, _, sql in steps[:version]:
            for statement in db._statements(sql):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO changesets (id, status, author, created_at, updated_at) "
            "VALUES (7, 'ready', 'agent', 'now', 'now')"
        )
        conn.execute(
            "INSERT INTO file_changes (changeset_id, seq, path, base_hash, after_hash, diff) "
            "VALUES (7, 1, 'scripts/a.md', NULL, 'ab', '')"
        )
        conn.close()
        migrated = db.connect(path)
        try:
            assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(steps)
            migrated.execute("UPDATE changesets SET status = 'applied' WHERE id = 7")
            rows = migrated.execute(
                "SELECT topic, kind, data, at FROM events WHERE kind = 'file'"
            ).fetchall()
            assert [(t, k, json.loads(d)) for t, k, d, _ in rows] == [
                ("project", "file", {"path": "scripts/a.md", "sha256": "ab", "from": "changeset"})
            ], version
            assert rows[0][3] > 1_600_000_000  # Unix seconds, like every other event
        finally:
            migrated.close()


def test_publish_file_changed_reaches_subscribers(tmp_path: Path) -> None:
    digest = sha256(b"x")

    async def go() -> None:
        adb = await AsyncDB.open(tmp_path / ".reelcut")
        stream = EventStream(adb)
        await stream.start()
        try:
            it = stream.subscribe(after=await stream.newest_id(), topics=["project"])
            event_id = await publish_file_changed(stream, MANIFEST, digest, "editor")
            event = await asyncio.wait_for(anext(it), 10)
            assert (event.id, event.topic, event.kind) == (event_id, "project", "file")
            assert event.data == {"path": MANIFEST, "sha256": digest, "from": "editor"}
            await publish_file_changed(stream, "scripts/a.md", None)
            event = await asyncio.wait_for(anext(it), 10)
            assert event.data == {"path": "scripts/a.md", "sha256": None, "from": "editor"}
            await it.aclose()  # type: ignore[attr-defined]
        finally:
            await stream.close()
            await adb.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("path", "digest"),
    [
        ("/etc/passwd", None),
        ("../x.md", None),
        ("a/../b.md", None),
        ("./a.md", None),
        ("a//b.md", None),
        ("a\\b.md", None),
        ("", None),
        ("scripts/a.md", "ABC"),
        ("scripts/a.md", sha256(b"x").upper()),
    ],
)
def test_a_file_event_refuses_what_no_page_could_match(path: str, digest: str | None) -> None:
    with pytest.raises(ValueError):
        file_event(path, digest, "editor")
