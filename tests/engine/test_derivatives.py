"""Media derivatives with real ffmpeg: proxies, thumbnail strips, waveform peaks.

Sources are made by ffmpeg once per module (3 s at 320x240, a few hundred KB) in a folder whose
name has a colon and spaces. Expected values come from ffprobe and plain arithmetic here, never
from the module under test. Failure paths run a stub ``ffmpeg`` put first on PATH: it fails,
writes half a file, or hangs with a child of its own, and records its pids so the tests can
check the whole process group is gone.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import stat
import subprocess
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.errors import MediaError, ToolMissing
from engine.media.derivatives import build_derivative, derivative_paths, is_fresh, proxy_name
from engine.media.headers import jpeg_size
from engine.media.importer import import_files
from engine.media.peaks import PEAKS_FULL_SCALE, make_peaks
from engine.media.proxy import make_proxy
from engine.media.thumbnail_strip import make_thumbnails, thumbs_index_path, tile_plan
from engine.model import Asset, MediaInfo, new_project
from engine.projectdir import ProjectDir
from engine.timebase import Rate

SECONDS = 3.0
SHA = "ab" * 32
R30 = Rate(30, 1)

# --- media made once per module ---------------------------------------------------------------


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return dict(json.loads(out))


@dataclass(frozen=True)
class Media:
    dir: Path
    av: Path  # 320x240 30 fps + 440 Hz sine, 3 s
    silent: Path  # the same picture, no audio stream
    tone: Path  # wav, 440 Hz sine at ffmpeg's default amplitude 1/8
    quiet: Path  # wav, digital silence
    rotated: Path  # 1280x720 with a 90° display matrix: shown 720x1280


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    d = tmp_path_factory.mktemp("derivatives") / "my media: take 1"
    d.mkdir()
    m = Media(
        dir=d,
        av=d / "scene 1:take 2.mp4",
        silent=d / "silent.mp4",
        tone=d / "tone: a.wav",
        quiet=d / "quiet.wav",
        rotated=d / "rotated.mp4",
    )
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    picture = ["-f", "lavfi", "-i", f"testsrc2=s=320x240:r=30:d={SECONDS}"]
    sine = ["-f", "lavfi", "-i", f"sine=f=440:r=48000:d={SECONDS}"]
    ffmpeg(*picture, *sine, *x264, "-c:a", "aac", "-shortest", m.av)
    ffmpeg(*picture, *x264, m.silent)
    ffmpeg(*sine, "-c:a", "pcm_s16le", m.tone)
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "2", "-c:a", "pcm_s16le", m.quiet)
    wide = d / "wide.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=1", *x264, wide)
    # ffmpeg 5 has no -display_rotation; the legacy "rotate" tag becomes a display matrix on copy.
    ffmpeg("-i", wide, "-c", "copy", "-metadata:s:v:0", "rotate=90", m.rotated)
    return m


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


class Recorder:
    """An on_progress callback that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))

    def check(self) -> None:
        fractions = [f for f, _ in self.calls]
        assert fractions, "no progress reported"
        assert all(0.0 <= f <= 1.0 for f in fractions)
        assert fractions == sorted(fractions), fractions
        assert fractions[-1] == 1.0 and fractions.count(1.0) == 1
        assert all(m.strip() and "\n" not in m for _, m in self.calls)


def keyframe_gaps(path: Path) -> list[float]:
    """Seconds between successive keyframes of ``path``'s video."""
    frames = ffprobe(
        path,
        *("-select_streams", "v:0", "-skip_frame", "nokey", "-show_entries", "frame=pts_time"),
    )["frames"]
    return [b - a for a, b in itertools.pairwise(float(f["pts_time"]) for f in frames)]


def count_frames(path: Path) -> int:
    """How many frames ``path``'s video stream decodes to."""
    (stream,) = ffprobe(
        path,
        *("-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames"),
    )["streams"]
    return int(stream["nb_read_frames"])


def first_pts_time(path: Path) -> float:
    """The presentation time of the first frame of ``path``'s video, in seconds."""
    frames = ffprobe(
        path,
        *("-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries", "frame=pts_time"),
    )["frames"]
    return float(frames[0]["pts_time"])


