"""A real kill: `reelcut tts DIR` (the real binary, espeak-ng) killed with SIGKILL mid-generation,
and after a line was made; the next `reelcut tts DIR` resumes (the dead process's lines go back
to the queue without waiting out its leases, here made an hour long) and every take lands
exactly once: one clip and one asset per line, one landing step per take in the undo history,
one job per take, three WAV files and no temp file in assets/."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.projectdir import ProjectDir
from engine.session import Session
from engine.tts.plan import line_clips
from tests.engine.test_tts import SCENARIO, make_project

REELCUT = str(Path(sys.executable).with_name("reelcut"))
LONG = " ".join(["the timeline is a file you and the agent edit together"] * 8)


def scenario() -> dict[str, object]:
    sc = json.loads(json.dumps(SCENARIO))
    for line in sc["lines"]:
        line["text"] = f"{line['text']} {LONG}"  # a second or so of espeak-ng each
    return sc


def tts_rows(root: Path) -> list[tuple[int, str, str, str, int]]:
    path = root / ".reelcut" / "state.sqlite"
    if not path.exists():
        return []  # not made yet
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT id, status, COALESCE(message, ''), idempotency_key, attempts FROM jobs "
            "WHERE kind = 'tts' ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:
        return []  # not made yet
    finally:
        db.close()


def espeak_children(pid: int) -> int:
    """How many espeak-ng processes ``pid`` started are running now (from /proc)."""
    n = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if comm == "espeak-ng" and int(rest.split()[1]) == pid:
            n += 1
    return n


def speaking(root: Path, pid: int) -> bool:
    """Mid-generation: a line's job is running and espeak-ng is speaking it, none made yet."""
    rows = tts_rows(root)
    return (
        any(r[1] == "running" for r in rows)
        and not any(r[1] == "succeeded" for r in rows)
        and espeak_children(pid) > 0
    )


def one_made(root: Path, pid: int) -> bool:
    """A line is made (its job succeeded; its take may or may not have landed yet)."""
    return any(r[1] == "succeeded" for r in tts_rows(root))


def kill_when(root: Path, point: Callable[[Path, int], bool]) -> None:
    proc = subprocess.Popen(
        [REELCUT, "tts", str(root), "--provider", "local"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not point(root, proc.pid):
            assert proc.poll() is None, f"ended before the kill point: {proc.stderr}"
            assert time.monotonic() < deadline, "the kill point never came"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", [speaking, one_made], ids=["mid-generation", "after-a-take"])
def test_a_killed_pass_resumes_and_lands_every_take_exactly_once(
    tmp_path: Path, point: Callable[[Path, int], bool]
) -> None:
    root = make_project(tmp_path / "p", scenario())
    kill_when(root, point)
    killed = tts_rows(root)
    assert len(killed) == 3 and not all(r[1] == "succeeded" for r in killed)

    # The dead process's leases as if they ran an hour: the next pass must not wait them out
    # (it sees the holder's process is gone and puts its lines back in the queue).
    db = sqlite3.connect(root / ".reelcut" / "state.sqlite")
    with db:
        db.execute(
            "UPDATE jobs SET lease_until = ? WHERE status = 'running'", (time.time() + 3600,)
        )
    db.close()
    res = subprocess.run(
        [REELCUT, "tts", str(root), "--json"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr

    project = ProjectDir(root).load()
    shown = line_clips(project)
    assert sorted(shown) == ["l_1", "l_2", "l_3"]
    track = next(t for t in project.tracks if t.name == "Dialogue")
    assert len(track.clips) == 3
    takes = [a for a in project.assets if a.generation is not None]
    assert len(takes) == 3 and {a.generation.stage for a in takes if a.generation} == {"ready"}
    keys = {a.generation.take for a in takes if a.generation}
    with Session(root) as s:
        labels = [st.label for st in s.steps()]
    for key in keys:
        assert sum(1 for label in labels if label.startswith(f"take {key} landed")) == 1, labels
    rows = tts_rows(root)
    assert sorted(r[3] for r in rows) == sorted(f"tts/{k}" for k in keys)  # one job per take
    assert {r[1] for r in rows} == {"succeeded"}
    files = sorted(p.name for p in (root / "assets").iterdir())
    assert len(files) == 3 and all(f.endswith(".wav") and not f.startswith(".") for f in files)
