"""Remotion clips in the export, drawn by @remotion/renderer as the page draws them (issue 21.2).

A 640x360 30 fps project: a plain blue video on V1 (so whatever is transparent in a layer above
shows blue), and on V2 a Remotion clip from frame 10 to 40, slipped to start at its own frame 5,
that draws a box of its ``color`` prop at a known place and its `useCurrentFrame()` as a bar
code of white squares (a bit that is 0 draws nothing). `reelcut export` must show, in every
frame of the file: the box and the right number exactly while the clip is on the timeline, the
blue video around and between them (the layer is transparent), and nothing of the clip before
or after it. Two frames are also compared with the page's screenshots of the same frames by
PSNR (real Chromium, the real preview server). A clip whose code does not compile, or whose
manifest is missing, fails the export with one line naming the clip, and nothing is written.

The frame check fails without the Remotion layer in the export's graph (the box and the bars
are missing), and with the clip's in-point ignored (every number is 5 off).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from engine.media.importer import import_files
from engine.model import Asset, new_project
from engine.ops import AddTrack, Overwrite
from engine.projectdir import ProjectDir
from engine.session import Session
from engine.timebase import parse_rate
from tests.preview_web.test_export_matches_page import page_screenshots, psnr

pytestmark = [
    pytest.mark.timeout(600),
]

REELCUT = str(Path(sys.executable).with_name("reelcut"))
W, H = 640, 360
FRAMES = 60
CLIP_AT, CLIP_FRAMES, CLIP_IN = 10, 30, 5
BLUE = (32, 64, 160)
BOX = (200, 80, 120, 60)
"""The clip's box: x, y, width, height in the canvas."""
RED = (230, 20, 20)
BITS = 6
CELL = 40


def _cell(bit: int) -> tuple[int, int]:
    """Top-left corner of the bar code's square for ``bit`` (bit 0 at the left)."""
    return 40 + bit * 60, 250


CLIP_SOURCE = f"""
import {{ useCurrentFrame }} from "remotion";

type Props = {{ color: string }};

export default function Marked({{ color }}: Props) {{
  const frame: number = useCurrentFrame();
  const cells = [];
  for (let bit = 0; bit < {BITS}; bit++) {{
    if ((frame >> bit) & 1) {{
      cells.push(
        <div key={{bit}} style={{{{ position: "absolute", left: 40 + bit * 60, top: 250,
          width: {CELL}, height: {CELL}, background: "#ffffff" }}}} />
      );
    }}
  }}
  return (
    <>
      <div style={{{{ position: "absolute", left: {BOX[0]}, top: {BOX[1]}, width: {BOX[2]},
        height: {BOX[3]}, background: color }}}} />
      {{cells}}
    </>
  );
}}
"""
BROKEN_SOURCE = "export default function Broken( { return <div>; }"


def build(root: Path, tmp: Path, source: str = CLIP_SOURCE) -> str:
    """The project at ``root``; returns the Remotion clip's id."""
    ProjectDir.create(root, new_project("remotion", rate=parse_rate("30"), width=W, height=H))
    blue = tmp / "blue.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"color=c=0x{bytes(BLUE).hex()}:s={W}x{H}:r=30", "-t", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv444p", blue],
        check=True, timeout=120,
    )  # fmt: skip
    pd = ProjectDir(root)
    with pd.writer("test"):
        project, results = import_files(pd, pd.load(), [blue], place=False)
        clip_asset = Asset(id="a_90", kind="remotion", name="marked")
        assets = (*project.assets, clip_asset)
        pd.save(msgspec.structs.replace(project, assets=assets, next_id=max(project.next_id, 91)))
    assert all(r.error is None for r in results), [r.error for r in results]
    (root / "remotion" / "a_90").mkdir(parents=True, exist_ok=True)
    manifest = {"source": source, "props": {"color": "#" + bytes(RED).hex()}}
    (root / "remotion" / "a_90" / "manifest.json").write_text(json.dumps(manifest))
    with Session(root) as session:
        video = results[0].assets[0]
        session.apply(
            Overwrite(asset_id=video, at=0, track="V1", duration=FRAMES, with_audio=False)
        )
        session.apply(AddTrack(kind="video", name="V2", index=0))
        session.apply(
            Overwrite(
                asset_id="a_90", at=CLIP_AT, track="V2", source_in=CLIP_IN, duration=CLIP_FRAMES
            )
        )
        (clip,) = [c for t in session.project.tracks if t.name == "V2" for c in t.clips]
    return clip.id


def export(root: Path, movie: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REELCUT, "export", root, movie], capture_output=True, text=True, timeout=600
    )