def streams(path: Path) -> dict[str, dict[str, Any]]:
    return {s["codec_type"]: s for s in ffprobe(path, "-show_streams")["streams"]}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- which derivatives, under which names -----------------------------------------------------


def asset(kind: str, *, audio: bool = True, hash: str | None = SHA) -> Asset:
    return Asset(
        id="a1",
        kind=kind,  # type: ignore[arg-type]
        name=f"x.{kind}",
        hash=hash,
        ext="mp4" if hash else None,
        media=MediaInfo(
            format="mov,mp4",
            size_bytes=1,
            duration_us=3_000_000,
            audio_codec="aac" if audio else None,
            audio_channels=1 if audio else 0,
        ),
    )


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (
            asset("video"),
            {"proxy": f"proxies/{SHA}.p2r30.mp4", "thumbs": f"previews/{SHA}.t1.jpg"}
            | {"peaks": f"previews/{SHA}.w1.json"},
        ),
        (
            asset("video", audio=False),
            {"proxy": f"proxies/{SHA}.p2r30.mp4", "thumbs": f"previews/{SHA}.t1.jpg"},
        ),
        (asset("audio"), {"peaks": f"previews/{SHA}.w1.json"}),
        (asset("image", audio=False), {"thumbs": f"previews/{SHA}.t1.jpg"}),
        (asset("remotion", audio=False, hash=None), {}),
        (asset("text", audio=False, hash=None), {}),
    ],
    ids=["video", "silent-video", "audio", "image", "remotion", "text"],
)
def test_derivative_paths_are_content_keyed_and_recipe_versioned(
    tmp_path: Path, a: Asset, expected: dict[str, str]
) -> None:
    paths = derivative_paths(tmp_path, a, R30)
    assert {k: str(p.relative_to(tmp_path)) for k, p in paths.items()} == expected
    if "thumbs" in paths:
        assert thumbs_index_path(paths["thumbs"]).name == f"{SHA}.t1.json"


@pytest.mark.parametrize(
    ("rate", "name"),
    [
        (Rate(30, 1), f"{SHA}.p2r30.mp4"),
        (Rate(25), f"{SHA}.p2r25.mp4"),
        (Rate(30000, 1001), f"{SHA}.p2r30000d1001.mp4"),
        (Rate(24000, 1001), f"{SHA}.p2r24000d1001.mp4"),
    ],
)
def test_the_proxy_name_carries_the_project_rate(tmp_path: Path, rate: Rate, name: str) -> None:
    assert proxy_name(SHA, rate) == name
    paths = derivative_paths(tmp_path, asset("video"), rate)
    assert paths.pop("proxy") == tmp_path / "proxies" / name
    # Only the proxy depends on the rate.
    at_30 = derivative_paths(tmp_path, asset("video"), R30)
    del at_30["proxy"]
    assert paths == at_30


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (None, (1000, 1)),
        (0.2, (1000, 1)),
        (3.0, (1000, 3)),
        (3.2, (1000, 4)),
        (100.0, (1000, 100)),
        (250.0, (2500, 100)),
        (36000.0, (360000, 100)),
    ],
)
def test_tile_plan_spreads_at_most_100_tiles_at_least_a_second_apart(
    duration: float | None, expected: tuple[int, int]
) -> None:
    interval_ms, count = tile_plan(duration)
    assert (interval_ms, count) == expected
    assert interval_ms * count >= (duration or 0) * 1000


# --- proxies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["av", "silent"])
def test_proxy_is_small_h264_with_a_keyframe_every_half_second(
    media: Media, tmp_path: Path, which: str
) -> None:
    src = getattr(media, which)
    dst = tmp_path / "proxies" / "p.mp4"
    progress = Recorder()
    run(make_proxy(src, dst, R30, duration_s=SECONDS, on_progress=progress))

    progress.check()
    assert leftovers(dst.parent) == ["p.mp4"]
    got = streams(dst)
    video = got["video"]
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (320, 240)  # never upscaled
    assert video["r_frame_rate"] == "30/1"
    assert abs(count_frames(dst) - round(SECONDS * 30)) <= 1
    assert ("audio" in got) == (which == "av")
    if which == "av":
        assert got["audio"]["codec_name"] == "aac"
    gaps = keyframe_gaps(dst)
    assert len(gaps) >= 4
    assert all(abs(g - 0.5) < 0.04 for g in gaps), gaps
    # moov before mdat: a browser can start playing before the whole file arrives.
    data = dst.read_bytes()
    assert 0 < data.index(b"moov") < data.index(b"mdat")
    assert is_fresh(dst)


