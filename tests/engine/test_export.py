"""`reelcut export`, proven by frames: the exported file is decoded and every frame's picture
is checked against the source frame the timeline must show there.

The sources carry their frame number as a bar code in the picture (`tests.preview_web.
framecode`); the project (`tests.preview_web.exactness.build_project`) has a 25 fps and a
29.97 fps clip in a 30 fps timeline, with a blade, a slip, a ripple delete, gaps, and a clip on
V2 over V1. Which source frame timeline frame N must show is computed from ffprobe's timestamps
of the source files, never from the code under test."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from engine.projectdir import ProjectDir
from engine.shown import picture_at
from tests.preview_web import framecode
from tests.preview_web.exactness import Built, build_project

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def reelcut(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REELCUT, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("export")
    return build_project(tmp / "p", "30", ["25", "30000/1001"], tmp)


def decode_rows(path: Path, width: int, height: int) -> list[bytes]:
    """The middle row of every frame of ``path``'s video, as grey bytes."""
    out = subprocess.run(
        [
            "ffmpeg", "-v", "error", "-i", str(path),
            "-vf", f"crop={width}:2:0:{height // 2},format=gray",
            "-f", "rawvideo", "-",
        ],
        capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    data = out.stdout
    return [data[i : i + width] for i in range(0, len(data), 2 * width)]


def read_code(row: bytes, width: int, height: int) -> int | None:
    """The bar code in a frame's middle row; None when the row is black (a gap)."""
    if max(row) < 60:
        return None
    content = round(height * framecode.WIDTH / framecode.HEIGHT)  # fitted inside the canvas
    left = (width - content) / 2
    n = 0
    for i in range(framecode.BITS):
        x = int(left + (i + 0.5) * content / framecode.BITS)
        if row[x] > 128:
            n |= 1 << i
    return n


def expected_at(built: Built, n: int) -> int | None:
    """The source frame timeline frame ``n`` shows: the front-most clip's, None in a gap. The
    clip is the one the page and the terminal viewer show (`engine.shown.picture_at`, one rule
    for all three); its frame comes from ffprobe's timestamps of the source."""
    project = ProjectDir(built.root).load()
    layer = picture_at(project, n).layer
    if layer is None or layer.clip.asset_id not in built.sources:
        return None
    c = layer.clip
    return framecode.expected(
        built.sources[c.asset_id],
        start=c.start,
        source_in=c.source_in,
        n=n,
        rate=project.rate.fraction,
    )


def test_every_exported_frame_is_the_source_frame_the_timeline_shows(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "cut.mp4"
    res = reelcut("export", built.root, out, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["job"]["status"] == "succeeded" and doc["out"] == str(out)
    project = ProjectDir(built.root).load()
    rows = decode_rows(out, project.width, project.height)
    assert len(rows) == project.duration  # exactly the timeline's frames
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = Fraction(json.loads(probe.stdout)["format"]["duration"])
    assert abs(seconds - Fraction(project.duration) / project.rate.fraction) < Fraction(1, 30)
    wrong = []
    for n, row in enumerate(rows):
        want, got = expected_at(built, n), read_code(row, project.width, project.height)
        if want != got:
            wrong.append((n, want, got))
    assert wrong == [], f"{len(wrong)} of {len(rows)} frames wrong, first: {wrong[:5]}"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "cut.mp4"]
    assert leftovers == []


def test_a_range_exports_exactly_those_frames(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "part.mp4"
    res = reelcut("export", built.root, out, "--range", "100-160")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"exported 60 frames to {out}")
    project = ProjectDir(built.root).load()
    rows = decode_rows(out, project.width, project.height)
    got = [read_code(r, project.width, project.height) for r in rows]
    assert got == [expected_at(built, n) for n in range(100, 160)]


def test_audio_only_and_the_other_presets_write_what_they_say(built: Built, tmp_path: Path) -> None:
    project = ProjectDir(built.root).load()
    for name, codecs in {
        "a.wav": ["pcm_s16le"],
        "a.webm": ["vp9", "opus"],
        "a.mov": ["prores", "pcm_s16le"],
    }.items():
        res = reelcut("export", built.root, tmp_path / name, "--range", "0-15")
        assert res.returncode == 0, (name, res.stderr)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json",
             str(tmp_path / name)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert [s["codec_name"] for s in json.loads(probe.stdout)["streams"]] == codecs
    assert project.duration > 15


def test_mistakes_are_one_line_and_write_nothing(built: Built, tmp_path: Path) -> None:
    cases = {
        ("out.avi",): "cannot tell the format from '.avi'",
        ("out.mp4", "--preset", "wav"): "the wav preset writes .wav, not .mp4",
        ("out.mp4", "--range", "50-20"): "holds no frame",
        ("out.mp4", "--range", "soon"): "give A-B",
        ("out.mp4", "--range", "marks"): "needs an in or out mark",
        ("nowhere/out.mp4",): "is not a folder",
    }
    for args, said in cases.items():
        res = reelcut("export", built.root, tmp_path / args[0], *args[1:])
        assert res.returncode == 2, (args, res.stderr)
        assert said in res.stderr and res.stderr.count("\n") == 1, (args, res.stderr)
    (tmp_path / "there.mp4").write_bytes(b"mine")
    res = reelcut("export", built.root, tmp_path / "there.mp4")
    assert res.returncode == 2 and "--force replaces it" in res.stderr
    assert (tmp_path / "there.mp4").read_bytes() == b"mine"
    res = reelcut("export", built.root, built.root / "assets" / "x.mp4")
    assert res.returncode == 2 and "reelcut's own" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["there.mp4"]


def test_ctrl_c_cancels_and_leaves_no_file_under_the_name(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "stopped.mov"  # ProRes: slow enough to be caught mid-render
    (tmp_path / "stopped.mov").write_bytes(b"the old file")
    proc = subprocess.Popen(
        [REELCUT, "export", str(built.root), str(out), "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.name.endswith(".reelcut-tmp") for p in tmp_path.iterdir()):
            break  # ffmpeg is writing
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "export cancelled; nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stopped.mov"]
    assert out.read_bytes() == b"the old file"
    jobs = reelcut("jobs", built.root, "list", "--all", "--json")
    statuses = [j["status"] for j in json.loads(jobs.stdout)["jobs"] if j["kind"] == "export"]
    assert statuses[0] == "cancelled"


def test_audio_lands_on_its_frame_sample_exactly(tmp_path: Path) -> None:
    """A tone that starts one second into its file, placed at frame 45 with its in-point
    0.4 s in: the exported sound starts at timeline frame 63 (45 + 30 - 12), to the sample
    as near as the source allows, and the file lasts exactly the timeline's duration."""
    import struct
    import wave

    from engine.media.importer import import_files
    from engine.model import new_project
    from engine.ops import Overwrite
    from engine.session import Session
    from engine.timebase import Rate

    source = tmp_path / "beep.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc='if(gte(t,1),0.5*sin(2*PI*1000*t),0)':s=48000:d=3", "-ac", "2", str(source)],
        check=True,
    )  # fmt: skip
    root = tmp_path / "p"
    ProjectDir.create(root, new_project("sync", rate=Rate(30), width=320, height=180))
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), [source], place=False)
        pd.save(project)
    asset = results[0].assets[0]
    with Session(root) as session:
        track = next(t.name for t in session.project.tracks if t.kind == "audio")
        session.apply(Overwrite(asset_id=asset, at=45, track=track, source_in=12, duration=60))
    out = tmp_path / "sync.wav"
    res = reelcut("export", root, out)
    assert res.returncode == 0, res.stderr
    with wave.open(str(out)) as w:
        rate, frames = w.getframerate(), w.getnframes()
        data = w.readframes(frames)
    assert rate == 48000 and frames == 105 * 1600  # 105 frames at 30 fps, to the sample
    left = struct.unpack(f"<{len(data) // 2}h", data)[::2]
    onset = next(i for i, v in enumerate(left) if abs(v) > 1000)
    assert abs(onset - 63 * 1600) <= 48, onset  # within a millisecond; a frame is 1600
