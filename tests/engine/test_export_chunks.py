"""`reelcut export --chunks N`: frame ranges rendered as jobs side by side and joined, with the
same frames and the same sound as the single pass (`engine.export.chunks`).

The project is `test_export`'s (bar-coded 25 and 29.97 fps sources cut, slipped and layered in
a 30 fps timeline) plus a sound over the whole timeline that changes every sample (a rising
sweep), so a seam that dropped, repeated or shifted one sample would show."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.media.importer import import_files
from engine.ops import Overwrite
from engine.projectdir import ProjectDir
from engine.session import Session
from tests.engine.test_export import REELCUT, decode_rows, expected_at, read_code, reelcut
from tests.preview_web.exactness import Built, build_project


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("chunks")
    built = build_project(tmp / "p", "30", ["25", "30000/1001"], tmp)
    sweep = tmp / "sweep.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc='0.4*sin(2*PI*(200+300*t)*t)|0.3*sin(2*PI*(500+100*t)*t)':s=48000:d=12",
         str(sweep)],
        check=True,
    )  # fmt: skip
    pd = ProjectDir(built.root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), [sweep], place=False)
        pd.save(project)
    asset = results[0].assets[0]
    with Session(built.root) as session:
        track = next(t.name for t in session.project.tracks if t.kind == "audio")
        length = session.project.duration
        session.apply(Overwrite(asset_id=asset, at=0, track=track, source_in=5, duration=length))
    return built


def frame_md5s(path: Path) -> list[str]:
    """The md5 of every decoded video frame, in order."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return [line.rsplit(",", 1)[1].strip() for line in out.stdout.splitlines() if line[:1] != "#"]


def samples(path: Path) -> bytes:
    """The decoded sound, 32-bit float stereo at 48 kHz."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    return out.stdout


def chunk_jobs(root: Path) -> list[dict[str, object]]:
    res = reelcut("jobs", root, "list", "--all", "--json")
    return [j for j in json.loads(res.stdout)["jobs"] if j["kind"] == "export.chunk"]


def test_chunked_prores_is_the_single_pass_frame_for_frame_and_sample_for_sample(
    built: Built, tmp_path: Path
) -> None:
    """ProRes is intra-only: every frame of the chunked file is bit for bit the single pass's;
    the PCM sound is the same samples, across the seams too."""
    single, chunked = tmp_path / "single.mov", tmp_path / "chunked.mov"
    res = reelcut("export", built.root, single)
    assert res.returncode == 0, res.stderr
    before = len(chunk_jobs(built.root))
    res = reelcut("export", built.root, chunked, "--chunks", "3", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["job"]["result"]["chunks"] == 3
    jobs = chunk_jobs(built.root)[: len(chunk_jobs(built.root)) - before]
    assert [j["status"] for j in jobs] == ["succeeded"] * 3  # three jobs on the queue
    project = ProjectDir(built.root).load()
    a, b = frame_md5s(single), frame_md5s(chunked)
    assert len(a) == len(b) == project.duration
    differ = [n for n in range(len(a)) if a[n] != b[n]]
    assert differ == [], f"frames {differ[:10]} differ from the single pass"
    sound_a, sound_b = samples(single), samples(chunked)
    assert len(sound_a) == len(sound_b) == project.duration * 1600 * 8
    seams = [s * 1600 * 8 for s in (project.duration // 3, 2 * project.duration // 3)]
    for seam in seams:  # the samples around each chunk boundary, then everything
        assert sound_a[seam - 4096 : seam + 4096] == sound_b[seam - 4096 : seam + 4096]
    assert sound_a == sound_b
    assert max(sound_a) > 0  # the sweep is there, not silence
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunked.mov", "single.mov"]
    assert list((built.root / ".reelcut" / "chunks").iterdir()) == []


def test_chunked_h264_shows_every_expected_frame_and_the_single_pass_sound(
    built: Built, tmp_path: Path
) -> None:
    """H.264 chunks (each starting on a keyframe): every frame's bar code is the source frame
    the timeline shows there, and the AAC sound decodes to the single pass's samples. The
    project is named relative to the working directory (the chunk jobs' paths must not be)."""
    single, chunked = tmp_path / "single.mp4", tmp_path / "chunked.mp4"
    assert reelcut("export", built.root, single).returncode == 0
    res = subprocess.run(  # the project named relative to the working directory
        [REELCUT, "export", built.root.name, str(chunked), "--chunks", "2"],
        cwd=built.root.parent, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    project = ProjectDir(built.root).load()
    rows = decode_rows(chunked, project.width, project.height)
    assert len(rows) == project.duration
    got = [read_code(r, project.width, project.height) for r in rows]
    want = [expected_at(built, n) for n in range(project.duration)]
    wrong = [(n, w, g) for n, (w, g) in enumerate(zip(want, got, strict=True)) if w != g]
    assert wrong == [], f"{len(wrong)} frames wrong, first: {wrong[:5]}"
    assert samples(single) == samples(chunked)


def test_chunk_mistakes_are_one_line(built: Built, tmp_path: Path) -> None:
    cases = {
        ("a.mp4", "--chunks", "0"): "give 1 to 64 chunks",
        ("a.wav", "--chunks", "2"): "an audio-only export is one pass",
        ("a.mp4", "--chunks", "9", "--range", "0-5"): "the range holds only 5 frames",
    }
    for args, said in cases.items():
        res = reelcut("export", built.root, tmp_path / args[0], *args[1:])
        assert res.returncode == 2, (args, res.stderr)
        assert said in res.stderr and res.stderr.count("\n") == 1, (args, res.stderr)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_every_chunk_and_leaves_nothing(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "stopped.mov"
    chunks = built.root / ".reelcut" / "chunks"
    proc = subprocess.Popen(
        [REELCUT, "export", str(built.root), str(out), "--chunks", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a chunk is being written
        if chunks.is_dir() and any(
            p.name.endswith(".reelcut-tmp") for d in chunks.iterdir() for p in d.iterdir()
        ):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert list(tmp_path.iterdir()) == []
    assert list(chunks.iterdir()) == []
    statuses = [j["status"] for j in chunk_jobs(built.root)[:4]]
    assert statuses and all(s == "cancelled" for s in statuses), statuses
