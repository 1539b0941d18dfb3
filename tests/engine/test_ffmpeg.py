"""The ffmpeg supervisor (`engine.media.ffmpeg`), both faces, with the real ffmpeg.

Long runs are real encodes read at their own pace (``-re``), so "still running" is certain and
costs little CPU; a run is found in ``/proc`` by its unique output path. Tests that need a
program to misbehave (ignore SIGTERM, flood stderr, die of a signal) put a stub ``ffmpeg``
first on PATH. Every test that can runs through both faces, which must behave alike.
"""

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

from engine.errors import MediaError, ToolMissing
from engine.media import ffmpeg
from engine.media.ffmpeg import run, run_async
from engine.media.ffmpeg_call import STDERR_KEEP, SUMMARY_CHARS, Completed
from engine.media.ffmpeg_command import PROTOCOLS, input_args, local_path

FACES = ["sync", "async"]


def call(face: str, args: list[str], **kwargs: Any) -> Completed:
    """``args`` through the sync face, or through the async face on a fresh event loop."""
    if face == "sync":
        return run(args, **kwargs)
    return asyncio.run(run_async(args, **kwargs))


def encode(out: Path, seconds: float) -> list[str]:
    """A real encode of ``seconds`` of test pattern into ``out``, at the pattern's own pace."""
    return [
        "ffmpeg",
        "-y",
        *("-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"),
        *("-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast"),
        local_path(out),
    ]


def processes_naming(path: Path) -> list[int]:
    """Pids of the processes with ``path`` in their command line (a zombie has none left)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def gone(pid: int) -> bool:
    """Exited: reaped, or a zombie its new parent (init) has yet to reap."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def stub_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Put an executable ``ffmpeg`` with the text ``script`` first on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "ffmpeg"
    exe.write_text(script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


# --- stopping -----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_cancelling_the_async_face_leaves_no_ffmpeg_running(tmp_path: Path) -> None:
    """A job handler cancelled mid-encode: by the time its CancelledError arrives, the ffmpeg
    it started is gone and reaped."""
    out = tmp_path / "long.mp4"

    async def scenario() -> int:
        running = asyncio.Event()
        task = asyncio.create_task(
            run_async(
                encode(out, 60),
                what="long.mp4: could not encode",
                timeout=120,
                duration_s=60,
                on_progress=lambda _: running.set(),
            )
        )
        await running.wait()
        (pid,) = processes_naming(out)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pid

    pid = asyncio.run(scenario())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # not running, not a zombie
    assert processes_naming(out) == []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("face", FACES)
def test_a_timeout_stops_the_run_and_says_so(tmp_path: Path, face: str) -> None:
    out = tmp_path / "long.mp4"
    with pytest.raises(MediaError) as err:
        call(face, encode(out, 60), what="long.mp4: could not encode", timeout=1)
    assert str(err.value) == (
        "long.mp4: could not encode: ffmpeg took longer than 1s and was stopped"
    )
    assert processes_naming(out) == []


IGNORES_TERM = """#!/bin/sh
trap '' TERM
sleep 60 &
echo "$$ $!" > "$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"
wait
"""


@pytest.mark.timeout(30)
@pytest.mark.parametrize("face", FACES)
def test_a_group_that_ignores_sigterm_gets_sigkill_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, face: str
) -> None:
    """The stub and its child both ignore SIGTERM: SIGKILL follows `TERM_GRACE` later and
    takes the whole group."""
    stub_ffmpeg(tmp_path, monkeypatch, IGNORES_TERM)
    pids = tmp_path / "pids"
    monkeypatch.setenv("PIDS", str(pids))
    monkeypatch.setattr(ffmpeg, "TERM_GRACE", 0.3)
    with pytest.raises(MediaError, match="took longer than 1s and was stopped"):
        call(face, ["ffmpeg"], what="stub", timeout=1)
    shell, child = map(int, pids.read_text().split())
    with pytest.raises(ProcessLookupError):
        os.kill(shell, 0)
    assert gone(child)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("face", FACES)
def test_a_callback_that_raises_stops_the_run_and_its_error_propagates(
    tmp_path: Path, face: str
) -> None:
    out = tmp_path / "long.mp4"

    def refuse(fraction: float) -> None:
        raise RuntimeError(f"stop at {fraction}")

    with pytest.raises(RuntimeError, match="stop at"):
        call(face, encode(out, 60), what="x", timeout=60, duration_s=60, on_progress=refuse)
    assert processes_naming(out) == []


# --- starting -----------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(
    ("program", "package"),
    [("ffmpeg", "ffmpeg"), ("ffprobe", "ffmpeg"), ("espeak-ng", "espeak-ng")],
)
def test_a_missing_program_is_tool_missing_naming_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, face: str, program: str, package: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing) as err:
        call(face, [program, "-version"], what="x", timeout=10)
    assert str(err.value) == (
        f"{program} is not installed; install it (Debian: apt-get install {package}) and try again"
    )
    assert err.value.exit_code == 6


REPORTS = """#!{python}
import json, os, sys

try:
    open("/dev/tty").close()
    tty = True
except OSError:
    tty = False
print(json.dumps({{
    "args": sys.argv[1:],
    "stdin": os.readlink("/proc/self/fd/0"),
    "own_session": os.getsid(0) == os.getpid(),
    "tty": tty,
    "env": {{k: os.environ.get(k) for k in {names!r}}},
}}))
"""


