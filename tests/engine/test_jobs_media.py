"""Derivative jobs end to end: `reelcut import` queues them, `reelcut jobs work` runs them with
real ffmpeg, a missing output is queued again, and cancelling a running proxy kills ffmpeg's
process group and leaves no partial file."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.events import EventStream
from engine.jobs import Runner, media, store
from engine.media import derivatives
from engine.projectdir import ProjectDir
from engine.state.adb import AsyncDB

REPO = Path(__file__).resolve().parents[2]


def reelcut(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "take 1: clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
            f"file:{path}",
        ],
        check=True,
    )
    return path


def test_import_queues_derivatives_and_jobs_work_builds_them(tmp_path: Path, clip: Path) -> None:
    proj = tmp_path / "proj"
    assert reelcut("new", proj).returncode == 0
    res = reelcut("import", proj, clip, "--json")
    assert res.returncode == 0, res.stderr
    queued = json.loads(res.stdout)["jobs_queued"]
    assert len(queued) == 4  # video: proxy, thumbs, peaks; its demuxed audio: peaks
    listed = json.loads(reelcut("jobs", proj, "list", "--json").stdout)
    assert {j["status"] for j in listed["jobs"]} == {"queued"}

    def ready() -> dict[str, dict[str, bool]]:
        """What `reelcut info --json` says of each asset's derivatives."""
        info = json.loads(reelcut("info", proj, "--json").stdout)
        return {
            a["name"]: {k: v["ready"] for k, v in a["derivatives"].items()} for a in info["assets"]
        }

    before = ready()
    assert sorted(len(kinds) for kinds in before.values()) == [1, 3]  # audio; video
    assert not any(r for kinds in before.values() for r in kinds.values())

    work = reelcut("jobs", proj, "work")
    assert work.returncode == 0, work.stderr
    assert "4 succeeded" in work.stdout
    done = json.loads(reelcut("jobs", proj, "list", "--all", "--json").stdout)["jobs"]
    assert {(j["kind"], j["status"], j["progress"]) for j in done} == {
        ("proxy", "succeeded", 1.0),
        ("thumbs", "succeeded", 1.0),
        ("peaks", "succeeded", 1.0),
    }
    project = ProjectDir(proj).load()
    paths = [
        path
        for a in project.assets
        for path in derivatives.derivative_paths(proj, a, project.rate).values()
    ]
    assert len(paths) == 4 and all(derivatives.is_fresh(p) for p in paths)
    assert all(r for kinds in ready().values() for r in kinds.values())
    assert "(proxy ready, thumbs ready, peaks ready)" in reelcut("info", proj).stdout

    # Queueing again finds nothing to do; a deleted proxy is queued again (same job row).
    assert json.loads(reelcut("jobs", proj, "queue", "--json").stdout)["queued"] == []
    proxy = next(p for p in paths if p.suffix == ".mp4")
    proxy.unlink()
    again = json.loads(reelcut("jobs", proj, "queue", "--json").stdout)["queued"]
    assert [(j["kind"], j["status"]) for j in again] == [("proxy", "queued")]
    assert again[0]["id"] in {j["id"] for j in done}
    show = reelcut("jobs", proj, "show", str(again[0]["id"]))
    assert "status    queued" in show.stdout
    job_id = str(again[0]["id"])
    assert reelcut("jobs", proj, "cancel", job_id).stdout.strip().endswith("cancelled")
    missing = reelcut("jobs", proj, "show", "999")
    assert missing.returncode != 0 and "no job 999" in missing.stderr

    # A cancelled job is queued again by `retry` and built by `run` (the headless runner).
    retried = reelcut("jobs", proj, "retry", job_id, "--json")
    assert retried.returncode == 0, retried.stderr
    assert (json.loads(retried.stdout)["status"], json.loads(retried.stdout)["attempts"]) == (
        "queued",
        0,
    )
    refused = reelcut("jobs", proj, "retry", job_id)  # queued: nothing to retry
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "only failed, dead or cancelled" in refused.stderr
    ran = reelcut("jobs", proj, "run")
    assert ran.returncode == 0, ran.stderr
    assert proxy.exists()
    assert "is succeeded" in reelcut("jobs", proj, "retry", job_id).stderr
    assert "no job 999" in reelcut("jobs", proj, "retry", "999").stderr


HANG = """#!/bin/sh
for last in "$@"; do :; done
head -c 5000 /dev/zero > "$last"
sleep 60 &
echo "$$ $!" > "$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"
wait
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes only once reaped.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_cancelling_a_running_proxy_job_kills_ffmpeg_and_leaves_no_partial(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = tmp_path / "proj"
    assert reelcut("new", proj).returncode == 0
    assert reelcut("import", proj, clip).returncode == 0
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ffmpeg").write_text(HANG)
    (bindir / "ffmpeg").chmod(0o755 | stat.S_IXUSR)
    pids = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PIDS", str(pids))

    async def go() -> tuple[store.Job, list[int]]:
        adb = await AsyncDB.open(proj / ".reelcut")
        events = EventStream(adb)
        await events.start()
        runner = Runner(adb, events, proj, {"proxy": media.handlers()["proxy"]})
        await runner.start()
        for _ in range(200):
            if pids.exists():
                break
            await asyncio.sleep(0.05)
        stub = [int(x) for x in pids.read_text().split()]
        assert all(_alive(p) for p in stub)
        job_id = runner.running[0].id
        await runner.cancel(job_id)
        await runner.wait_idle(timeout=10)
        await runner.stop()
        job = await adb.read(lambda c: store.get(c, job_id))
        await events.close()
        await adb.close()
        assert job is not None
        return job, stub

    job, stub = asyncio.run(go())
    assert job.status == "cancelled"
    assert not any(_alive(p) for p in stub), "ffmpeg (or its child) outlived the cancel"
    leftovers: list[Any] = sorted(p.name for p in (proj / "proxies").iterdir())
    assert leftovers == []
