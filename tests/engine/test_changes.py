"""Changesets: hash-checked apply and revert, all-or-nothing writes, crash reconciliation,
and the state database's migrations from every earlier version."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.changes.ledger import ChangesetError, Files, HashMismatch, Ledger, sha256
from engine.errors import ReelcutError
from engine.state import db

T = TypeVar("T")


def run(fn: Callable[[Ledger], Awaitable[T]], root: Path) -> T:
    async def main() -> T:
        ledger = await Ledger.open(root)
        try:
            return await fn(ledger)
        finally:
            await ledger.close()

    return asyncio.run(main())


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "scripts").mkdir(parents=True)
    for i in range(5):
        (root / "scripts" / f"f{i}.md").write_text(f"# file {i}\nline a\nline b\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".reelcut" not in p.parts
    }


async def propose_all(ledger: Ledger, edits: dict[str, str | None], author: str = "agent") -> int:
    cs = await ledger.store.create(author, "test")
    for rel, text in edits.items():
        await ledger.propose(cs, rel, text)
    await ledger.mark_ready(cs)
    return cs


def test_apply_then_revert_restores_every_byte(proj: Path) -> None:
    before = snapshot(proj)
    edits: dict[str, str | None] = {
        "scripts/f0.md": "# file 0\nline A\nline b\n",
        "scripts/new.md": "fresh\n",
        "scripts/f1.md": None,  # deleted
    }

    async def go(ledger: Ledger) -> None:
        cs = await propose_all(ledger, edits)
        files = await ledger.store.files(cs)
        assert [f.path for f in files] == list(edits)
        assert "-line a\n+line A" in files[0].diff
        assert files[1].base_hash is None and files[2].after_hash is None
        assert (await ledger.apply(cs)).status == "applied"
        after = snapshot(proj)
        assert after["scripts/f0.md"] == b"# file 0\nline A\nline b\n"
        assert after["scripts/new.md"] == b"fresh\n"
        assert "scripts/f1.md" not in after
        assert (await ledger.revert(cs)).status == "reverted"

    run(go, proj)
    assert snapshot(proj) == before


def test_proposals_in_one_changeset_compose(proj: Path) -> None:
    async def go(ledger: Ledger) -> None:
        cs = await ledger.store.create("agent")
        first = (await ledger.read(cs, "scripts/f0.md")) or ""
        await ledger.propose(cs, "scripts/f0.md", first + "one\n")
        second = (await ledger.read(cs, "scripts/f0.md")) or ""
        assert second.endswith("one\n")  # read through the overlay, not the disk
        fc = await ledger.propose(cs, "scripts/f0.md", second + "two\n")
        assert fc.base_hash == sha256(b"# file 0\nline a\nline b\n")  # still the disk's
        assert len(await ledger.store.files(cs)) == 1
        await ledger.apply(cs)

    run(go, proj)
    assert (proj / "scripts/f0.md").read_text().endswith("one\ntwo\n")


@pytest.mark.parametrize(
    "user_edit",
    [
        pytest.param(lambda b: b[:-2] + b"B\n", id="one-byte"),
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda b: b.replace(b"line a", b"line z"), id="same-mtime"),
    ],
)
def test_stale_base_is_refused_and_leaves_every_file(
    proj: Path, user_edit: Callable[[bytes], bytes]
) -> None:
    target = proj / "scripts/f0.md"

    async def go(ledger: Ledger) -> None:
        cs = await propose_all(
            ledger, {"scripts/f1.md": "other\n", "scripts/f0.md": "agent's version\n"}
        )
        st = target.stat()
        target.write_bytes(user_edit(target.read_bytes()))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime as before
        user_state = snapshot(proj)
        with pytest.raises(HashMismatch) as err:
            await ledger.apply(cs)
        assert err.value.to_json() == {
            "path": "scripts/f0.md",
            "expected": sha256(b"# file 0\nline a\nline b\n"),
            "actual": sha256(target.read_bytes()),
            "direction": "apply",
        }
        assert "\n" not in str(err.value)
        assert snapshot(proj) == user_state  # f1 was not written either
        assert (await ledger.store.get(cs)).status == "ready"  # type: ignore[union-attr]
        await ledger.apply(cs, force=True)
        assert target.read_text() == "agent's version\n"

    run(go, proj)


def test_twenty_sequential_self_edits_never_mismatch(proj: Path) -> None:
    async def go(ledger: Ledger) -> list[int]:
        ids = []
        for i in range(20):
            cs = await ledger.store.create("agent")
            text = (await ledger.read(cs, "scripts/f0.md")) or ""
            await ledger.propose(cs, "scripts/f0.md", text + f"edit {i}\n")
            await ledger.apply(cs)
            ids.append(cs)
        # Reverting out of order is refused: later changesets built on this one.
        with pytest.raises(ChangesetError, match=r"revert .* first"):
            await ledger.revert(ids[5])
        for cs in reversed(ids):
            await ledger.revert(cs)
        return ids

    run(go, proj)
    assert (proj / "scripts/f0.md").read_text() == "# file 0\nline a\nline b\n"


def test_revert_after_a_user_edit_is_refused(proj: Path) -> None:
    async def go(ledger: Ledger) -> None:
        cs = await propose_all(ledger, {"scripts/f0.md": "agent\n"})
        await ledger.apply(cs)
        (proj / "scripts/f0.md").write_text("agent\nand the user's line\n")
        with pytest.raises(HashMismatch) as err:
            await ledger.revert(cs)
        assert err.value.direction == "revert"
        assert (proj / "scripts/f0.md").read_text() == "agent\nand the user's line\n"

    run(go, proj)


def test_a_write_failing_part_way_puts_back_what_was_written(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(proj)
    real_write = Files.write
    calls = {"n": 0}

    def failing_write(self: Files, rel: str, data: bytes | None) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device", rel)
        real_write(self, rel, data)

    async def go(ledger: Ledger) -> None:
        cs = await propose_all(ledger, {f"scripts/f{i}.md": f"new {i}\n" for i in range(5)})
        monkeypatch.setattr(Files, "write", failing_write)
        with pytest.raises(ChangesetError, match="No space left on device"):
            await ledger.apply(cs)
        monkeypatch.setattr(Files, "write", real_write)
        got = await ledger.store.get(cs)
        assert got is not None and got.status == "failed" and got.in_flight is None

    run(go, proj)
    assert snapshot(proj) == before


_DIE = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from engine.changes.ledger import Files, Ledger

    root, changeset, after = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    real = Files.write
    count = [0]

    def write(self, rel, data):
        if count[0] == after:
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, rel, data)
        count[0] += 1

    Files.write = write

    async def main():
        ledger = await Ledger.open(root)
        await ledger.apply(changeset)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("killed_after", range(6))
def test_apply_killed_at_every_step_is_all_or_nothing_after_restart(
    proj: Path, killed_after: int
) -> None:
    before = snapshot(proj)
    edits = {f"scripts/f{i}.md": f"new {i}\n" for i in range(5)}

    cs = run(lambda ledger: propose_all(ledger, dict(edits)), proj)
    res = subprocess.run(
        [sys.executable, "-c", _DIE, str(proj), str(cs), str(killed_after)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    if killed_after < 5:
        assert res.returncode == -9, res.stderr
    else:
        assert res.returncode == 0, res.stderr

    async def restart(ledger: Ledger) -> str:
        got = await ledger.store.get(cs)
        assert got is not None and got.in_flight is None
        return got.status

    status = run(restart, proj)  # Ledger.open reconciles
    now = snapshot(proj)
    if status == "applied":
        assert now == {**before, **{k: v.encode() for k, v in edits.items()}}
    else:
        assert status == "ready"
        assert now == before


def test_state_database_migrates_from_every_earlier_version(tmp_path: Path) -> None:
    steps = db.migrations()
    assert len(steps) >= 2
    for version in range(1, len(steps)):
        path = tmp_path / f"v{version}.sqlite"
        conn = sqlite3.connect(path, isolation_level=None)
        for _, _, sql in steps[:version]:
            for statement in db._statements(sql):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO history_steps (group_id, label, author, op_json, forward_json, "
            "inverse_json, before_hash, after_hash, created_at) "
            "VALUES (1, 'kept', 'me', '{}', '{}', '{}', 'a', 'b', 'now')"
        )
        conn.close()
        migrated = db.connect(path)
        try:
            assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(steps)
            assert migrated.execute("SELECT label FROM history_steps").fetchall() == [("kept",)]
            tables = {r[0] for r in migrated.execute("SELECT name FROM sqlite_master")}
            assert {"changesets", "file_changes", "tool_events"} <= tables
        finally:
            migrated.close()


@pytest.mark.parametrize("rel", ["../outside.md", "/etc/passwd", ".reelcut/state.sqlite", "a\x00b"])
def test_a_path_outside_the_project_is_refused_and_nothing_recorded(proj: Path, rel: str) -> None:
    from engine.sandbox import PathRefused

    async def go(ledger: Ledger) -> None:
        cs = await ledger.store.create("agent")
        with pytest.raises(PathRefused):
            await ledger.propose(cs, rel, "x\n")
        assert await ledger.store.files(cs) == []

    run(go, proj)
    assert not (proj.parent / "outside.md").exists()


def test_stored_diffs_apply_with_git_to_the_stored_before_text(proj: Path, tmp_path: Path) -> None:
    edits: dict[str, str | None] = {
        "scripts/f0.md": "# file 0\nline a\nline B\nmore\n",
        "scripts/f2.md": "# file 2\r\nline a\r\n",  # line endings flipped to CRLF
        "scripts/brand new.md": "hello",  # no final newline
    }

    async def go(ledger: Ledger) -> list[tuple[str, str | None, str | None, str]]:
        cs = await propose_all(ledger, edits)
        return [(f.path, f.before_text, f.after_text, f.diff) for f in await ledger.store.files(cs)]

    for path, before, after, diff in run(go, proj):
        work = tmp_path / "git" / path.replace("/", "_")
        work.mkdir(parents=True)
        if before is not None:
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_bytes(before.encode())
        (work / "change.diff").write_bytes(diff.encode())
        for args in (["--check"], []):
            res = subprocess.run(
                ["git", "apply", *args, "change.diff"], cwd=work, capture_output=True, text=True
            )
            assert res.returncode == 0, (path, res.stderr)
        assert after is not None and (work / path).read_bytes() == after.encode()


def test_forced_apply_killed_part_way_gives_back_the_users_version(proj: Path) -> None:
    """Force overwrites newer bytes; a crash in the middle must restore those bytes, not the
    stale base the changeset was proposed against."""
    edits = {"scripts/f0.md": "agent 0\n", "scripts/f1.md": "agent 1\n"}
    cs = run(lambda ledger: propose_all(ledger, dict(edits)), proj)
    (proj / "scripts/f0.md").write_text("USER'S WORK 0\n")
    (proj / "scripts/f1.md").write_text("USER'S WORK 1\n")
    script = _DIE.replace(
        "await ledger.apply(changeset)", "await ledger.apply(changeset, force=True)"
    )
    res = subprocess.run(
        [sys.executable, "-c", script, str(proj), str(cs), "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert res.returncode == -9, res.stderr

    async def restart(ledger: Ledger) -> str:
        got = await ledger.store.get(cs)
        assert got is not None
        return got.status

    assert run(restart, proj) == "ready"
    assert (proj / "scripts/f0.md").read_text() == "USER'S WORK 0\n"
    assert (proj / "scripts/f1.md").read_text() == "USER'S WORK 1\n"


def test_a_failed_revert_leaves_the_changeset_applied(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = Files.write

    async def go(ledger: Ledger) -> None:
        cs = await propose_all(ledger, {"scripts/f0.md": "A\n", "scripts/f1.md": "B\n"})
        await ledger.apply(cs)
        calls = {"n": 0}

        def failing(self: Files, rel: str, data: bytes | None) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device", rel)
            real_write(self, rel, data)

        monkeypatch.setattr(Files, "write", failing)
        with pytest.raises(ChangesetError, match="put back"):
            await ledger.revert(cs)
        monkeypatch.setattr(Files, "write", real_write)
        got = await ledger.store.get(cs)
        assert got is not None and got.status == "applied"
        assert (proj / "scripts/f0.md").read_text() == "A\n"
        await ledger.revert(cs)  # and it can still be reverted once the disk has room

    run(go, proj)
    assert (proj / "scripts/f0.md").read_text() == "# file 0\nline a\nline b\n"


def _barrier_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record, in order, each durability barrier and each file an apply makes visible."""
    from engine import sandbox
    from engine.fsio import batch

    log: list[str] = []
    real_sync, real_commit = batch._sync_all, sandbox.Batch.commit

    def sync_all(fds: list[int]) -> None:
        log.append(f"barrier({len(fds)})")
        real_sync(fds)

    def commit(self: sandbox.Batch, rel: str) -> None:
        log.append(rel)
        real_commit(self, rel)

    monkeypatch.setattr(batch, "_sync_all", sync_all)
    monkeypatch.setattr(sandbox.Batch, "commit", commit)
    return log


