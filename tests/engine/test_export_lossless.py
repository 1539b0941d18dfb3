"""``reelcut export --lossless``: cuts on keyframes copy the source's video packets; what the
copy cannot do is refused with one line (`engine.export.lossless`).

Two bar-coded sources made alike (H.264 with B-frames, a keyframe every 30 frames, AAC sound)
are cut on V1 on keyframes, with their linked sound. The copied file's frames carry the
expected numbers (computed from ffprobe's timestamps of the sources, as `test_export` does),
its video packets are the sources' packets byte for byte, and its codec parameters are theirs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from engine.export.graph import plan
from engine.export.presets import PRESETS
from engine.media.importer import import_files
from engine.model import new_project
from engine.ops import AddText, AddTrack, Overwrite, Slip
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate
from tests.engine.test_export import decode_rows, expected_at, read_code, reelcut
from tests.preview_web import framecode
from tests.preview_web.exactness import Built

W, H = framecode.WIDTH, framecode.HEIGHT
# (source, in-point, frames): every start on a keyframe (multiples of 30), every end too (the
# sources have B-frames), the second source between two pieces of the first.
CUTS = [(0, 30, 60), (1, 90, 30), (0, 120, 90)]


def make_source(path: Path, tone: int) -> Path:
    bars = framecode._BARS  # the bar code every frame of the test media carries
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s={W}x{H}:r=30:d=10",
         "-f", "lavfi", "-i", f"sine=f={tone}:d=10",
         "-vf", bars, "-c:v", "libx264", "-preset", "fast", "-qp", "10", "-g", "30",
         "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def packets(path: Path) -> list[tuple[int, str]]:
    """The video packets in display order: (pts, md5 of the bytes)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_data_hash", "md5",
         "-show_entries", "packet=pts,data_hash", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return sorted((int(p["pts"]), p["data_hash"]) for p in json.loads(out.stdout)["packets"])


def stream(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_data_hash", "md5",
         "-show_entries", "stream=codec_name,profile,width,height,pix_fmt,extradata_hash",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    doc: dict[str, object] = json.loads(out.stdout)["streams"][0]
    return doc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("lossless")
    files = [make_source(tmp / "a.mp4", 440), make_source(tmp / "b.mp4", 660)]
    root = tmp / "p"
    ProjectDir.create(root, new_project("copy", rate=Rate(30), width=W, height=H))
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), files, place=False)
        pd.save(project)
    ids = [r.assets[0] for r in results]
    built = Built(root, {}, {})
    for asset_id, path in zip(ids, files, strict=True):
        built.sources[asset_id] = framecode.probe(path)
    with Session(root) as session:
        at = 0
        for source, source_in, frames in CUTS:
            session.apply(
                Overwrite(asset_id=ids[source], at=at, track="V1", source_in=source_in,
                          duration=frames)
            )  # fmt: skip
            at += frames
    return built


def test_cuts_on_keyframes_copy_the_packets_and_show_the_expected_frames(
    built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "copy.mp4"
    res = reelcut("export", built.root, out, "--lossless", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["job"]["result"]["lossless"] is True
    project = ProjectDir(built.root).load()
    rows = decode_rows(out, W, H)
    assert len(rows) == project.duration == sum(n for _, _, n in CUTS)
    got = [read_code(r, W, H) for r in rows]
    want = [expected_at(built, n) for n in range(project.duration)]
    wrong = [(n, w, g) for n, (w, g) in enumerate(zip(want, got, strict=True)) if w != g]
    assert wrong == [], f"{len(wrong)} frames wrong, first: {wrong[:5]}"
    # The video stream is copied: the sources' packets, byte for byte, in the cut order.
    assets = {a.id: a for a in project.assets}
    sources = [built.root / "assets" / (assets[i].filename or "") for i in built.sources]
    expected = []
    for source, source_in, frames in CUTS:
        expected += [h for _, h in packets(sources[source])[source_in : source_in + frames]]
    assert [h for _, h in packets(out)] == expected
    assert stream(out) == stream(sources[0])
    # The linked sound is there, as long as the picture.
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=codec_name,duration", "-of", "json", str(out)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (audio,) = json.loads(probe.stdout)["streams"]
    assert audio["codec_name"] == "aac"
    assert abs(float(audio["duration"]) - project.duration / 30) < 1 / 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.mp4"]


def test_what_cannot_be_copied_is_refused_with_the_reason(built: Built, tmp_path: Path) -> None:
    project = ProjectDir(built.root).load()
    first = next(t for t in project.tracks if t.name == "V1").clips[0]
    cases = [
        (Slip(clip_id=first.id, by=7), "starts at source frame 37, not on a keyframe"),
        (AddText(text="hi", at=10, duration=20, track="V2"), "the range has clips on V2 and V1"),
    ]
    for op, said in cases:
        with Session(built.root) as session:
            ops = (
                [AddTrack(kind="video", name="V2", index=0), op]
                if isinstance(op, AddText)
                else [op]
            )
            for each in ops:
                session.apply(each)
        res = reelcut("export", built.root, tmp_path / "no.mp4", "--lossless")
        with Session(built.root) as session:
            for _ in ops:
                assert session.undo() is not None
        assert res.returncode == 2, (said, res.stderr)
        assert said in res.stderr and res.stderr.count("\n") == 1, (said, res.stderr)
    assert ProjectDir(built.root).load().tracks == project.tracks  # all undone
    cuts: dict[tuple[str, ...], str] = {
        ("no.wav",): "an audio-only export has none",
        ("no.webm",): "cannot copy h264 into .webm",
        ("no.mp4", "--chunks", "2"): "it is not made in chunks",
        ("no.mp4", "--range", "0-100"): "ends at source frame 130, inside a group of pictures",
    }
    for args, said in cuts.items():
        res = reelcut("export", built.root, tmp_path / args[0], "--lossless", *args[1:])
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.count("\n") == 1, (args, res.stderr)
        assert said in res.stderr, (args, res.stderr)
    assert list(tmp_path.iterdir()) == []


def test_the_same_cuts_rendered_show_the_same_frames(built: Built, tmp_path: Path) -> None:
    """Without --lossless the same timeline is rendered; its sources have the canvas's size,
    so each clip is overlaid as an opaque layer without an alpha plane (`engine.export.graph`):
    every frame still shows the expected source frame."""
    project = ProjectDir(built.root).load()
    job = plan(built.root, project, PRESETS["h264"], 0, project.duration, tmp_path)
    assert "yuva" not in job.args[job.args.index("-filter_complex") + 1]  # no alpha plane
    out = tmp_path / "rendered.mp4"
    res = reelcut("export", built.root, out)
    assert res.returncode == 0, res.stderr
    got = [read_code(r, W, H) for r in decode_rows(out, W, H)]
    assert got == [expected_at(built, n) for n in range(project.duration)]
