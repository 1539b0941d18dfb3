"""The project's one door (`engine.workspace`) and its control socket (`engine.control`): a
holder serves edits, undo, imports, changesets and tool calls to other processes with the same
results and exit codes as when a command opens the project itself; a dead holder's socket
falls back cleanly; a holder killed with SIGKILL mid-request loses nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.changes.ledger import HashMismatch
from engine.control import Client, DoorLost, RemoteError, socket_path
from engine.door import door
from engine.projectfile import decode_project
from engine.validate import problems
from engine.workspace import FileConflict, FileExists, NotAScript, NotText, Workspace

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def reelcut(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([REELCUT, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert res.returncode == 0, res.stderr
    return res


class Holder:
    """`reelcut serve` on a project: a holder of its writer lock that serves its door."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc = subprocess.Popen(
            [REELCUT, "serve", str(root), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            client = Client.connect(root)
            if client is not None:
                client.close()
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.05)
        raise AssertionError("the holder never opened its door")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


@pytest.fixture
def held(demo_dir: Path) -> Any:
    holder = Holder(demo_dir)
    try:
        yield holder
    finally:
        holder.stop()


def test_the_socket_is_the_owners_only(held: Holder) -> None:
    path = socket_path(held.root)
    assert path == held.root / ".reelcut" / "control.sock"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert stat.S_ISSOCK(os.stat(path).st_mode) and mode == 0o600


