"""Helpers of the nothing-lost harness (`test_parallel_writers`, `test_kill_every_step`): fresh
copies of the demo project, changesets proposed the way ``reelcut tool`` does without
``--apply``, real ``reelcut`` processes started together or killed, and what a command's change
looks like on disk.

Counts: the quick suite runs a few trials of each case; the ``slow`` tests run the full counts,
which ``REELCUT_TRIALS`` (trials per pair of writers) and ``REELCUT_KILL_POINTS`` (kill points
per command) override.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import time
import traceback
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.changes.ledger import Ledger
from engine.fsio.durable import is_temp_name
from engine.model import Project
from engine.projectfile import decode_project
from engine.validate import problems

REELCUT = str(Path(sys.executable).with_name("reelcut"))
V1 = "t_1"  # the demo's V1: the test pattern c_10 over [0, 240), the still c_12 over [240, 330)


def count(env: str, default: int) -> int:
    """A harness count: ``default``, or the environment's ``env`` when set."""
    return int(os.environ.get(env) or default)


def fresh_copy(master: Path, dst: Path) -> Path:
    """A private copy of the project ``master`` at ``dst``; the media in assets/ are hard links
    (the store is content-addressed and never modified, and a trial copies it hundreds of
    times)."""

    def copy(src: str, to: str) -> object:
        if Path(src).parent.name == "assets":
            os.link(src, to)
            return to
        return shutil.copy2(src, to)

    shutil.copytree(master, dst, copy_function=copy)
    return dst


def propose(root: Path, tool: str, args: dict[str, Any], changeset: int | None = None) -> int:
    """Propose a change with ``tool`` as ``reelcut tool DIR TOOL ARGS`` does without --apply
    (a changeset left ready); its id."""
    from engine.tools import run_tool

    async def go() -> int:
        ledger = await Ledger.open(root, reconcile=False)
        try:
            out = await run_tool(ledger, tool, args, changeset_id=changeset, author="cli")
        finally:
            await ledger.close()
        assert out["ok"], out
        return int(out["changeset"])

    return asyncio.run(go())


def changeset_statuses(root: Path) -> dict[int, str]:
    """Each changeset's status as ``reelcut changes DIR list`` shows it."""

    async def go() -> dict[int, str]:
        ledger = await Ledger.open(root, reconcile=False)
        try:
            return {cs.id: cs.status for cs in await ledger.store.recent()}
        finally:
            await ledger.close()

    return asyncio.run(go())


def failure(exc: Exception) -> str:
    """One line for a harness report: the failed assertion's line and message."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"line {frame.lineno}: {frame.line}: {str(exc)[:400]}"


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [REELCUT, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@dataclass(frozen=True)
class Ended:
    """How one command ended."""

    code: int
    stdout: str
    stderr: str


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> Ended:
    out, err = proc.communicate(timeout=timeout)
    return Ended(proc.returncode, out, err)


def assert_refusal(res: Ended, codes: set[int]) -> None:
    """A clear refusal: one of ``codes`` and one line on stderr that says why."""
    assert res.code in codes, res
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reelcut: "), res.stderr


def project_at(root: Path) -> tuple[bytes, Project]:
    """project.json's bytes and project; it must decode and hold no invariant violation."""
    data = (root / "project.json").read_bytes()
    project = decode_project(data)
    assert problems(project) == []
    return data, project


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cuts(project: Project, track_id: str = V1) -> set[int]:
    """Where the clips of a track start (a blade at N leaves a clip starting at N)."""
    track = next(t for t in project.tracks if t.id == track_id)
    return {c.start for c in track.clips}


def marker_names(project: Project) -> set[str]:
    return {m.name for m in project.markers}


def temp_files(root: Path) -> list[str]:
    """Every reelcut temp file in the project (the current scheme and the older ones)."""
    found = []
    for folder, _dirs, files in os.walk(root):
        found += [
            str(Path(folder, f).relative_to(root)) for f in files if is_temp_name(f, legacy=True)
        ]
    return found


def pending_journal(root: Path) -> str | None:
    """The session's save journal as a killed process left it (None: no save was between its
    journal and its bookkeeping), read without opening the project."""
    conn = sqlite3.connect(f"file:{root / '.reelcut' / 'state.sqlite'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'pending'").fetchone()
    finally:
        conn.close()
    return None if row is None else str(row[0])


def in_flight(root: Path) -> list[int]:
    """The changesets a killed apply or revert left in flight, read without opening."""
    conn = sqlite3.connect(f"file:{root / '.reelcut' / 'state.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id FROM changesets WHERE in_flight IS NOT NULL").fetchall()
    finally:
        conn.close()
    return [int(r[0]) for r in rows]


def write_wav(path: Path, seed: int, seconds: float = 0.5) -> Path:
    """A short mono WAV of noise, different bytes for every ``seed`` (so each import is a new
    asset)."""
    rng = random.Random(seed)
    rate = 8000
    frames = b"".join(
        struct.pack("<h", rng.randint(-8000, 8000)) for _ in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def duration_of(*args: str | Path, runs: int = 3) -> float:
    """The median wall time of a command run to its end (the window a kill sweep spreads
    over); every run must succeed."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        res = finish(start(*args))
        times.append(time.monotonic() - t0)
        assert res.code == 0, res
    return statistics.median(times)


def kill_after(proc: subprocess.Popen[str], delay: float) -> Ended:
    """SIGKILL ``proc`` after ``delay`` seconds (if it is still running then)."""
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.kill()
    return finish(proc)