def test_proxy_of_a_rotated_hd_source_is_540_lines_upright_with_even_sides(
    media: Media, tmp_path: Path
) -> None:
    dst = tmp_path / "p.mp4"
    run(make_proxy(media.rotated, dst, R30, duration_s=1.0))
    video = streams(dst)["video"]
    # Shown 720x1280: scaled to 540 tall, width 720 * 540 / 1280 = 303.75, made even.
    assert (video["width"], video["height"]) == (304, 540)
    assert "audio" not in streams(dst)
    gaps = keyframe_gaps(dst)
    assert gaps and all(abs(g - 0.5) < 0.04 for g in gaps), gaps


def test_proxy_of_a_25_fps_source_is_conformed_to_the_project_rate(tmp_path: Path) -> None:
    """Frame k of the proxy is project frame k: a 25 fps source made at 30 fps is a constant
    30 fps stream that starts at 0, 2 s of it being 60 frames."""
    src = tmp_path / "src 25: fps.mp4"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2"),
        *("-c:v", "libx264", "-pix_fmt", "yuv420p"),
        src,
    )
    assert streams(src)["video"]["r_frame_rate"] == "25/1"
    dst = tmp_path / "proxies" / "p.mp4"
    run(make_proxy(src, dst, R30, duration_s=2.0))

    video = streams(dst)["video"]
    assert video["r_frame_rate"] == "30/1"
    assert abs(count_frames(dst) - 60) <= 1
    assert first_pts_time(dst) == 0.0
    assert is_fresh(dst)


# --- thumbnails -------------------------------------------------------------------------------


def test_a_sidecar_temp_left_by_a_killed_worker_goes_with_the_next_build(
    media: Media, tmp_path: Path
) -> None:
    """A worker killed while it wrote the strip's sidecar left ``.t.json.<hex>.reelcut-tmp``;
    the next build clears it as it clears the JPEG's (the kill harness found one in 125)."""
    from engine.fsio.durable import temp_path

    dst = tmp_path / "previews" / "t.jpg"
    dst.parent.mkdir(parents=True)
    stale = temp_path(thumbs_index_path(dst))
    stale.write_bytes(b'{"half": ')
    run(make_thumbnails(media.av, dst, duration_s=SECONDS))
    assert leftovers(dst.parent) == ["t.jpg", "t.json"]