def test_a_long_project_path_puts_the_socket_in_a_private_runtime_folder(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    path = socket_path(deep)
    assert len(os.fsencode(path)) <= 100
    assert path.parent.name == f"reelcut-{os.getuid()}"
    assert socket_path(deep) == path  # clients compute the same place


def test_commands_go_through_the_holder_with_the_same_output(held: Holder) -> None:
    root = str(held.root)
    cut = reelcut("edit", root, "blade", "--at", "45", "--json", check=True)
    change = json.loads(cut.stdout)
    assert change["kind"] == "edit" and "cut" in change["summary"]
    history = reelcut("history", root, "--json", check=True)
    assert json.loads(history.stdout)[-1]["author"] == "cli"
    undone = reelcut("undo", root, check=True)
    assert undone.stdout.startswith(f"r{change['revision'] + 1}: undid: cut")
    redone = reelcut("redo", root, check=True)
    assert "redid: cut" in redone.stdout
    # A refusal keeps its exit status and its one line, through the door as without it.
    bad = reelcut("edit", root, "trim", "--clip", "c_404", "--edge", "in", "--to", "3", "--json")
    held.stop()
    direct = reelcut("edit", root, "trim", "--clip", "c_404", "--edge", "in", "--to", "3", "--json")
    assert bad.returncode == direct.returncode == 7
    assert json.loads(bad.stdout) == json.loads(direct.stdout)
    assert bad.stderr == direct.stderr


def test_changesets_and_tools_through_the_holder(held: Holder) -> None:
    root = str(held.root)
    made = reelcut("tool", root, "file_create", '{"path": "scripts/n.md", "text": "n\\n"}')
    cs = json.loads(made.stdout)["changeset"]
    applied = reelcut("changes", root, "apply", str(cs), "--json", check=True)
    assert json.loads(applied.stdout)["status"] == "applied"
    assert (held.root / "scripts" / "n.md").read_text() == "n\n"
    again = reelcut("changes", root, "apply", str(cs), "--json")
    assert again.returncode == 10 and json.loads(again.stdout)["exit_code"] == 10
    blade = reelcut("tool", root, "timeline_blade", '{"at": 30}', "--apply", check=True)
    assert json.loads(blade.stdout)["applied"] is True
    project = decode_project((held.root / "project.json").read_bytes())
    assert any(c.start == 30 for t in project.tracks for c in t.clips)
    # A hash mismatch comes back as the same document.
    other = reelcut(
        "tool", root, "text_insert_lines", '{"path": "scripts/n.md", "after": 0, "text": "x"}'
    )
    cs2 = json.loads(other.stdout)["changeset"]
    (held.root / "scripts" / "n.md").write_text("changed by hand\n")
    mismatch = reelcut("changes", root, "apply", str(cs2), "--json")
    assert mismatch.returncode == 11
    doc = json.loads(mismatch.stdout)
    assert doc["mismatch"]["path"] == "scripts/n.md" and doc["mismatch"]["direction"] == "apply"


def test_job_commands_go_through_the_holder_with_the_same_output(held: Holder) -> None:
    """jobs queue, cancel and retry while the project is held: the holder does them (the
    command could not take the writer lock itself), with the output they have without it."""
    root = str(held.root)
    queued = reelcut("jobs", root, "queue", "--json", check=True)
    assert set(json.loads(queued.stdout)) == {"queued"}
    listed = json.loads(reelcut("jobs", root, "list", "--all", "--json", check=True).stdout)
    job = listed["jobs"][0]["id"]
    cancelled = reelcut("jobs", root, "cancel", str(job), check=True)
    assert cancelled.stdout.startswith(f"job {job} ")
    missing = reelcut("jobs", root, "cancel", "9999")
    held.stop()
    direct = reelcut("jobs", root, "cancel", "9999")
    assert missing.returncode == direct.returncode != 0
    assert missing.stderr == direct.stderr and "no job 9999" in direct.stderr


def test_the_client_reconstructs_refusals(held: Holder) -> None:
    client = Client.connect(held.root)
    assert client is not None
    try:
        with pytest.raises(RemoteError) as refused:
            client.call("changes.apply", {"id": 999})
        assert refused.value.exit_code == 10 and "no changeset 999" in str(refused.value)
        with pytest.raises(RemoteError) as unknown:
            client.call("format_disk")
        assert unknown.value.exit_code == 2
        assert client.call("ping")["pid"] == held.proc.pid
    finally:
        client.close()


def test_a_dead_holders_socket_falls_back_to_opening_the_project(held: Holder) -> None:
    held.kill()
    assert socket_path(held.root).exists()  # left behind by the SIGKILL
    assert Client.connect(held.root) is None  # refused: nothing listens
    res = reelcut("edit", str(held.root), "blade", "--at", "45", check=True)
    assert "cut" in res.stdout
    with door(held.root, "test") as d:
        assert d.remote is False


def test_a_mismatch_from_the_holder_is_a_hash_mismatch(held: Holder) -> None:
    made = reelcut("tool", str(held.root), "file_create", '{"path": "scripts/m.md", "text": "m"}')
    cs = json.loads(made.stdout)["changeset"]
    (held.root / "scripts" / "m.md").write_text("someone else's\n")
    with door(held.root, "test") as d:
        assert d.remote
        with pytest.raises(HashMismatch) as exc:
            d.call("changes.apply", {"id": cs})
    assert exc.value.path == "scripts/m.md"


def test_killing_the_holder_mid_request_loses_nothing(demo_dir: Path) -> None:
    """Clients send edits while the holder is killed with SIGKILL at random moments, five
    times: every edit a client was told happened is in the history and on disk, project.json
    is always a valid project, and a client that lost its answer says it cannot tell."""
    rng = random.Random(17)
    told_done = 0
    lost = 0
    for _ in range(5):
        holder = Holder(demo_dir)
        outcomes: list[str] = []

        def send(outcomes: list[str] = outcomes) -> None:
            client = Client.connect(demo_dir)
            if client is None:
                return
            try:
                for i in range(200):
                    op = {"op": "set_marks", "mark_in": i, "mark_out": 300 + i}
                    try:
                        client.call("edit", {"op": op, "author": "cli"})
                    except DoorLost:
                        outcomes.append("lost")
                        return
                    outcomes.append("done")
            finally:
                client.close()

        thread = threading.Thread(target=send)
        thread.start()
        time.sleep(rng.uniform(0.05, 0.4))
        holder.kill()
        thread.join(timeout=30)
        told_done += outcomes.count("done")
        lost += outcomes.count("lost")
        project = decode_project((demo_dir / "project.json").read_bytes())
        assert problems(project) == []
    steps = json.loads(
        reelcut("history", str(demo_dir), "--limit", "100000", "--json", check=True).stdout
    )
    assert told_done <= len(steps) <= told_done + lost
    assert lost >= 1  # the kills did land mid-stream
    # And the project is usable: undo runs on the history as it is.
    assert reelcut("undo", str(demo_dir)).returncode == 0


# -- script files through the door --------------------------------------------------------------


def file_events(root: Path) -> list[dict[str, Any]]:
    """The ``file`` events on the project's stream, oldest first."""
    db = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    try:
        rows = db.execute(
            "SELECT data FROM events WHERE topic = 'project' AND kind = 'file' ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    return [json.loads(r[0]) for r in rows]


def with_door(root: Path, body: Any) -> Any:
    """Run ``body(workspace)`` on a door with its stream open (no session, no holder)."""

    async def go() -> Any:
        ws = Workspace(root)
        await ws.services()
        try:
            return await body(ws)
        finally:
            await ws.close()

    return asyncio.run(go())


def test_a_script_is_saved_only_over_the_version_it_was_read_at(demo_dir: Path) -> None:
    rel = "scripts/script.md"

    async def body(ws: Workspace) -> None:
        text, read_at = await ws.read_script(rel)
        assert read_at == hashlib.sha256((demo_dir / rel).read_bytes()).hexdigest()
        (demo_dir / rel).write_text("someone else's\n")
        with pytest.raises(FileConflict) as exc:
            await ws.save_script(rel, text + "mine\n", read_at)
        assert exc.value.path == rel and exc.value.expected == read_at
        assert (demo_dir / rel).read_text() == "someone else's\n"  # untouched
        now = await ws.script_hash(rel)
        saved = await ws.save_script(rel, "mine over theirs\n", now)
        assert saved == hashlib.sha256(b"mine over theirs\n").hexdigest()
        await ws.save_script(rel, "not announced\n", saved, announce=False)

    with_door(demo_dir, body)
    assert (demo_dir / rel).read_text() == "not announced\n"
    saved = hashlib.sha256(b"mine over theirs\n").hexdigest()
    assert file_events(demo_dir) == [{"path": rel, "sha256": saved, "from": "editor"}]


def test_a_save_or_a_read_is_refused_for_what_is_not_a_script(demo_dir: Path) -> None:
    png = demo_dir / "scripts" / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    blob = demo_dir / "scripts" / "blob.md"
    blob.write_bytes(b"text\0more")
    project = (demo_dir / "project.json").read_bytes()

    async def body(ws: Workspace) -> None:
        digest = await ws.script_hash("scripts/logo.png")
        with pytest.raises(NotAScript, match=r"suffix '\.png'"):
            await ws.save_script("scripts/logo.png", "text", digest)
        with pytest.raises(NotAScript, match="the timeline"):
            await ws.save_script("project.json", "{}", hashlib.sha256(project).hexdigest())
        with pytest.raises(NotText, match="binary"):
            await ws.read_script("scripts/blob.md")
        (demo_dir / "scripts" / "huge.md").write_bytes(b"x" * (3 << 20))
        with pytest.raises(NotText, match="MB"):
            await ws.read_script("scripts/huge.md")

    with_door(demo_dir, body)
    assert png.read_bytes() == b"\x89PNG\r\n\x1a\n\0\0"
    assert (demo_dir / "project.json").read_bytes() == project
    assert file_events(demo_dir) == []


def test_scripts_are_created_renamed_and_deleted_over_their_hash(demo_dir: Path) -> None:
    async def body(ws: Workspace) -> str:
        made = await ws.create_script("scripts/notes/new.md", "hello\n")
        with pytest.raises(FileExists):
            await ws.create_script("scripts/notes/new.md", "again\n")
        assert "scripts/notes/new.md" in await ws.list_scripts()
        with pytest.raises(FileConflict):
            await ws.rename_script("scripts/notes/new.md", "scripts/old.md", "0" * 64)
        await ws.rename_script("scripts/notes/new.md", "scripts/old.md", made)
        files = await ws.list_scripts()
        assert "scripts/old.md" in files and "scripts/notes/new.md" not in files
        (demo_dir / "scripts" / "old.md").write_text("changed by hand\n")
        with pytest.raises(FileConflict):
            await ws.delete_script("scripts/old.md", made)
        assert (demo_dir / "scripts" / "old.md").exists()
        await ws.delete_script("scripts/old.md", hashlib.sha256(b"changed by hand\n").hexdigest())
        assert await ws.script_hash("scripts/old.md") is None
        return made

    made = with_door(demo_dir, body)
    assert [(e["path"], e["sha256"]) for e in file_events(demo_dir)] == [
        ("scripts/notes/new.md", made),
        ("scripts/notes/new.md", None),
        ("scripts/old.md", made),
        ("scripts/old.md", None),
    ]


def test_the_door_checks_a_text_and_merges_two_sides_edits(demo_dir: Path) -> None:
    async def body(ws: Workspace) -> None:
        problem = await ws.check_script("scripts/x.json", '{"a": 1,\n}')
        assert problem is not None and problem.line == 2
        assert await ws.check_script("scripts/x.md", "{") is None
        base = "one\ntwo\nthree\nfour\n"
        mine = "ONE\ntwo\nthree\nfour\n"
        theirs = "one\ntwo\nthree\nFOUR\n"
        assert await ws.merge_texts(base, mine, theirs) == "ONE\ntwo\nthree\nFOUR\n"
        assert await ws.merge_texts(base, mine, "One\ntwo\nthree\nfour\n") is None

    with_door(demo_dir, body)