def decoded(movie: Path) -> list[bytes]:
    """Every frame of ``movie`` as packed RGB."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", movie,
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    size = W * H * 3
    assert len(raw) % size == 0
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def mean(frame: bytes, x: int, y: int, w: int, h: int) -> tuple[float, float, float]:
    """The mean colour of a rectangle's inner part (2 px in from each side: edges blend)."""
    px = [
        frame[(yy * W + xx) * 3 : (yy * W + xx) * 3 + 3]
        for yy in range(y + 2, y + h - 2)
        for xx in range(x + 2, x + w - 2)
    ]
    return tuple(sum(p[c] for p in px) / len(px) for c in range(3))  # type: ignore[return-value]


def near(colour: tuple[float, float, float], want: tuple[int, int, int], tol: float = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, want, strict=True))


def what_shows(frame: bytes) -> tuple[bool, int | None, bool]:
    """(the box is there, the number the bar code says or None when no square and no box,
    the blue shows around them): read from the picture alone."""
    box = near(mean(frame, *BOX), RED)
    bits = [mean(frame, *_cell(b), CELL, CELL) for b in range(BITS)]
    for colour in bits:
        assert near(colour, (255, 255, 255)) or near(colour, BLUE), colour
    number = sum(1 << b for b, c in enumerate(bits) if near(c, (255, 255, 255)))
    around = [(0, 0), (BOX[0] - 30, BOX[1]), (BOX[0] + BOX[2] + 6, BOX[1] + 20), (600, 300)]
    blue = all(near(mean(frame, x, y, 20, 20), BLUE) for x, y in around)
    return box, number if box else (number or None), blue


def test_every_exported_frame_shows_the_clip_at_its_frames_and_place(tmp_path: Path) -> None:
    root = tmp_path / "p"
    build(root, tmp_path)
    movie = tmp_path / "out.mp4"
    res = export(root, movie)
    assert res.returncode == 0, res.stderr
    frames = decoded(movie)
    assert len(frames) == FRAMES
    wrong = []
    for n, frame in enumerate(frames):
        on = CLIP_AT <= n < CLIP_AT + CLIP_FRAMES
        want = (True, CLIP_IN + n - CLIP_AT, True) if on else (False, None, True)
        got = what_shows(frame)
        if got != want:
            wrong.append((n, got, want))
    assert not wrong, wrong


def test_a_clip_that_does_not_compile_fails_the_export_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    clip_id = build(root, tmp_path, BROKEN_SOURCE)
    movie = tmp_path / "out.mp4"
    res = export(root, movie)
    assert res.returncode != 0
    # Progress lines ("exporting:   0.0%") aside, the error is one line.
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and "exporting:" not in ln]
    assert len(lines) == 1, res.stderr
    assert f"Remotion clip {clip_id}:" in lines[0], lines[0]
    assert "Unexpected token" in lines[0] or "SyntaxError" in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blue.mp4", "p"]


def test_a_clip_without_its_manifest_fails_the_export_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "p"
    clip_id = build(root, tmp_path)
    (root / "remotion" / "a_90" / "manifest.json").unlink()
    res = export(root, tmp_path / "out.mp4")
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and "exporting:" not in ln]
    assert len(lines) == 1, res.stderr
    assert f"Remotion clip {clip_id}: cannot read remotion/a_90/manifest.json" in lines[0]
    assert not (tmp_path / "out.mp4").exists()


PSNR_FRAMES = (12, 33)
THRESHOLD_DB = 30.0


def test_exported_frames_match_the_page_by_psnr(tmp_path: Path) -> None:
    root = tmp_path / "p"
    clip_id = build(root, tmp_path)
    shots = asyncio.run(
        page_screenshots(
            root,
            tmp_path,
            PSNR_FRAMES,
            (W, H),
            also=f"!!document.querySelector('[data-clip=\"{clip_id}\"]')",
            timeout=30_000,
        )
    )
    movie = tmp_path / "out.mp4"
    res = export(root, movie)
    assert res.returncode == 0, res.stderr
    scores = {}
    for n in PSNR_FRAMES:
        frame = tmp_path / f"export-{n}.png"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", movie,
             "-vf", f"select=eq(n\\,{n})", "-frames:v", "1", frame],
            check=True, timeout=120,
        )  # fmt: skip
        scores[n] = psnr(shots[n], frame)
    print(
        "\nRemotion clip, page against export: "
        + ", ".join(f"frame {n} {db:.2f} dB" for n, db in scores.items())
    )
    assert all(db >= THRESHOLD_DB for db in scores.values()), scores
