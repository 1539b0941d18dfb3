"""An export plays each clip with its gain and fades, to the sample (issue 21 item 2).

Real ffmpeg both ways: the source is a constant level (0.5 of full scale, so every exported
sample says which gain and which point of a fade it got) and a 1 kHz tone; the project is
30 fps at 48 kHz, so a frame is exactly 1600 samples. The exported WAV is decoded with the
``wave`` module and read sample by sample.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from engine.media.importer import import_files
from engine.model import new_project
from engine.ops import Blade, Overwrite, SetAudio
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import Rate

REELCUT = str(Path(sys.executable).with_name("reelcut"))
PER_FRAME = 1600
"""Samples per frame: 48000 / 30."""
LEVEL = 0.5
HALF_DB = 20 * math.log10(0.5)  # -6.02 dB: half the amplitude
STEP = 1 / 32768
"""One step of the exported 16-bit samples."""


def reelcut(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REELCUT, *map(str, args)], capture_output=True, text=True, timeout=300)


def make_project(tmp_path: Path, expression: str) -> tuple[Path, str]:
    """A 30 fps project with a 4-second stereo WAV of ``expression`` imported (not placed)."""
    source = tmp_path / "level.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"aevalsrc='{expression}':s=48000:d=4:c=stereo", "-c:a", "pcm_s16le", str(source)],
        check=True,
    )  # fmt: skip
    root = tmp_path / "p"
    ProjectDir.create(root, new_project("sound", rate=Rate(30), width=320, height=180))
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), [source], place=False)
        pd.save(project)
    return root, results[0].assets[0]


def export_left(root: Path, out: Path, *extra: str) -> list[float]:
    """Export ``root`` to the WAV ``out``; its left channel as floats in [-1, 1)."""
    res = reelcut("export", root, out, *extra)
    assert res.returncode == 0, res.stderr
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 2, 2)
        data = w.readframes(w.getnframes())
    return [v / 32768 for v in struct.unpack(f"<{len(data) // 2}h", data)[::2]]


def near(actual: float, expected: float, steps: float = 2) -> bool:
    return abs(actual - expected) <= steps * STEP


@pytest.fixture
def faded(tmp_path: Path) -> tuple[Path, str]:
    """A1: the level at frames 30-90 (60 frames), -6.02 dB, a 10-frame fade-in and a
    15-frame fade-out."""
    root, asset = make_project(tmp_path, str(LEVEL))
    with Session(root) as session:
        session.apply(Overwrite(asset_id=asset, at=30, track="A1", source_in=0, duration=60))
        clip = session.project.tracks[1].clips[0].id
        session.apply(SetAudio(clip, gain_db=HALF_DB, fade_in=10, fade_out=15))
    return root, clip


def test_gain_and_fades_land_on_their_samples(faded: tuple[Path, str], tmp_path: Path) -> None:
    """Silence before the clip; the fade-in rises from 0 at frame 30's first sample to full
    at frame 40's; half the level (-6 dB) until frame 75; the fade-out falls to silence at
    frame 90's first sample, where the file ends. A fade one frame early or late, or a gain
    of 0 dB, is off by hundreds of steps somewhere below."""
    root, _ = faded
    left = export_left(root, tmp_path / "faded.wav")
    assert len(left) == 90 * PER_FRAME
    full = LEVEL * 10 ** (HALF_DB / 20)
    assert near(full, 0.25, 1)  # -6 dB is half the amplitude
    start, fade_in, fade_out_at, end = (
        30 * PER_FRAME,
        10 * PER_FRAME,
        75 * PER_FRAME,
        90 * PER_FRAME,
    )
    assert all(v == 0 for v in left[:start])
    for i in range(0, fade_in, 97):  # the ramp, sample by sample (every 97th)
        assert near(left[start + i], full * i / fade_in), (i, left[start + i])
    assert near(left[start + fade_in - 1], full * (fade_in - 1) / fade_in)
    assert all(near(v, full) for v in left[start + fade_in : fade_out_at])
    length = end - fade_out_at
    for j in range(0, length, 89):
        assert near(left[fade_out_at + j], full * (length - j) / length), (j, left[fade_out_at + j])
    assert near(left[end - 1], full / length)
    # Where each ramp meets the plateau, measured: the first and last samples at its level
    # (a 16-bit step is about two samples of these ramps, so they are within two samples).
    plateau = left[start + fade_in + 100]
    first_full = next(i for i, v in enumerate(left) if v == plateau)
    assert start + fade_in - 2 <= first_full <= start + fade_in, first_full - start
    last_full = max(i for i, v in enumerate(left) if v == plateau)
    assert fade_out_at - 1 <= last_full <= fade_out_at + 2, last_full - fade_out_at


def test_a_range_that_starts_inside_a_fade_keeps_the_clips_ramp(
    faded: tuple[Path, str], tmp_path: Path
) -> None:
    """Exported from frame 35 (5 frames into the 10-frame fade-in), the file starts at half
    the ramp: the fade belongs to the clip, not to the range."""
    root, _ = faded
    left = export_left(root, tmp_path / "part.wav", "--range", "35-80")
    assert len(left) == 45 * PER_FRAME
    full = LEVEL * 10 ** (HALF_DB / 20)
    assert near(left[0], full / 2)
    assert near(left[5 * PER_FRAME - 800], full * (10 * PER_FRAME - 800) / (10 * PER_FRAME))
    assert near(left[5 * PER_FRAME + 10], full)
    assert near(left[-1], full * (15 * PER_FRAME - 5 * PER_FRAME + 1) / (15 * PER_FRAME))


def test_a_blade_splits_the_fades_and_the_export_follows(
    faded: tuple[Path, str], tmp_path: Path
) -> None:
    """Cut at frame 60: the left part keeps the fade-in, the right part the fade-out, both the
    gain, and the cut itself is not faded: the sound is the same sample for sample."""
    root, clip = faded
    before = export_left(root, tmp_path / "before.wav")
    with Session(root) as session:
        session.apply(Blade(at=60, clip_ids=(clip,)))
        parts = session.project.tracks[1].clips
        assert [
            (c.start, c.duration, c.audio and (c.audio.fade_in, c.audio.fade_out)) for c in parts
        ] == [
            (30, 30, (10, 0)),
            (60, 30, (0, 15)),
        ]
    after = export_left(root, tmp_path / "after.wav")
    assert max(abs(a - b) for a, b in zip(before, after, strict=True)) <= STEP


def test_a_tone_at_minus_6_db_has_half_the_amplitude(tmp_path: Path) -> None:
    """A 1 kHz tone at 0.5 of full scale, placed twice: at unity and at -6.02 dB. The second
    one's peak and RMS are half the first one's."""
    root, asset = make_project(tmp_path, "0.5*sin(2*PI*1000*t)")
    with Session(root) as session:
        session.apply(Overwrite(asset_id=asset, at=0, track="A1", source_in=0, duration=30))
        session.apply(Overwrite(asset_id=asset, at=30, track="A1", source_in=0, duration=30))
        second = session.project.tracks[1].clips[1].id
        session.apply(SetAudio(second, gain_db=HALF_DB))
    left = export_left(root, tmp_path / "tone.wav")
    unity, quieter = left[: 30 * PER_FRAME], left[30 * PER_FRAME :]

    def rms(xs: list[float]) -> float:
        return math.sqrt(sum(x * x for x in xs) / len(xs))

    assert abs(max(unity) - 0.5) < 0.001
    assert abs(max(quieter) / max(unity) - 0.5) < 0.001
    assert abs(rms(quieter) / rms(unity) - 0.5) < 0.001
