"""A derivative job that ends for good without its output (dead, failed, cancelled) leaves no
temp file behind: a build that dies with its worker (kill -9) leaves its half-written temp, and
once the job is buried (the reaper finds its lease run out and no attempts left) no build of
that name comes to clear it. The runner removes it then, by the temp name `engine.fsio.durable`
gives that derivative, and only temps written before the job ended (a build started since keeps
its own); the user's files and other derivatives' temps stay.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.events import EventStream
from engine.fsio.durable import is_temp_name, temp_name
from engine.jobs import JobContext, JobFailed, Runner, store
from engine.state.adb import AsyncDB

REPO = Path(__file__).resolve().parents[2]
KEY = "0" * 64 + ".p1r30.mp4"  # a proxy's name: the job's idempotency key


def temps(root: Path) -> list[str]:
    return sorted(
        f"{sub}/{p.name}"
        for sub in ("proxies", "previews")
        if (root / sub).is_dir()
        for p in (root / sub).iterdir()
        if is_temp_name(p.name, legacy=True)
    )


def _plant(root: Path) -> dict[str, Path]:
    """Temps of the job's derivative (one written before the job ended, one after: a new
    build's), another derivative's temp and a user's file."""
    (root / "proxies").mkdir(parents=True)
    (root / "previews").mkdir()
    past = time.time() - 3600
    files = {
        "stale": root / "proxies" / temp_name(KEY),
        "legacy": root / "proxies" / f".{KEY}.0123456789ab.tmp",
        "newer": root / "proxies" / temp_name(KEY),
        "other": root / "proxies" / temp_name("1" * 64 + ".p1r30.mp4"),
        "user": root / "proxies" / "notes.txt",
    }
    for name, path in files.items():
        path.write_bytes(b"half a proxy" if name != "user" else b"the user's")
        if name != "newer":
            os.utime(path, (past, past))
    future = time.time() + 3600
    os.utime(files["newer"], (future, future))
    return files


async def _open(root: Path) -> tuple[AsyncDB, EventStream]:
    adb = await AsyncDB.open(root / ".reelcut")
    events = EventStream(adb)
    await events.start()
    return adb, events


def test_a_failed_job_takes_its_stale_temp_with_it(tmp_path: Path) -> None:
    files = _plant(tmp_path)

    async def failing(ctx: JobContext) -> None:
        raise JobFailed("the source is gone")

    async def go() -> store.Job | None:
        adb, events = await _open(tmp_path)
        runner = Runner(adb, events, tmp_path, {"proxy": failing})
        job = await runner.enqueue("proxy", {"asset": "a_1"}, key=KEY)
        await runner.start()
        await runner.wait_idle(timeout=30)
        await runner.stop()
        done = await adb.read(lambda c: store.get(c, job.id))
        await events.close()
        await adb.close()
        return done

    job = asyncio.run(go())
    assert job is not None and job.status == "failed"
    assert not files["stale"].exists() and not files["legacy"].exists()
    assert files["newer"].exists() and files["other"].exists()
    assert files["user"].read_bytes() == b"the user's"


def test_a_reaped_job_with_no_attempts_left_takes_its_temp_with_it(tmp_path: Path) -> None:
    """The worker died mid-build (its lease ran out): the reaper buries the job as dead."""
    files = _plant(tmp_path)

    async def go() -> store.Job | None:
        adb, events = await _open(tmp_path)
        job = await adb.write(lambda c: store.enqueue(c, "proxy", {}, key=KEY, max_attempts=1)[0])
        await adb.write(lambda c: store.claim(c, ["proxy"], "gone:1:abc", 1, lease=0.0))
        runner = Runner(adb, events, tmp_path, {}, reap_every=0.05)
        await runner.start()
        try:
            for _ in range(400):
                done = await adb.read(lambda c: store.get(c, job.id))
                if done is not None and done.status == "dead" and not files["stale"].exists():
                    break
                await asyncio.sleep(0.05)
        finally:
            await runner.stop()
            await events.close()
            await adb.close()
        return done

    job = asyncio.run(go())
    assert job is not None and job.status == "dead"
    assert not files["stale"].exists() and not files["legacy"].exists()
    assert files["newer"].exists() and files["other"].exists()
    assert files["user"].read_bytes() == b"the user's"


# -- end to end: kill -9 the worker mid-proxy --------------------------------------------------


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirty seconds of video: its proxy takes a few seconds to build, time to kill it."""
    path = tmp_path_factory.mktemp("media") / "long.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30"),
            *("-t", "30", "-c:v", "libx264", "-preset", "ultrafast", str(path)),
        ],
        check=True,
    )
    return path


def reelcut(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _wait_exit(pid: int, timeout: float) -> None:
    """Until process ``pid`` (not our child) has exited: its pidfd turns readable."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        assert ready, f"process {pid} still running after {timeout} s"
    finally:
        os.close(fd)


def test_a_worker_killed_mid_proxy_leaves_no_temp_once_the_job_is_dead(
    tmp_path: Path, long_clip: Path
) -> None:
    proj = tmp_path / "proj"
    assert reelcut("new", proj).returncode == 0
    assert reelcut("import", proj, long_clip).returncode == 0
    db = proj / ".reelcut" / "state.sqlite"
    with sqlite3.connect(db) as conn:  # every job is on its last attempt
        conn.execute("UPDATE jobs SET max_attempts = 1")
    conn.close()

    worker = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "jobs", str(proj), "run"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    for line in worker.stdout:  # the proxy's ffmpeg is writing its temp file
        if " proxy " in line and "progress" in line:
            break
    ffmpeg = _children(worker.pid)
    worker.kill()
    worker.wait(timeout=30)
    worker.stdout.close()
    for pid in ffmpeg:  # it dies at its next progress write, to the dead worker's pipe
        _wait_exit(pid, timeout=30)
    left = temps(proj)
    assert left, "the kill came after the build: no temp to test with"

    with sqlite3.connect(db) as conn:  # the dead worker's lease runs out (15 s, not waited)
        conn.execute("UPDATE jobs SET lease_until = 0 WHERE status = 'running'")
    conn.close()
    reelcut("jobs", proj, "run")  # reaps: the proxy job is dead; runs what is left

    jobs = json.loads(reelcut("jobs", proj, "list", "--all", "--json").stdout)["jobs"]
    assert {j["kind"]: j["status"] for j in jobs}["proxy"] == "dead"
    assert temps(proj) == [], f"left by the dead proxy job: {left}"