def test_thumbnail_strip_is_one_jpeg_described_by_its_sidecar(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "previews" / "t.jpg"
    progress = Recorder()
    run(make_thumbnails(media.av, dst, duration_s=SECONDS, on_progress=progress))

    progress.check()
    assert leftovers(dst.parent) == ["t.jpg", "t.json"]
    index = json.loads(thumbs_index_path(dst).read_bytes())
    assert index == {
        "version": 1,
        "image": "t.jpg",
        "count": 3,
        "columns": 3,
        "rows": 1,
        "tile_width": 160,
        "tile_height": 120,
        "seconds_per_tile": 1.0,
    }
    probed = streams(dst)["video"]
    assert probed["codec_name"] == "mjpeg"
    assert (probed["width"], probed["height"]) == (160 * 3, 120)
    assert jpeg_size(dst.read_bytes()) == (480, 120)
    assert is_fresh(dst)


def test_a_still_image_gets_a_one_tile_strip(tmp_path: Path) -> None:
    """A still has no duration: ffmpeg's fps filter would hold its only frame back for ever
    (and write nothing); the strip is that frame, tiled as it is."""
    still = tmp_path / "still.png"
    ffmpeg("-f", "lavfi", "-i", "smptehdbars=s=640x360:d=1", "-frames:v", "1", still)
    dst = tmp_path / "previews" / "s.jpg"
    run(make_thumbnails(still, dst, duration_s=None))
    index = json.loads(thumbs_index_path(dst).read_bytes())
    assert (index["count"], index["columns"], index["rows"]) == (1, 1, 1)
    assert (index["tile_width"], index["tile_height"]) == (160, 90)
    assert jpeg_size(dst.read_bytes()) == (160, 90)
    assert is_fresh(dst)


def test_thumbnail_count_is_bounded_and_the_grid_is_ten_wide(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "t.jpg"
    # As if the clip lasted 500 s: 100 tiles 5 s apart (only the first has a frame here).
    run(make_thumbnails(media.av, dst, duration_s=500.0))
    index = json.loads(thumbs_index_path(dst).read_bytes())
    assert (index["count"], index["columns"], index["rows"]) == (100, 10, 10)
    assert index["seconds_per_tile"] == 5.0
    probed = streams(dst)["video"]
    assert (probed["width"], probed["height"]) == (1600, 1200)


# --- waveform peaks ---------------------------------------------------------------------------


def peaks_of(path: Path) -> dict[str, Any]:
    doc = dict(json.loads(path.read_bytes()))
    assert doc["buckets_per_second"] == 100 and doc["full_scale"] == PEAKS_FULL_SCALE == 127
    assert doc["count"] == len(doc["min"]) == len(doc["max"])
    assert all(-127 <= lo <= hi <= 127 for lo, hi in zip(doc["min"], doc["max"], strict=True))
    return doc


def test_peaks_of_a_sine_follow_its_amplitude(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "previews" / "w.json"
    progress = Recorder()
    run(make_peaks(media.tone, dst, duration_s=SECONDS, on_progress=progress))

    progress.check()
    assert leftovers(dst.parent) == ["w.json"]
    doc = peaks_of(dst)
    assert doc["count"] == 300
    assert doc["duration_s"] == pytest.approx(SECONDS)
    # ffmpeg's sine source has amplitude 1/8: 127 / 8 ≈ 16 in every 10 ms bucket (4.4 periods).
    assert all(14 <= hi <= 17 for hi in doc["max"])
    assert all(-17 <= lo <= -14 for lo in doc["min"])


def test_peaks_of_silence_are_zero(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "w.json"
    run(make_peaks(media.quiet, dst, duration_s=2.0))
    doc = peaks_of(dst)
    assert doc["count"] == 200
    assert set(doc["min"]) == set(doc["max"]) == {0}


def test_peaks_of_a_video_come_from_its_sound(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "w.json"
    run(make_peaks(media.av, dst, duration_s=None))
    doc = peaks_of(dst)
    assert abs(doc["count"] - 300) <= 3  # AAC adds a few ms of priming/padding
    assert max(doc["max"]) >= 14


def test_a_real_ffmpeg_failure_names_files_not_paths(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "w.json"
    with pytest.raises(MediaError) as err:
        run(make_peaks(media.silent, dst, duration_s=SECONDS))
    message = str(err.value)
    assert message.startswith("silent.mp4: could not read its sound")
    assert "matches no streams" in message
    assert "\n" not in message and str(media.dir) not in message
    assert leftovers(tmp_path) == []


# --- whole assets, names, idempotence, freshness --------------------------------------------


def test_every_derivative_of_imported_assets_with_colons_and_spaces(
    media: Media, tmp_path: Path
) -> None:
    pd = ProjectDir(tmp_path / "my project: v2")
    pd.root.mkdir()
    project, results = import_files(pd, new_project("p", rate=Rate(30)), [media.av])
    assert [r.error for r in results] == [None]
    video, audio = project.assets
    assert (video.kind, audio.kind) == ("video", "audio")

    async def build_all() -> list[Path]:
        built = []
        for a in (video, audio):
            for kind in derivative_paths(pd.root, a, project.rate):
                built.append(await build_derivative(pd.root, a, kind, project.rate))
        return built

    built = run(build_all())
    assert [p.relative_to(pd.root).as_posix() for p in built] == [
        f"proxies/{video.hash}.p2r30.mp4",
        f"previews/{video.hash}.t1.jpg",
        f"previews/{video.hash}.w1.json",
        f"previews/{audio.hash}.w1.json",
    ]
    assert all(is_fresh(p) for p in built)
    assert len(leftovers(pd.root / "previews")) == 4  # three files and the strip's sidecar


def test_building_twice_leaves_one_file(media: Media, tmp_path: Path) -> None:
    dst = tmp_path / "proxies" / "p.mp4"
    run(make_proxy(media.silent, dst, R30, duration_s=SECONDS))
    run(make_proxy(media.silent, dst, R30, duration_s=SECONDS))
    assert leftovers(dst.parent) == ["p.mp4"]
    assert is_fresh(dst)


def test_the_half_output_of_a_killed_worker_goes_when_the_job_runs_again(
    media: Media, tmp_path: Path
) -> None:
    """A worker killed mid-job leaves its temp file (nothing renames it); the next attempt at
    the same derivative removes it. Other files' temps are not touched."""
    dst = tmp_path / "proxies" / "p.mp4"
    dst.parent.mkdir()
    stale = dst.parent / ".p.mp4.0123456789ab.tmp"
    stale.write_bytes(b"\0" * 5000)
    other = dst.parent / ".q.mp4.0123456789ab.tmp"
    other.write_bytes(b"\0")
    run(make_proxy(media.silent, dst, R30, duration_s=SECONDS))
    assert leftovers(dst.parent) == [other.name, "p.mp4"]


def test_build_derivative_skips_a_fresh_file_and_rebuilds_a_damaged_one(
    media: Media, tmp_path: Path
) -> None:
    pd = ProjectDir(tmp_path / "proj")
    pd.root.mkdir()
    project, _ = import_files(pd, new_project("p", rate=Rate(30)), [media.tone])
    (tone,) = project.assets
    rate = project.rate
    dst = derivative_paths(pd.root, tone, rate)["peaks"]

    run(build_derivative(pd.root, tone, "peaks", rate))
    stamp = dst.stat().st_mtime_ns
    progress = Recorder()
    run(build_derivative(pd.root, tone, "peaks", rate, on_progress=progress))
    assert dst.stat().st_mtime_ns == stamp
    assert progress.calls == [(1.0, "waveform up to date")]

    dst.write_bytes(dst.read_bytes()[:100])
    assert not is_fresh(dst)
    run(build_derivative(pd.root, tone, "peaks", rate))
    assert is_fresh(dst) and leftovers(dst.parent) == [dst.name]

    with pytest.raises(MediaError, match="audio assets have no proxy derivative"):
        run(build_derivative(pd.root, tone, "proxy", rate))


def test_is_fresh_refuses_missing_empty_and_truncated_files(media: Media, tmp_path: Path) -> None:
    proxy, thumbs = tmp_path / "p.mp4", tmp_path / "t.jpg"
    run(make_proxy(media.silent, proxy, R30, duration_s=SECONDS))
    run(make_thumbnails(media.silent, thumbs, duration_s=SECONDS))
    assert is_fresh(proxy) and is_fresh(thumbs)

    assert not is_fresh(tmp_path / "missing.json")
    (tmp_path / "empty.json").write_bytes(b"")
    assert not is_fresh(tmp_path / "empty.json")
    (tmp_path / "cut.json").write_bytes(b'{"min": [1, 2')
    assert not is_fresh(tmp_path / "cut.json")
    (tmp_path / "cut.mp4").write_bytes(proxy.read_bytes()[: proxy.stat().st_size // 2])
    assert not is_fresh(tmp_path / "cut.mp4")
    (tmp_path / "cut.jpg").write_bytes(thumbs.read_bytes()[:-10])
    (tmp_path / "cut.json").write_bytes(thumbs_index_path(thumbs).read_bytes())
    assert not is_fresh(tmp_path / "cut.jpg")
    thumbs_index_path(thumbs).unlink()
    assert not is_fresh(thumbs)  # a strip without its sidecar cannot be laid out


# --- failures, cancellation, timeouts (stub ffmpeg) -------------------------------------------

# Every stub finds its output as the last argument, as ffmpeg does.
FAIL = """
echo "[mov,mp4 @ 0x55d0c0ffee00] moov atom not found" >&2
echo "$last: Invalid data found when processing input" >&2
exit 1
"""
HALF = """
head -c 5000 /dev/zero > "$last"
echo "Conversion failed!" >&2
exit 1
"""
HANG = """
head -c 5000 /dev/zero > "$last"
sleep 60 &
echo "$$ $!" > "$PIDS.tmp" && mv "$PIDS.tmp" "$PIDS"
wait
"""


def stub_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """Put a fake ffmpeg running ``body`` first on PATH; return where it records its pids."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "ffmpeg"
    exe.write_text('#!/bin/sh\nfor last in "$@"; do :; done\n' + body)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    pids = tmp_path / "pids"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PIDS", str(pids))
    return pids


Builder = Callable[[Path, Path], Coroutine[Any, Any, None]]
BUILDERS: dict[str, tuple[str, Builder]] = {
    "proxy": ("p.mp4", lambda s, d: make_proxy(s, d, R30, duration_s=SECONDS, timeout=20)),
    "thumbs": ("t.jpg", lambda s, d: make_thumbnails(s, d, duration_s=SECONDS, timeout=20)),
    "peaks": ("w.json", lambda s, d: make_peaks(s, d, duration_s=SECONDS, timeout=20)),
}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_a_failing_ffmpeg_raises_one_line_with_its_stderr_tail(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    stub_ffmpeg(tmp_path, monkeypatch, FAIL)
    name, build = BUILDERS[kind]
    out = tmp_path / "out: dir"
    with pytest.raises(MediaError) as err:
        run(build(media.av, out / name))
    message = str(err.value)
    assert message.startswith("scene 1:take 2.mp4: could not ")
    assert "moov atom not found / " in message
    assert message.endswith("Invalid data found when processing input")
    assert "0x55d0c0ffee00" not in message and "\n" not in message
    assert str(tmp_path) not in message
    assert leftovers(out) == []


def test_a_stub_failure_names_the_output_by_its_final_name(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_ffmpeg(tmp_path, monkeypatch, FAIL)
    with pytest.raises(MediaError) as err:
        run(make_proxy(media.av, tmp_path / "p.mp4", R30, duration_s=SECONDS))
    assert str(err.value).endswith(
        "moov atom not found / p.mp4: Invalid data found when processing input"
    )


@pytest.mark.parametrize("kind", ["proxy", "thumbs"])
def test_half_an_output_is_removed_when_ffmpeg_fails(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    stub_ffmpeg(tmp_path, monkeypatch, HALF)
    name, build = BUILDERS[kind]
    out = tmp_path / "out"
    with pytest.raises(MediaError, match="Conversion failed!"):
        run(build(media.av, out / name))
    assert leftovers(out) == []


def test_ffmpeg_missing_raises_tool_missing(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="ffmpeg is not installed"):
        run(make_proxy(media.av, tmp_path / "p.mp4", R30, duration_s=SECONDS))
    assert leftovers(tmp_path) == []


def dead(pid: int) -> bool:
    """Gone, or a zombie whose parent (init, after its own parent died) has yet to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def started(pids: Path) -> tuple[int, int]:
    """The stub's (shell, child) pids, once it has written half a file and is hanging."""
    while not pids.exists():
        await asyncio.sleep(0.01)
    shell, child = map(int, pids.read_text().split())
    return shell, child


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["proxy", "thumbs"])
def test_cancelling_kills_ffmpegs_process_group_and_removes_the_partial_file(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    pids = stub_ffmpeg(tmp_path, monkeypatch, HANG)
    name, build = BUILDERS[kind]
    out = tmp_path / "out"

    async def scenario() -> tuple[int, int]:
        task = asyncio.create_task(build(media.av, out / name))
        shell, child = await started(pids)
        assert len(leftovers(out)) == 1  # the stub's half file, under a temp name
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return shell, child

    shell, child = run(scenario())
    with pytest.raises(ProcessLookupError):
        os.kill(shell, 0)  # killed and reaped: no zombie left behind
    assert dead(child)  # the same process group went too
    assert leftovers(out) == []


@pytest.mark.timeout(20)
def test_a_timeout_kills_ffmpeg_and_raises_media_error(
    media: Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = stub_ffmpeg(tmp_path, monkeypatch, HANG)
    out = tmp_path / "out"
    with pytest.raises(MediaError) as err:
        run(make_proxy(media.av, out / "p.mp4", R30, duration_s=SECONDS, timeout=1.5))
    assert str(err.value) == (
        "scene 1:take 2.mp4: could not make its proxy: ffmpeg took longer than 1.5s and was stopped"
    )
    shell, child = map(int, pids.read_text().split())
    with pytest.raises(ProcessLookupError):
        os.kill(shell, 0)
    assert dead(child)
    assert leftovers(out) == []