def test_the_child_gets_the_prefix_null_stdin_and_a_session_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One definition of how ffmpeg starts, the same through both faces: the quiet prefix,
    stdin on /dev/null, its own session (its own process group, no terminal), and no
    FFREPORT (which would write a log file into the working directory)."""
    names = ("FFREPORT", "AV_LOG_FORCE_COLOR", "AV_LOG_FORCE_NOCOLOR")
    stub_ffmpeg(tmp_path, monkeypatch, REPORTS.format(python=sys.executable, names=names))
    monkeypatch.setenv("FFREPORT", "file=report.log")
    monkeypatch.setenv("AV_LOG_FORCE_COLOR", "1")
    args = ["ffmpeg", "-i", "in.mp4", "out.mp4"]
    sync, async_ = (call(face, args, what="x", timeout=10) for face in FACES)
    assert sync == async_
    seen = json.loads(sync.stdout)
    assert seen == {
        "args": ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", *args[1:]],
        "stdin": "/dev/null",
        "own_session": True,
        "tty": False,
        "env": {"FFREPORT": None, "AV_LOG_FORCE_COLOR": None, "AV_LOG_FORCE_NOCOLOR": "1"},
    }
    assert sync.argv[1:6] == ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error")


# --- progress -----------------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("face", FACES)
def test_progress_rises_to_one_on_a_short_real_encode(tmp_path: Path, face: str) -> None:
    seen: list[float] = []
    args = encode(tmp_path / "short.mp4", 1.5)
    args[1:1] = ["-stats_period", "0.1"]
    result = call(face, args, what="x", timeout=30, duration_s=1.5, on_progress=seen.append)
    assert len(seen) >= 4, seen
    assert seen == sorted(set(seen)), seen  # strictly rising
    assert seen[0] > 0 and seen[-2] < 1.0 and seen[-1] == 1.0
    assert result.stdout == b""  # -progress pipe:1 went to the callback
    assert "-progress" in result.argv


@pytest.mark.parametrize("face", FACES)
def test_on_stdout_receives_all_of_standard_output(tmp_path: Path, face: str) -> None:
    chunks: list[bytes] = []
    args = ["ffmpeg", *("-f", "lavfi", "-i", "sine=duration=2:sample_rate=8000")]
    args += ["-ac", "1", "-f", "s16le", "pipe:1"]
    result = call(face, args, what="x", timeout=30, on_stdout=chunks.append)
    assert sum(map(len, chunks)) == 2 * 8000 * 2  # 2 s of 16-bit mono at 8 kHz
    assert result.stdout == b""


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("face", FACES)
def test_a_real_failure_is_one_line_naming_files_not_paths(tmp_path: Path, face: str) -> None:
    missing = tmp_path / "no such: folder" / "take 2.mp4"
    args = ["ffmpeg", *input_args(missing), "-f", "null", "-"]
    with pytest.raises(MediaError) as err:
        call(face, args, what="take 2.mp4: could not read it", timeout=30)
    assert str(err.value) == "take 2.mp4: could not read it: take 2.mp4: No such file or directory"


FLOOD = """#!/bin/sh
head -c 1000000 /dev/zero | tr '\\0' x >&2
echo >&2
echo "[mov,mp4 @ 0x55d0c0ffee00] moov atom not found" >&2
echo "the real reason" >&2
exit 1
"""


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (FLOOD, "moov atom not found / the real reason"),
        ("#!/bin/sh\nexit 3\n", "ffmpeg exited with status 3"),
        ("#!/bin/sh\nkill -9 $$\n", "ffmpeg was killed by SIGKILL"),
    ],
    ids=["stderr", "silent", "signal"],
)
def test_a_failure_becomes_one_short_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, face: str, script: str, reason: str
) -> None:
    stub_ffmpeg(tmp_path, monkeypatch, script)
    with pytest.raises(MediaError) as err:
        call(face, ["ffmpeg"], what="clip.mp4: could not encode", timeout=30)
    assert str(err.value) == f"clip.mp4: could not encode: {reason}"


@pytest.mark.parametrize("face", FACES)
def test_stderr_is_kept_to_its_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, face: str
) -> None:
    """A megabyte of stderr from a run that succeeds: only the last `STDERR_KEEP` bytes stay;
    one line of it that long is shortened to its end in an error."""
    stub_ffmpeg(tmp_path, monkeypatch, FLOOD.replace("exit 1", "exit $CODE"))
    monkeypatch.setenv("CODE", "0")
    result = call(face, ["ffmpeg"], what="x", timeout=30)
    assert len(result.stderr) == STDERR_KEEP
    assert result.stderr.endswith(b"the real reason\n")

    stub = tmp_path / "bin" / "ffmpeg"
    stub.write_text("#!/bin/sh\nhead -c 1000000 /dev/zero | tr '\\0' x >&2\nexit 1\n")
    with pytest.raises(MediaError) as err:
        call(face, ["ffmpeg"], what="x", timeout=30)
    assert str(err.value) == "x: …" + "x" * SUMMARY_CHARS


# --- the two faces agree ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("media") / "clip: one.mp4"
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-nostdin"),
            *("-f", "lavfi", "-i", "testsrc=d=1:size=160x120"),
            *("-c:v", "libx264", "-preset", "ultrafast", str(path)),
        ],
        check=True,
    )
    return path


def test_sync_and_async_faces_give_the_same_probe(clip: Path) -> None:
    args = ["ffprobe", "-protocol_whitelist", PROTOCOLS, "-print_format", "json"]
    args += ["-show_format", "-show_streams", "--", local_path(clip)]
    sync, async_ = (
        call(face, args, what="clip: one.mp4: could not probe", timeout=30) for face in FACES
    )
    assert sync == async_
    info = json.loads(sync.stdout)
    assert info["format"]["filename"] == str(clip)
    assert float(info["format"]["duration"]) == pytest.approx(1.0, abs=0.05)
    assert sync.stderr == b""