@pytest.mark.parametrize("barrier", ["syncfs", "parallel fsync"])
def test_an_apply_makes_the_bytes_durable_before_any_rename_and_the_renames_before_done(
    proj: Path, monkeypatch: pytest.MonkeyPatch, barrier: str
) -> None:
    """Two barriers per apply, however many files: every new file's bytes (one per staged file)
    before the first rename, then each touched folder once, before the changeset is applied."""
    from engine.fsio import batch

    if barrier == "parallel fsync":
        monkeypatch.setattr(batch, "_dirty_bytes", lambda: batch.SYNCFS_DIRTY_LIMIT + 1)
    elif batch._syncfs is None:
        pytest.skip("syncfs needs Linux 5.8 or later")
    states: list[str] = []

    async def go(ledger: Ledger) -> None:
        edits: dict[str, str | None] = {f"scripts/f{i}.md": f"v{i}\n" for i in range(5)}
        edits["top.md"] = "top\n"
        edits["scripts/f4.md"] = None
        cs = await propose_all(ledger, edits)
        real_set_state = ledger.store.set_state

        async def set_state(*args: Any, **kwargs: Any) -> None:
            log.append(f"state {kwargs}")
            await real_set_state(*args, **kwargs)

        log = _barrier_log(monkeypatch)
        monkeypatch.setattr(ledger.store, "set_state", set_state)
        await ledger.apply(cs)
        states.extend(log)

    run(go, proj)
    paths = [f"scripts/f{i}.md" for i in range(5)] + ["top.md"]
    assert states[0] == "state {'in_flight': 'apply'}"
    assert states[1] == "barrier(5)"  # 5 new versions; the removal has no bytes
    assert sorted(states[2:8]) == sorted(paths)
    assert states[8] == "barrier(2)"  # the two folders: "" and "scripts"
    assert states[9].startswith("state {'status': 'applied'")
    assert not (proj / "scripts/f4.md").exists() and (proj / "top.md").read_text() == "top\n"
    assert not [p for p in proj.rglob("*") if p.name.endswith(".reelcut-tmp")]


def test_a_failing_barrier_before_the_renames_changes_no_file(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync/syncfs failing (EIO) is an error, never retried into success, and no file moves."""
    from engine.fsio import batch

    before = snapshot(proj)

    def broken(fds: list[int]) -> None:
        raise OSError(5, "Input/output error")

    async def go(ledger: Ledger) -> None:
        cs = await propose_all(ledger, {f"scripts/f{i}.md": f"new {i}\n" for i in range(5)})
        monkeypatch.setattr(batch, "_sync_all", broken)
        with pytest.raises(ReelcutError, match="Input/output error; nothing was changed"):
            await ledger.apply(cs)
        monkeypatch.undo()
        got = await ledger.store.get(cs)
        assert got is not None and got.status == "failed" and got.in_flight is None

    run(go, proj)
    assert snapshot(proj) == before
