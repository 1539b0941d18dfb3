"""The project's one door (`engine.workspace`) and its control socket (`engine.control`): a
holder serves edits, undo, imports, changesets and tool calls to other processes with the same
results and exit codes as when a command opens the project itself; a dead holder's socket
falls back cleanly; a holder killed with SIGKILL mid-request loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.changes.ledger import HashMismatch
from engine.control import Client, DoorLost, RemoteError, door, socket_path
from engine.projectfile import decode_project
from engine.validate import problems

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
