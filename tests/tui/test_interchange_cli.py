"""`reelcut export DIR cut.otio|.edl|.xml|.fcpxml` and `reelcut import-timeline`, run as the real
binary: what a format leaves out and what could not be relinked are one stderr line each."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from engine.projectdir import ProjectDir

REELCUT = str(Path(sys.executable).with_name("reelcut"))


def reelcut(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REELCUT, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_export_edl_lists_what_it_leaves_out(demo_dir: Path, tmp_path: Path) -> None:
    res = reelcut("export", demo_dir, tmp_path / "cut.edl")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"wrote {tmp_path / 'cut.edl'} (cmx_3600): 1 track(s), 2 clip(s)")
    lines = res.stderr.splitlines()
    assert all(line.startswith("reelcut: not written: ") for line in lines), lines
    assert any("video track V2 (1 clips) is left out" in line for line in lines)  # the title
    assert any("audio track A1 (1 clips) is left out" in line for line in lines)
    assert any("audio track A2 (2 clips) is left out" in line for line in lines)
    assert "LOC: 00:00:04:00" in (tmp_path / "cut.edl").read_text()  # the marker, on its clip


def test_a_preset_is_refused_for_a_timeline_file(demo_dir: Path, tmp_path: Path) -> None:
    res = reelcut("export", demo_dir, tmp_path / "cut.otio", "--preset", "h264")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [
        "reelcut: --preset is for rendered media; .otio is a timeline file (leave --preset out)"
    ]
    assert not (tmp_path / "cut.otio").exists()


def test_import_timeline_says_what_was_not_relinked(demo_dir: Path, tmp_path: Path) -> None:
    assert reelcut("export", demo_dir, tmp_path / "cut.xml").returncode == 0
    still = next(a for a in ProjectDir(demo_dir).load().assets if a.source_name == "still.png")
    shutil.copyfile(demo_dir / "assets" / str(still.filename), tmp_path / "still.png")
    target = tmp_path / "fresh"
    assert reelcut("new", target, "--fps", "30").returncode == 0
    assert reelcut("import", target, tmp_path / "still.png", "--no-place").returncode == 0
    res = reelcut("import-timeline", target, tmp_path / "cut.xml")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("imported cut.xml in place of the timeline: 4 track(s), 1 clip(s)")
    missing = [line for line in res.stderr.splitlines() if "not relinked" in line]
    assert len(missing) == 4, res.stderr  # pattern (video and sound), the line, the tone
    assert all("left as a gap" in line for line in missing)
    still_clips = [c for t in ProjectDir(target).load().tracks for c in t.clips]
    assert [(c.name, c.start, c.duration) for c in still_clips] == [("Still", 240, 90)]


def test_import_timeline_beside_a_cut_then_undo(demo_dir: Path, tmp_path: Path) -> None:
    assert reelcut("export", demo_dir, tmp_path / "cut.otio").returncode == 0
    before = (demo_dir / "project.json").read_bytes()
    res = reelcut("import-timeline", demo_dir, tmp_path / "cut.otio", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["replaced"] is False and doc["tracks"] == 4 and doc["clips"] == 5
    assert doc["markers"] == 0  # the demo's two are there already
    assert len(ProjectDir(demo_dir).load().tracks) == 8
    assert reelcut("undo", demo_dir).returncode == 0
    assert (demo_dir / "project.json").read_bytes() == before
